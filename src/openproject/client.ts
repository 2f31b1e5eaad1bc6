// The OpenProject API v3 client: one small method per endpoint over the private
// request helper (http.ts). See ../shared/openproject-api/README.md for the facts each
// choice rests on (paging by page number, the default "open only" filter, embedded
// schemas, redirects to storage without credentials).
import { DEFAULTS } from '../defaults.js';
import { CurateError, OpenProjectError, PayloadError } from '../errors.js';
import type { Attachment, CustomFieldDef, NamedRef, Project, WorkPackage } from '../types.js';
import { DEFAULT_DOWNLOAD_DEADLINE, downloadAttachment, type DownloadDeadline } from './download.js';
import { fieldDefsFromSchema, normalizeAttachment, normalizeProject, normalizeStatus, normalizeType, normalizeWorkPackage, parseCollection, schemaKeyFromHref, type ParsedCollection } from './hal.js';
import { Http } from './http.js';
import type { DownloadResult, DownloadSink, IdListing, OpenProjectClient, OpenProjectClientOptions, WorkPackagePage, WorkPackageQuery } from './types.js';

const SORT_BY_ID = JSON.stringify([['id', 'asc']]);
/** The changes walk's key: `updatedAt`, then `id` so rows sharing an instant keep one order. */
const SORT_BY_CHANGE = JSON.stringify([
  ['updatedAt', 'asc'],
  ['id', 'asc'],
]);
const DEFAULT_MAX_DOWNLOAD = DEFAULTS.maxAttachmentBytes;
export const ID_SELECT = 'total,elements/id';
/** The id listing with each element's author link (title = the user's name), for noticing user renames. */
export const ID_AUTHOR_SELECT = 'total,elements/id,elements/author';
/** Schema keys per request of the bulk schemas endpoint (each `12-3` costs ~10 URL characters encoded). */
const SCHEMA_CHUNK = 100;
/** The most full work packages asked for in one list request (a page is ~5 kB of JSON a row). */
export const FULL_PAGE_ROWS = 250;
/**
 * The first page of a change walk asks for this many rows, each later one (from a new key)
 * for four times as many, up to FULL_PAGE_ROWS. A server renders a page's rows before it
 * sends any, and a changed work package's attachments are listed once its row is in: with
 * 215 changed in one source (1 % changed at 30,000) the whole run waited ~0.45 s on that
 * one page with the other request slots idle. A walk of up to 25 changes is one request,
 * as before.
 */
export const FIRST_CHANGE_ROWS = 25;
/**
 * Ids per request for an id filter: each id costs ~12 URL characters once encoded, and
 * proxies commonly refuse request lines over 8 KiB (414).
 */
export const ID_CHUNK = 150;

/** A query split so that no request carries more than ID_CHUNK ids (ids sorted, so the order stays by id). */
export function splitById(q: WorkPackageQuery): WorkPackageQuery[] {
  if (!q.ids?.length || q.ids.length <= ID_CHUNK) return [q];
  const ids = [...new Set(q.ids)].sort((a, b) => a - b);
  const out: WorkPackageQuery[] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) out.push({ ...q, ids: ids.slice(i, i + ID_CHUNK) });
  return out;
}

/**
 * The `filters` parameter: ALWAYS explicit, since its absence means "open only" on a
 * real server (closed work packages would silently vanish). Unconstrained → `[]`.
 */
export function buildFilters(q: WorkPackageQuery): string {
  const filters: object[] = [];
  const ids = (xs: number[]): string[] => xs.map(String);
  if (q.projectIds?.length) filters.push({ project: { operator: '=', values: ids(q.projectIds) } });
  if (q.typeIds?.length) filters.push({ type: { operator: '=', values: ids(q.typeIds) } });
  if (q.statusIds?.length) filters.push({ status: { operator: '=', values: ids(q.statusIds) } });
  if (q.ids?.length) filters.push({ id: { operator: '=', values: ids(q.ids) } });
  // `<>d` with an empty upper bound = "since" (between_date_time.rb allows open ends).
  if (q.updatedSince) filters.push({ updatedAt: { operator: '<>d', values: [q.updatedSince, ''] } });
  if (q.updatedBetween) filters.push({ updatedAt: { operator: '<>d', values: [...q.updatedBetween] } });
  return JSON.stringify(filters);
}

