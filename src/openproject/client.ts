// The OpenProject API v3 client: one small method per endpoint over the private
// request helper (http.ts). See ../shared/openproject-api/README.md for the facts each
// choice rests on (paging by page number, the default "open only" filter, embedded
// schemas, redirects to storage without credentials).
import { createHash } from 'node:crypto';
import { OpenProjectError, PayloadError, redactUrl } from '../errors.js';
import type { Attachment, CustomFieldDef, NamedRef, Project, WorkPackage } from '../types.js';
import { fieldDefsFromSchema, normalizeAttachment, normalizeProject, normalizeWorkPackage, schemaKeyFromHref } from './hal.js';
import { Http, RETRY_STATUSES, errorFromBody, isRetryableError, serverWaitMs } from './http.js';
import type { DownloadResult, DownloadSink, IdListing, OpenProjectClient, OpenProjectClientOptions, WorkPackagePage, WorkPackageQuery } from './types.js';

const SORT_BY_ID = JSON.stringify([['id', 'asc']]);

/** The `filters` parameter: ALWAYS explicit, since its absence means "open only". */
export function buildFilters(q: WorkPackageQuery): string {
  const filters: object[] = [];
  if (q.projectIds?.length) filters.push({ project: { operator: '=', values: q.projectIds.map(String) } });
  if (q.typeIds?.length) filters.push({ type: { operator: '=', values: q.typeIds.map(String) } });
  if (q.statusIds?.length) filters.push({ status: { operator: '=', values: q.statusIds.map(String) } });
  if (q.ids?.length) filters.push({ id: { operator: '=', values: q.ids.map(String) } });
  if (q.updatedSince) filters.push({ updatedAt: { operator: '<>d', values: [q.updatedSince, ''] } });
  return JSON.stringify(filters);
}

function listUrl(http: Http, q: WorkPackageQuery, page: number, pageSize: number, select?: string): string {
  const params = new URLSearchParams({ filters: buildFilters(q), offset: String(page), pageSize: String(pageSize), sortBy: SORT_BY_ID });
  if (select) params.set('select', select);
  return http.api(`/api/v3/work_packages?${params.toString()}`);
}

interface Collection {
  total: number;
  pageSize: number;
  elements: unknown[];
  schemas: unknown[];
}

function asCollection(json: unknown, url: string): Collection {
  const c = json as { total?: unknown; pageSize?: unknown; _embedded?: { elements?: unknown; schemas?: { _embedded?: { elements?: unknown } } } };
  if (!c || typeof c !== 'object' || typeof c.total !== 'number' || !Array.isArray(c._embedded?.elements)) {
    throw new PayloadError(`collection ${redactUrl(url)}`, typeof c?.total !== 'number' ? 'total' : '_embedded.elements', 'is missing or malformed');
  }
  const schemas = c._embedded?.schemas?._embedded?.elements;
  return { total: c.total, pageSize: typeof c.pageSize === 'number' ? c.pageSize : c._embedded.elements.length, elements: c._embedded.elements, schemas: Array.isArray(schemas) ? schemas : [] };
}

export function createOpenProjectClient(options: OpenProjectClientOptions): OpenProjectClient {
  const http = new Http({
    ...options,
    retries: options.retries ?? 5,
    backoffBaseMs: options.backoffBaseMs ?? 500,
    maxBackoffMs: options.maxBackoffMs ?? 60_000,
    timeoutMs: options.timeoutMs ?? 30_000,
    concurrency: options.concurrency ?? 8,
  });
  const requestedPageSize = options.pageSize ?? 1000;
  const schemaCache = new Map<string, Promise<Map<number, CustomFieldDef>>>();

  const rememberSchema = (schema: unknown): void => {
    const key = schemaKeyFromHref((schema as { _links?: { self?: { href?: string } } })?._links?.self?.href);
    if (key && !schemaCache.has(key)) schemaCache.set(key, Promise.resolve(new Map(fieldDefsFromSchema(schema).map((d) => [d.id, d]))));
  };

  const schemaDefs = (key: string): Promise<Map<number, CustomFieldDef>> => {
    let p = schemaCache.get(key);
    if (!p) {
      // Fallback when a list did not embed the schema of this project/type pair.
      p = http.getJson(http.api(`/api/v3/work_packages/schemas/${key}`), 'schema').then((s) => new Map(fieldDefsFromSchema(s).map((d) => [d.id, d])));
      schemaCache.set(key, p);
      p.catch(() => schemaCache.delete(key));
    }
    return p;
  };

  /** One malformed element must not sink its page: it is reported, the others are kept. */
  async function normalizePage(c: Collection): Promise<{ ok: WorkPackage[]; invalid: { id: number | null; message: string }[] }> {
    c.schemas.forEach(rememberSchema);
    const ok: WorkPackage[] = [];
    const invalid: { id: number | null; message: string }[] = [];
    for (const el of c.elements) {
      const schemaHref = (el as { _links?: { schema?: { href?: string } } })?._links?.schema?.href;
      const key = schemaKeyFromHref(schemaHref);
      try {
        const defs = key ? await schemaDefs(key) : new Map<number, CustomFieldDef>();
        ok.push(normalizeWorkPackage(el, defs));
      } catch (e) {
        if (!(e instanceof PayloadError)) throw e;
        const id = (el as { id?: unknown })?.id;
        invalid.push({ id: typeof id === 'number' ? id : null, message: e.message });
      }
    }
    return { ok, invalid };
  }

  async function* pages<T>(q: WorkPackageQuery, select: string | undefined, route: string, convert: (c: Collection) => Promise<T>): AsyncGenerator<{ offset: number; total: number; value: T }> {
    const firstUrl = listUrl(http, q, 1, requestedPageSize, select);
    const first = asCollection(await http.getJson(firstUrl, route), firstUrl);
    const pageSize = first.pageSize > 0 ? first.pageSize : requestedPageSize;
    const pageCount = first.total === 0 ? 1 : Math.ceil(first.total / pageSize);
    // Offset is a page number, so once `total` is known every later page can be asked for at once.
    const rest = Array.from({ length: pageCount - 1 }, (_, i) => {
      const url = listUrl(http, q, i + 2, pageSize, select);
      const p = http.getJson(url, route).then((json) => asCollection(json, url));
      p.catch(() => undefined); // surfaced when awaited in order below
      return p;
    });
    yield { offset: 1, total: first.total, value: await convert(first) };
    for (let i = 0; i < rest.length; i++) {
      const c = await rest[i]!;
      yield { offset: i + 2, total: c.total, value: await convert(c) };
    }
  }

  return {
    baseUrl: options.baseUrl,

    async listProjects(): Promise<Project[]> {
      const out: Project[] = [];
      let url: string | null = http.api(`/api/v3/projects?pageSize=${requestedPageSize}&filters=%5B%5D`);
      while (url) {
        const json = (await http.getJson(url, 'projects')) as { _embedded?: { elements?: unknown[] }; _links?: { nextByOffset?: { href?: string } } };
        for (const p of json._embedded?.elements ?? []) out.push(normalizeProject(p));
        const next: string | undefined = json._links?.nextByOffset?.href;
        url = next ? http.resolve(next) : null;
      }
      return out;
    },

    async listTypes(): Promise<NamedRef[]> {
      const json = (await http.getJson(http.api('/api/v3/types'), 'types')) as { _embedded?: { elements?: { id: number; name: string }[] } };
      return (json._embedded?.elements ?? []).map((t) => ({ id: t.id, name: t.name }));
    },

    async listStatuses(): Promise<(NamedRef & { isClosed: boolean })[]> {
      const json = (await http.getJson(http.api('/api/v3/statuses'), 'statuses')) as { _embedded?: { elements?: { id: number; name: string; isClosed?: boolean }[] } };
      return (json._embedded?.elements ?? []).map((s) => ({ id: s.id, name: s.name, isClosed: !!s.isClosed }));
    },

    async *listWorkPackages(q: WorkPackageQuery): AsyncIterable<WorkPackagePage> {
      const seen = new Set<number>();
      for await (const page of pages(q, undefined, 'work_packages', normalizePage)) {
        // Offset paging over a changing set can repeat a row: keep the first.
        const workPackages = page.value.ok.filter((wp) => (seen.has(wp.id) ? false : (seen.add(wp.id), true)));
        yield { offset: page.offset, total: page.total, workPackages, invalid: page.value.invalid };
      }
    },

    async listWorkPackageIds(q: WorkPackageQuery): Promise<IdListing> {
      const ids = new Set<number>();
      let total = 0;
      for await (const page of pages(q, 'total,elements/id', 'work_package_ids', async (c) => c.elements)) {
        total = page.total;
        for (const el of page.value) {
          const id = (el as { id?: unknown })?.id;
          if (typeof id !== 'number') throw new PayloadError('work package id listing', 'elements[].id', `expected a number, got ${JSON.stringify(id)}`);
          ids.add(id);
        }
      }
      return { ids: [...ids].sort((a, b) => a - b), total };
    },

    async getSchemaFields(projectId: number, typeId: number): Promise<CustomFieldDef[]> {
      return [...(await schemaDefs(`${projectId}-${typeId}`)).values()];
    },

    async listAttachments(workPackageId: number): Promise<Attachment[]> {
      const url = http.api(`/api/v3/work_packages/${workPackageId}/attachments`);
      const json = (await http.getJson(url, 'attachments')) as { _embedded?: { elements?: unknown } };
      if (!Array.isArray(json?._embedded?.elements)) throw new PayloadError(`attachments of work package #${workPackageId}`, '_embedded.elements', 'is missing or not an array');
      return json._embedded.elements.map((a) => normalizeAttachment(a, workPackageId)).sort((a, b) => a.id - b.id);
    },

    downloadAttachment(attachment: Attachment, sink: DownloadSink, opts?: { maxBytes?: number }): Promise<DownloadResult> {
      return download(http, attachment, sink, opts?.maxBytes ?? 50 * 1024 * 1024);
    },

    async maxPageSize(): Promise<number> {
      const url = http.api(`/api/v3/work_packages?${new URLSearchParams({ filters: JSON.stringify([{ id: { operator: '=', values: ['0'] } }]), offset: '1', pageSize: '100000', sortBy: SORT_BY_ID }).toString()}`);
      return asCollection(await http.getJson(url, 'work_packages'), url).pageSize;
    },

    stats() {
      return { total: http.stats.total, byRoute: { ...http.stats.byRoute }, bytes: http.stats.bytes, retries: http.stats.retries };
    },

    close: () => http.close(),
  };
}