/**
 * The query string of one list page: `offset` is a 1-based PAGE NUMBER, not a row offset.
 * `includeSubprojects` is ALWAYS explicit: without it a project filter also matches the
 * project's subprojects (OpenProject's Query.new_default takes
 * Setting.display_subprojects_work_packages?, true by default).
 */
export function listQuery(q: WorkPackageQuery, page: number, pageSize: number, select?: string, sortBy = SORT_BY_ID): string {
  const params = new URLSearchParams({ filters: buildFilters(q), includeSubprojects: q.includeSubprojects ? 'true' : 'false', offset: String(page), pageSize: String(pageSize), sortBy });
  if (select) params.set('select', select);
  return params.toString();
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new CurateError('CONFIG', `OpenProject client option ${name} must be an integer ≥ ${min} (got ${value})`);
  return value;
}

export function createOpenProjectClient(options: OpenProjectClientOptions): OpenProjectClient {
  const http = new Http({
    ...options,
    retries: positiveInt('retries', options.retries, DEFAULTS.retries, 0),
    backoffBaseMs: positiveInt('backoffBaseMs', options.backoffBaseMs, 500, 0),
    maxBackoffMs: positiveInt('maxBackoffMs', options.maxBackoffMs, 60_000, 0),
    timeoutMs: positiveInt('timeoutMs', options.timeoutMs, DEFAULTS.timeoutSeconds * 1000),
    concurrency: positiveInt('concurrency', options.concurrency, DEFAULTS.concurrency),
  });
  const requestedPageSize = positiveInt('pageSize', options.pageSize, DEFAULTS.pageSize);
  // Pages of full work packages hold at most FULL_PAGE_ROWS of them, whatever pageSize says:
  // every source walking at once keeps its pages ahead of the one being mapped, and at
  // 1,000 rows a page that was most of a cold sync's memory (id listings keep pageSize).
  const fullPageSize = Math.min(requestedPageSize, FULL_PAGE_ROWS);
  const pageLookahead = positiveInt('pageLookahead', options.pageLookahead, 2);
  const deadline: DownloadDeadline = { ...DEFAULT_DOWNLOAD_DEADLINE, ...options.downloadDeadline };
  if (!(deadline.minSeconds > 0) || !(deadline.secondsPerMiB >= 0)) throw new CurateError('CONFIG', 'OpenProject client option downloadDeadline needs minSeconds > 0 and secondsPerMiB ≥ 0');
  // Schemas per `{project}-{type}`, for the client's lifetime (they change only with admin edits).
  const schemaCache = new Map<string, Promise<Map<number, CustomFieldDef>>>();
  const toMap = (schema: unknown): Map<number, CustomFieldDef> => new Map(fieldDefsFromSchema(schema).map((d) => [d.id, d]));

  const rememberSchema = (schema: unknown): void => {
    const key = schemaKeyFromHref((schema as { _links?: { self?: { href?: unknown } } } | null)?._links?.self?.href as string | undefined);
    if (key && !schemaCache.has(key)) schemaCache.set(key, Promise.resolve(toMap(schema)));
  };

  const schemaDefs = (key: string): Promise<Map<number, CustomFieldDef>> => {
    let p = schemaCache.get(key);
    if (!p) {
      // Fallback when a list did not embed the schema of this project/type pair.
      p = http.getJson(http.api(`/api/v3/work_packages/schemas/${key}`), 'schema', `the work package schema ${key} (project-type)`).then(toMap);
      schemaCache.set(key, p);
      p.catch(() => schemaCache.delete(key)); // a failed fetch is not cached
    }
    return p;
  };

  /** The bulk schemas read (chunks of SCHEMA_CHUNK keys); each schema it returns replaces the cached one. */
  async function readSchemas(keys: readonly string[]): Promise<Map<string, CustomFieldDef[]>> {
    const out = new Map<string, CustomFieldDef[]>();
    const sorted = [...new Set(keys)].sort();
    for (let i = 0; i < sorted.length; i += SCHEMA_CHUNK) {
      const chunk = sorted.slice(i, i + SCHEMA_CHUNK);
      const filters = JSON.stringify([{ id: { operator: '=', values: chunk } }]);
      const json = await http.getJson(http.api(`/api/v3/work_packages/schemas?${new URLSearchParams({ filters }).toString()}`), 'schemas', 'the work package schemas');
      const c = parseCollection(json, 'work package schema list');
      for (const schema of c.elements) {
        const key = schemaKeyFromHref((schema as { _links?: { self?: { href?: unknown } } } | null)?._links?.self?.href as string | undefined);
        if (!key) continue;
        const defs = fieldDefsFromSchema(schema);
        out.set(key, defs);
        // Fresher than anything cached: later work packages of the pair use these names.
        schemaCache.set(key, Promise.resolve(new Map(defs.map((d) => [d.id, d]))));
      }
    }
    return out;
  }

  /**
   * The bulk schemas read in flight, if any. A list page answered meanwhile (a targeted
   * sync asks for its rows beside the schemas) is normalized once it has answered, with its
   * names: the names the run compares with the state's, as if the page had been read after.
   */
  let schemaRead: Promise<unknown> | null = null;

  /** One malformed element must not sink its page: it is reported, the others are kept. */
  async function normalizePage(c: ParsedCollection): Promise<{ ok: WorkPackage[]; invalid: { id: number | null; message: string }[] }> {
    if (schemaRead) await schemaRead;
    c.schemas.forEach(rememberSchema);
    const ok: WorkPackage[] = [];
    const invalid: { id: number | null; message: string }[] = [];
    for (const el of c.elements) {
      const key = schemaKeyFromHref((el as { _links?: { schema?: { href?: unknown } } } | null)?._links?.schema?.href as string | undefined);
      try {
        const defs = key ? await schemaDefs(key) : null;
        ok.push(normalizeWorkPackage(el, defs));
      } catch (e) {
        if (!(e instanceof PayloadError)) throw e;
        const id = (el as { id?: unknown } | null)?.id;
        invalid.push({ id: typeof id === 'number' ? id : null, message: e.message });
      }
    }
    return { ok, invalid };
  }

  async function getPage(q: WorkPackageQuery, page: number, pageSize: number, select: string | undefined, route: string, sortBy?: string, opts: { signal?: AbortSignal; urgent?: boolean } = {}): Promise<ParsedCollection & { total: number }> {
    let json: unknown;
    try {
      json = await http.getJson(http.api(`/api/v3/work_packages?${listQuery(q, page, pageSize, select, sortBy)}`), route, 'the work package list', opts);
    } catch (e) {
      throw explainInvalidQuery(e, q);
    }
    const c = parseCollection(json, `work package list page ${page}`);
    if (c.total === null) throw new PayloadError(`work package list page ${page}`, 'total', 'expected number, got nothing (missing)');
    return { ...c, total: c.total };
  }

  /**
   * All pages of a query. Page 1 tells `total` and the effective page size; since
   * `offset` is a page number, later pages can then be asked for without following
   * links, `lookahead` of them ahead of the consumer, and they are handed on in page
   * order. A small lookahead keeps memory flat (a page of 1,000 full work packages is
   * megabytes of JSON) while the next page is always on its way; id listings, which are
   * small, ask for every page at once.
   *
   * Offset paging over a set that changes between requests can repeat a row (the caller
   * de-duplicates) or skip one (a row moving to an earlier page): the sync engine's id
   * listing notices ids it did not receive and fetches them by id.
   */
  async function* pages<T>(q: WorkPackageQuery, select: string | undefined, route: string, convert: (c: ParsedCollection) => Promise<T>, lookahead: number, signal?: AbortSignal): AsyncGenerator<{ offset: number; total: number; value: T }> {
    const first = await getPage(q, 1, route === 'work_packages' ? fullPageSize : requestedPageSize, select, route, undefined, signal ? { signal } : {});
    const pageSize = first.pageSize && first.pageSize > 0 ? first.pageSize : Math.max(first.elements.length, 1);
    const pageCount = Math.max(1, Math.ceil(first.total / pageSize));
    const inflight = new Map<number, Promise<ParsedCollection & { total: number }>>();
    let requested = 1;
    const fill = (consumed: number): void => {
      while (requested < pageCount && requested < consumed + lookahead) {
        requested += 1;
        const p = getPage(q, requested, pageSize, select, route, undefined, signal ? { signal } : {});
        p.catch(() => undefined); // surfaced when awaited in order below; no unhandled rejection meanwhile
        inflight.set(requested, p);
      }
    };
    fill(1);
    yield { offset: 1, total: first.total, value: await convert(first) };
    // fill() always runs one page ahead of this loop, so `page` is in flight here.
    for (let page = 2; page <= pageCount; page++) {
      const c = await inflight.get(page)!;
      inflight.delete(page);
      fill(page);
      yield { offset: page, total: c.total, value: await convert(c) };
    }
  }

  /**
   * The id filter is strict (OpenProject's HugeList: one unknown or invisible id makes the
   * whole request 400 InvalidQuery). For a chunk that fails so, `retry` runs the two halves;
   * a single id that still fails is looked up on its own: gone (404) = simply absent, while
   * a visible one proves the 400 was about something else, which is then thrown.
   */
  async function* bisectOnInvalidIds<T>(q: WorkPackageQuery, run: (q: WorkPackageQuery) => AsyncGenerator<T>): AsyncGenerator<T> {
    try {
      yield* run(q);
    } catch (e) {
      if (!isInvalidQuery(e) || !q.ids?.length) throw e;
      if (q.ids.length === 1) {
        if ((await this_.getWorkPackage(q.ids[0]!)) === null) return;
        throw e;
      }
      const mid = Math.ceil(q.ids.length / 2);
      yield* bisectOnInvalidIds({ ...q, ids: q.ids.slice(0, mid) }, run);
      yield* bisectOnInvalidIds({ ...q, ids: q.ids.slice(mid) }, run);
    }
  }

  /**
   * Whether this server refuses `select` (learned once, kept for the client's lifetime, so
   * later id listings go straight to the plain form instead of paying a refused request).
   */
  let selectRefused = false;
  /** A select listing was answered on this client: a later 400 is about the query, not the select. */
  let selectAnswered = false;
  /** The one question "does this server take select?", shared by listings that ask at once. */
  let selectProbe: Promise<boolean> | null = null;
  const selectWorks = (): Promise<boolean> =>
    (selectProbe ??= (async () => {
      // A query that is valid on any server and matches nothing (as maxPageSize uses), with the select.
      const nothing = [{ createdAt: { operator: '<>d', values: ['1970-01-01T00:00:00Z', '1970-01-01T00:00:01Z'] } }];
      const query = new URLSearchParams({ filters: JSON.stringify(nothing), offset: '1', pageSize: '1', sortBy: SORT_BY_ID, select: ID_SELECT });
      try {
        await http.getJson(http.api(`/api/v3/work_packages?${query.toString()}`), 'work_package_ids', 'the work package list');
        return true;
      } catch (e) {
        if (e instanceof OpenProjectError && e.status === 400) return false;
        selectProbe = null; // not an answer about select: ask again next time
        throw e;
      }
    })());

  /**
   * The pages of an id listing: `select=total,elements/id` (one small request per source),
   * or, from a server that refuses select, the plain listing whose elements (full work
   * packages, pages clamped to the server's maximum) carry the ids just the same. A 400 on
   * the first select page is ambiguous (the select, or a filter value such as a deleted id?):
   * unless a select was already answered on this client, one probe (a select on a query
   * valid everywhere, shared by parallel listings, once per client) decides. Select works:
   * the 400 stands (a refused id goes on to bisectOnInvalidIds as before). Refused: the
   * plain listing, now and for the client's lifetime.
   */
  async function* idPages(part: WorkPackageQuery, signal?: AbortSignal): AsyncGenerator<{ offset: number; total: number; value: unknown[] }> {
    const elements = async (c: ParsedCollection): Promise<unknown[]> => c.elements;
    if (!selectRefused) {
      let answered = false;
      try {
        for await (const page of pages(part, ID_SELECT, 'work_package_ids', elements, Infinity, signal)) {
          answered = selectAnswered = true;
          yield page;
        }
        return;
      } catch (e) {
        if (answered || selectAnswered || !(e instanceof OpenProjectError) || e.status !== 400) throw e;
        // The probe failing for another reason (network) answers nothing: the 400 stands.
        if (await selectWorks().catch(() => true)) {
          selectAnswered = true;
          throw e;
        }
        selectRefused = true;
      }
    }
    yield* pages(part, undefined, 'work_package_ids', elements, pageLookahead, signal);
  }

  /**
   * Ids of one (chunk of a) query into `ids`, and (given `authors`) each one's author link
   * as `<user id>\u0000<name>`; returns the server's total for it. `withAuthorSelect` asks
   * for `elements/author` too, and a 400 then is the caller's to handle (no plain twin: a
   * server refusing that key may still answer the plain id select).
   */
  async function idsInto(q: WorkPackageQuery, ids: Set<number>, authors?: Map<number, string>, withAuthorSelect = false, onFirstPage?: () => void, signal?: AbortSignal): Promise<number> {
    let total = 0;
    // One string per distinct author, shared by all of their work packages (a few dozen
    // authors for 100,000 work packages: a string each was ~6 MB of a no-change run). Each
    // author link's user id is parsed once: a match per row was ~4 MB of garbage at 30,000.
    const byKey = new Map<string, string>();
    const byHref = new Map<string, { title: string; key: string }>();
    const authorKey = (href: string, title: string): string | undefined => {
      const known = byHref.get(href);
      if (known?.title === title) return known.key;
      const userId = /\/(\d+)$/.exec(href)?.[1];
      if (userId === undefined) return undefined;
      const key = `${userId}\u0000${title}`;
      let shared = byKey.get(key);
      if (shared === undefined) byKey.set(key, (shared = key));
      byHref.set(href, { title, key: shared });
      return shared;
    };
    // Each (sub-)chunk yields its total once it has been read to the end.
    for await (const partTotal of bisectOnInvalidIds(q, async function* (part) {
      let t = 0;
      for await (const page of withAuthorSelect ? pages(part, ID_AUTHOR_SELECT, 'work_package_ids', async (c) => c.elements, Infinity, signal) : idPages(part, signal)) {
        t = page.total;
        onFirstPage?.();
        onFirstPage = undefined;
        page.value.forEach((el, i) => {
          const id = (el as { id?: unknown } | null)?.id;
          if (typeof id !== 'number' || !Number.isInteger(id)) {
            throw new PayloadError(`work package id listing page ${page.offset}`, `_embedded.elements.${i}.id`, `expected number, got ${id === undefined ? 'nothing (missing)' : typeof id}`);
          }
          ids.add(id);
          if (authors) {
            const link = (el as { _links?: { author?: { href?: unknown; title?: unknown } } })._links?.author;
            const key = typeof link?.href === 'string' && typeof link.title === 'string' ? authorKey(link.href, link.title) : undefined;
            if (key !== undefined) authors.set(id, key);
          }
        });
      }
      yield t;
    })) total += partTotal;
    return total;
  }

  /** Set once a server refused to select the author link: later listings do not ask again. */
  let authorSelectRefused = false;
  let authorSelectAnswered = false;
  /** While the first author listing finds out what select the server takes. */
  let authorProbe: Promise<void> | null = null;

  const this_: OpenProjectClient = {
    baseUrl: options.baseUrl,

    async listProjects(): Promise<Project[]> {
      const out: Project[] = [];
      const seen = new Set<string>();
      let url: string | null = http.api(`/api/v3/projects?${new URLSearchParams({ filters: '[]', offset: '1', pageSize: String(requestedPageSize) }).toString()}`);
      for (let page = 1; url; page++) {
        seen.add(url);
        const c = parseCollection(await http.getJson(url, 'projects', 'the project list'), `project list page ${page}`);
        for (const p of c.elements) out.push(normalizeProject(p));
        const next: string | null = c.next ? http.resolve(c.next) : null;
        url = next && !seen.has(next) && c.elements.length > 0 ? next : null;
      }
      return out;
    },

    async listTypes(): Promise<NamedRef[]> {
      const c = parseCollection(await http.getJson(http.api('/api/v3/types'), 'types', 'the type list'), 'type list');
      return c.elements.map(normalizeType);
    },

    async listStatuses(): Promise<(NamedRef & { isClosed: boolean })[]> {
      const c = parseCollection(await http.getJson(http.api('/api/v3/statuses'), 'statuses', 'the status list'), 'status list');
      return c.elements.map(normalizeStatus);
    },

    // A long id list is read in chunks, one after another: offsets then count on across
    // chunks and `total` is what the chunks read so far held plus the current chunk's total.
    async *listWorkPackages(q: WorkPackageQuery): AsyncIterable<WorkPackagePage> {
      const seen = new Set<number>();
      let before = 0;
      let pagesBefore = 0;
      // A chunk answered 400 because one of its ids is gone is split (bisectOnInvalidIds):
      // each part's pages count on from the last page handed out.
      for (const part of splitById(q)) {
        for await (const sub of bisectOnInvalidIds(part, async function* (p) {
          for await (const page of pages(p, undefined, 'work_packages', normalizePage, pageLookahead)) yield { page };
        })) {
          const { page } = sub;
          // A row repeated by a shifting page is kept once (the first time it was seen).
          const workPackages = page.value.ok.filter((wp) => (seen.has(wp.id) ? false : (seen.add(wp.id), true)));
          pagesBefore += 1;
          yield { offset: pagesBefore, total: Math.max(before + page.total, seen.size), workPackages, invalid: page.value.invalid };
        }
        before = seen.size;
      }
    },

    async *listChanges(q: WorkPackageQuery, since: string): AsyncIterable<WorkPackagePage> {
      // Keyset paging: every request starts at the last key received (inclusive, since many
      // rows can share an instant), so rows deleted or edited meanwhile cannot shift an
      // unseen row onto a page already read. Only when a whole page shares the lower bound
      // (more rows at one instant than a page holds) does it step by page number within it;
      // an edit during those steps moves a row out of the instant and shifts an unedited
      // one across a page boundary, so once the walk leaves such an instant it lists the
      // instant's ids again and reads any it did not receive.
      const seen = new Set<number>();
      let bound = since;
      let page = 1;
      // Grown only as the walk moves to a new key: pages of one instant are stepped by number, all of one size.
      let pageSize = Math.min(FIRST_CHANGE_ROWS, fullPageSize);
      let n = 0;

      async function* verifyInstant(instant: string): AsyncGenerator<WorkPackagePage> {
        // Whole-second servers render every row of one second alike: the instant is that second.
        const t = Date.parse(instant);
        const between: [string, string] = [new Date(t).toISOString(), new Date(t + 999).toISOString()];
        const listed = await this_.listWorkPackageIds({ ...q, updatedBetween: between });
        const missing = listed.ids.filter((id) => !seen.has(id));
        if (!missing.length) return;
        for await (const p of this_.listWorkPackages({ ...q, ids: missing })) {
          const workPackages = p.workPackages.filter((wp) => (seen.has(wp.id) ? false : (seen.add(wp.id), true)));
          n += 1;
          yield { offset: n, total: p.total, workPackages, invalid: p.invalid.filter((b) => b.id === null || !seen.has(b.id)) };
        }
      }
      const request = (): Promise<ParsedCollection & { total: number }> => {
        // Urgent: each page of the walk waits for the one before, and the changed rows' reads for the walk.
        const r = getPage({ ...q, updatedSince: bound }, page, pageSize, undefined, 'work_packages', SORT_BY_CHANGE, { urgent: true });
        r.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        return r;
      };
      // One page ahead: the next page's key is known once a page is in, so it is asked for
      // before the consumer has taken this one (it reads the rows' state and schedules
      // their attachments first: a walk waiting on that left request slots idle).
      let ahead = request();
      for (;;) {
        n += 1;
        const c = await ahead;
        if (c.pageSize && c.pageSize > 0) pageSize = c.pageSize;
        const end = c.elements.length < pageSize || c.elements.length === 0;
        /** The instant the walk leaves (its pages were stepped by number), verified after this page. */
        let left: string | null = null;
        /** No key to go on from: the walk fails once this page's rows are handed over. */
        let keyless: PayloadError | null = null;
        const last = end ? undefined : (c.elements[c.elements.length - 1] as { updatedAt?: unknown } | null)?.updatedAt;
        if (end) {
          /* the last page */
        } else if (typeof last !== 'string' || Number.isNaN(Date.parse(last))) {
          keyless = new PayloadError(`work package change list page ${n}`, `_embedded.elements.${c.elements.length - 1}.updatedAt`, 'expected a timestamp (the walk continues from it)');
        } else {
          if (Date.parse(last) === Date.parse(bound)) page += 1;
          else {
            if (page > 1) left = bound;
            bound = last;
            page = 1;
            pageSize = Math.min(pageSize * 4, fullPageSize);
          }
          ahead = request();
        }
        const { ok, invalid } = await normalizePage(c);
        const workPackages = ok.filter((wp) => (seen.has(wp.id) ? false : (seen.add(wp.id), true)));
        yield { offset: n, total: c.total, workPackages, invalid: invalid.filter((b) => b.id === null || !seen.has(b.id)) };
        invalid.forEach((b) => b.id !== null && seen.add(b.id));
        if (keyless) throw keyless;
        if (end) {
          if (page > 1) yield* verifyInstant(bound);
          return;
        }
        if (left !== null) yield* verifyInstant(left);
      }
    },

    async getWorkPackage(id: number): Promise<WorkPackage | null> {
      let json: unknown;
      try {
        json = await http.getJson(http.api(`/api/v3/work_packages/${id}`), 'work_package', `work package #${id}`);
      } catch (e) {
        if (e instanceof OpenProjectError && e.status === 404) return null;
        throw e;
      }
      const key = schemaKeyFromHref((json as { _links?: { schema?: { href?: unknown } } } | null)?._links?.schema?.href as string | undefined);
      if (schemaRead) await schemaRead;
      return normalizeWorkPackage(json, key ? await schemaDefs(key) : null);
    },

    lastServerDate(): Date | null {
      return http.serverDate === null ? null : new Date(http.serverDate);
    },

    async listWorkPackageIds(q: WorkPackageQuery, opts?: { withAuthors?: boolean; authorsAnsweredBefore?: boolean; signal?: AbortSignal }): Promise<IdListing> {
      const wantAuthors = opts?.withAuthors === true && !q.ids?.length;
      const signal = opts?.signal;
      // The plain id listing; a server that refuses select altogether is listed in full,
      // and those elements carry the author link too.
      const plain = async (): Promise<IdListing> => {
        const ids = new Set<number>();
        const authors = wantAuthors ? new Map<number, string>() : undefined;
        let total = 0;
        for (const part of splitById(q)) total += await idsInto(part, ids, authors, false, undefined, signal);
        return { ...listingOf(ids), total, ...(authors && selectRefused ? { authors } : {}) };
      };
      if (!wantAuthors) return plain();
      // The sources' listings start together: the first finds out what this server's select
      // takes while the others wait for its first page (not its last: they would be listed
      // one after the other), so a refusing server answers 400 once per client. A server
      // known to answer it (the caller's state says so) is not probed: every listing starts
      // at once (the wait was ~0.1 s of every no-change run).
      const known = opts?.authorsAnsweredBefore === true;
      if (!known) while (authorProbe) await authorProbe;
      if (authorSelectRefused || selectRefused) return plain();
      const first = !authorSelectAnswered && !known;
      let settle = (): void => undefined;
      if (first) authorProbe = new Promise<void>((r) => (settle = r));
      const answered = (): void => {
        // A select was answered: a later 400 on an id listing is about its ids, not the select.
        authorSelectAnswered = selectAnswered = true;
        if (first && authorProbe) {
          authorProbe = null;
          settle();
        }
      };
      try {
        const ids = new Set<number>();
        const authors = new Map<number, string>();
        try {
          const total = await idsInto(q, ids, authors, true, answered, signal);
          answered();
          return { ...listingOf(ids), total, authors };
        } catch (e) {
          // Older or stricter servers answer a select key they do not support with 400
          // (InvalidSignal): the id listing without author names instead.
          if (!(e instanceof OpenProjectError && e.status === 400)) throw e;
          authorSelectRefused = true;
        }
        return await plain();
      } finally {
        if (first && authorProbe) {
          authorProbe = null;
          settle();
        }
      }
    },

    listSchemaFields(keys: readonly string[]): Promise<Map<string, CustomFieldDef[]>> {
      const read = readSchemas(keys);
      const settled = read.then(
        () => undefined,
        () => undefined,
      );
      schemaRead = settled;
      void settled.then(() => {
        if (schemaRead === settled) schemaRead = null;
      });
      return read;
    },

    async countWorkPackages(q: WorkPackageQuery): Promise<number> {
      // pageSize=0: `total` without elements (offset_paginated_collection.rb renders none).
      return (await getPage(q, 1, 0, undefined, 'work_packages')).total;
    },

    async getSchemaFields(projectId: number, typeId: number): Promise<CustomFieldDef[]> {
      return [...(await schemaDefs(`${projectId}-${typeId}`)).values()];
    },


    async listAttachments(workPackageId: number): Promise<Attachment[]> {
      const url = http.api(`/api/v3/work_packages/${workPackageId}/attachments`);
      const c = parseCollection(await http.getJson(url, 'attachments', `work package #${workPackageId} (its attachments)`), `attachments of work package #${workPackageId}`);
      return c.elements.map((a) => normalizeAttachment(a, workPackageId)).sort((a, b) => a.id - b.id);
    },

    downloadAttachment(attachment: Attachment, sink: DownloadSink, opts?: { maxBytes?: number }): Promise<DownloadResult> {
      return downloadAttachment(http, attachment, sink, opts?.maxBytes ?? DEFAULT_MAX_DOWNLOAD, deadline);
    },

    async maxPageSize(): Promise<number> {
      // A page of nothing still reports the effective, clamped pageSize. The filter must be
      // valid yet match nothing: an unknown id would be 400 (the id filter is strict), a
      // creation date range in 1970 is neither.
      const nothing = [{ createdAt: { operator: '<>d', values: ['1970-01-01T00:00:00Z', '1970-01-01T00:00:01Z'] } }];
      const query = new URLSearchParams({ filters: JSON.stringify(nothing), offset: '1', pageSize: '100000', sortBy: SORT_BY_ID });
      const c = parseCollection(await http.getJson(http.api(`/api/v3/work_packages?${query.toString()}`), 'work_packages', 'the work package list'), 'work package list');
      if (c.pageSize === null) throw new PayloadError('work package list', 'pageSize', 'expected number, got nothing (missing)');
      return c.pageSize;
    },

    stats() {
      return { total: http.stats.total, byRoute: { ...http.stats.byRoute }, bytes: http.stats.bytes, retries: http.stats.retries };
    },

    close: () => http.close(),
  };
  return this_;
}

/**
 * A listing's ids, ascending, from the set its pages filled. Pages come in id order, so the
 * set usually already ascends: then it is handed over as it is (the caller's own set of
 * 30,000 ids, and the sort, were ~2.5 ms of a no-change run); otherwise it is sorted.
 */
export function listingOf(ids: Set<number>): Pick<IdListing, 'ids' | 'idSet'> {
  let last = -Infinity;
  let ascending = true;
  ids.forEach((id) => {
    if (id <= last) ascending = false;
    last = id;
  });
  return ascending ? { ids: [...ids], idSet: ids } : { ids: [...ids].sort((a, b) => a - b) };
}

/** A 400 InvalidQuery (a filter value the server refuses), as opposed to any other failure. */
export function isInvalidQuery(e: unknown): e is OpenProjectError {
  return e instanceof OpenProjectError && e.status === 400 && (e.errorIdentifier === null || e.errorIdentifier === 'InvalidQuery');
}

/**
 * A real server answers a filter naming a project, type or status the key may not see
 * (archived, not a member, deleted) with 400 InvalidQuery, not an empty list; say so
 * instead of leaving the raw 400.
 */
function explainInvalidQuery(e: unknown, q: WorkPackageQuery): unknown {
  if (!isInvalidQuery(e) || q.ids?.length) return e;
  const named = [q.projectIds?.length ? `project(s) ${q.projectIds.join(', ')}` : '', q.typeIds?.length ? `type(s) ${q.typeIds.join(', ')}` : '', q.statusIds?.length ? `status(es) ${q.statusIds.join(', ')}` : ''].filter(Boolean);
  if (!named.length) return e;
  const detail = `${e.message.replace(/^GET \S+ → 400( \[[^\]]*\])?: /, '')} The server refused the filter on ${named.join(', ')}: a project may be archived or not visible to this key (not a member, or without "view work packages"), or a type or status may have been deleted.`;
  return new OpenProjectError({ method: 'GET', url: e.url, status: 400, errorIdentifier: e.errorIdentifier, message: detail, cause: e });
}