/** A failed download attempt that deserves another try (truncated, corrupted, transient). */
class RetryableDownload extends Error {
  constructor(
    message: string,
    readonly hint: number | null = null,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;

async function download(http: Http, att: Attachment, sink: DownloadSink, maxBytes: number): Promise<DownloadResult> {
  const label = `attachment #${att.id} (${att.fileName})`;
  if (att.fileSize > maxBytes) {
    throw new OpenProjectError({ method: 'GET', url: http.resolve(att.downloadHref), status: null, message: `${label} is ${att.fileSize} bytes, over the ${maxBytes}-byte limit (openproject.maxAttachmentMB)` });
  }
  let attempt = 0;
  for (;;) {
    const started = Date.now();
    let hint: number | null = null;
    let lastError: unknown;
    try {
      return await http.limit(() => downloadOnce(http, att, sink, maxBytes, label, attempt, started));
    } catch (e) {
      if (e instanceof RetryableDownload) {
        lastError = e;
        hint = e.hint;
      } else if (isRetryableError(e)) lastError = e;
      else throw e;
    }
    if (attempt >= http.retries) {
      const msg = lastError instanceof Error ? lastError.message : String(lastError);
      throw new OpenProjectError({ method: 'GET', url: http.resolve(att.downloadHref), status: null, message: `${label}: ${msg} (gave up after ${attempt + 1} attempts)`, cause: lastError });
    }
    await http.backoff(attempt, hint);
    attempt += 1;
  }
}

async function downloadOnce(http: Http, att: Attachment, sink: DownloadSink, maxBytes: number, label: string, attempt: number, started: number): Promise<DownloadResult> {
  let url = http.resolve(att.downloadHref);
  const visited = new Set<string>();
  for (let hop = 0; ; hop++) {
    const res = await http.rawGet(url, '*/*');
    if (res.status >= 300 && res.status < 400 && res.status !== 304) {
      await res.body.dump();
      http.emit({ method: 'GET', route: 'content', url: redactUrl(url), status: res.status, attempt, ms: Date.now() - started, bytes: 0 });
      const location = res.headers.location;
      const loc = Array.isArray(location) ? location[0] : location;
      if (!loc) throw new OpenProjectError({ method: 'GET', url, status: res.status, message: `${label}: redirect without a Location header` });
      const next = new URL(loc, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new OpenProjectError({ method: 'GET', url, status: res.status, message: `${label}: refusing to follow a redirect to a ${next.protocol} URL` });
      }
      visited.add(url);
      if (visited.has(next.toString())) throw new OpenProjectError({ method: 'GET', url, status: res.status, message: `${label}: redirect loop` });
      if (hop + 1 >= MAX_REDIRECTS) throw new OpenProjectError({ method: 'GET', url, status: res.status, message: `${label}: more than ${MAX_REDIRECTS} redirects` });
      url = next.toString();
      continue;
    }
    if (res.status !== 200) {
      const text = await res.body.text().catch(() => '');
      http.emit({ method: 'GET', route: 'content', url: redactUrl(url), status: res.status, attempt, ms: Date.now() - started, bytes: 0 });
      const err = errorFromBody(url, res.status, text, String(res.headers['content-type'] ?? ''));
      if (RETRY_STATUSES.has(res.status)) throw new RetryableDownload(err.message, serverWaitMs(res.headers));
      throw err;
    }
    const writer = await sink.open();
    const hash = createHash('md5');
    let bytes = 0;
    try {
      for await (const chunk of res.body) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          res.body.destroy();
          throw new OpenProjectError({ method: 'GET', url, status: 200, message: `${label}: more than ${maxBytes} bytes, over the size limit` });
        }
        hash.update(chunk);
        await writer.write(chunk);
      }
    } catch (e) {
      await writer.abort();
      http.emit({ method: 'GET', route: 'content', url: redactUrl(url), status: 200, attempt, ms: Date.now() - started, bytes, error: 'body' });
      if (e instanceof OpenProjectError) throw e;
      throw new RetryableDownload(`${label}: connection lost after ${bytes} bytes (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
    http.emit({ method: 'GET', route: 'content', url: redactUrl(url), status: 200, attempt, ms: Date.now() - started, bytes });
    const md5 = hash.digest('hex');
    if (bytes !== att.fileSize) {
      await writer.abort();
      throw new RetryableDownload(`${label}: got ${bytes} bytes, expected ${att.fileSize} (truncated download)`);
    }
    if (att.md5 && md5 !== att.md5) {
      await writer.abort();
      throw new RetryableDownload(`${label}: md5 ${md5} does not match the digest ${att.md5} (corrupted download)`);
    }
    await writer.end();
    return { bytes, md5 };
  }
}


