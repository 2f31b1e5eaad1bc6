// An in-memory OpenProjectClient over a simulator dataset, for engine tests where HTTP is
// not what is being tested (an oracle's fresh sync, the engine's own decisions): no socket,
// no JSON on the wire, no retries. It answers with the server's semantics where they are
// the simulator's code (filters, sorting, schemas, attachment lookup) and converts with the
// real client's normalisers (src/openproject/hal.ts), so a work package reaches the engine
// exactly as the HTTP client hands it over. What it does NOT model, and what therefore stays
// with the real client against the real simulator: paging edge cases (offset pages shifting,
// keyset steps inside one instant), faults and retries, redirects and signed URLs, select
// refusals, 400s on unknown ids, the Date header, credentials. Reads the dataset live: the
// simulator's mutations (sim.updateWorkPackage, hooks.ts) are seen by the next call.
import { createHash } from 'node:crypto';
import { OpenProjectError } from '../../src/errors.js';
import { buildFilters } from '../../src/openproject/client.js';
import { fieldDefsFromSchema, normalizeAttachment, normalizeProject, normalizeStatus, normalizeType, normalizeWorkPackage } from '../../src/openproject/hal.js';
import type { DownloadResult, DownloadSink, IdListing, OpenProjectClient, WorkPackagePage, WorkPackageQuery } from '../../src/openproject/types.js';
import { contentBytes } from '../../src/simulator/dataset.js';
import { compileFilters, parseFilters, sortWorkPackages } from '../../src/simulator/filters.js';
import { schemaRenderer } from '../../src/simulator/render.js';
import type { AttachmentJson, Dataset, Json, JsonObject, WorkPackageJson } from '../../src/simulator/index.js';
import type { Attachment, CustomFieldDef } from '../../src/types.js';

export interface FakeClientOptions {
  /** Work packages per page (the pages the engine sees). @default 1000 */
  pageSize?: number;
  /** The server's clock: `lastServerDate()` answers it. @default the real clock */
  clock?: () => Date;
  baseUrl?: string;
}

const linkId = (links: JsonObject | undefined, rel: string): number | null => {
  const href = (links?.[rel] as { href?: Json } | undefined)?.href;
  const m = typeof href === 'string' ? /\/(\d+)$/.exec(href) : null;
  return m ? Number(m[1]) : null;
};

const schemaKeyOf = (wp: WorkPackageJson): string => {
  const href = (wp._links.schema as { href?: Json } | undefined)?.href;
  return typeof href === 'string' ? (href.split('/').pop() ?? '') : `${linkId(wp._links, 'project') ?? ''}-${linkId(wp._links, 'type') ?? ''}`;
};

/** Calls by method, as `stats().byRoute` names the real client's routes. */
const ROUTE: Record<string, string> = {
  listProjects: 'projects',
  listTypes: 'types',
  listStatuses: 'statuses',
  listWorkPackages: 'work_packages',
  listChanges: 'work_packages',
  getWorkPackage: 'work_package',
  countWorkPackages: 'work_packages',
  listWorkPackageIds: 'work_package_ids',
  getSchemaFields: 'schema',
  listSchemaFields: 'schemas',
  listAttachments: 'attachments',
  downloadAttachment: 'content',
  maxPageSize: 'work_packages',
};

export function createFakeClient(dataset: Dataset, options: FakeClientOptions = {}): OpenProjectClient {
  const pageSize = options.pageSize ?? 1000;
  const clock = options.clock ?? ((): Date => new Date());
  const instance = dataset.instance;
  const schemaJson = schemaRenderer(instance);
  const stats = { total: 0, byRoute: {} as Record<string, number>, bytes: 0, retries: 0 };
  let lastDate: Date | null = null;
  const count = (method: string): void => {
    const route = ROUTE[method] ?? 'other';
    stats.total += 1;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    lastDate = clock();
  };

  const activeProjects = (): JsonObject[] => instance.projects.filter((p) => p.active !== false);
  /** A project and its active descendants, as the server's project filter with includeSubprojects. */
  const withDescendants = (id: string): string[] => {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const p of activeProjects()) if (String(linkId(p._links as JsonObject | undefined, 'parent')) === out[i] && !out.includes(String(p.id))) out.push(String(p.id));
    return out;
  };
  const defsOf = (key: string): Map<number, CustomFieldDef> | null => {
    const schema = schemaJson(key);
    return schema ? new Map(fieldDefsFromSchema(schema).map((d) => [d.id, d])) : null;
  };
  /** The work packages a query matches, by the simulator's own filter code (what the server would answer). */
  const matching = (q: WorkPackageQuery, order: 'id' | 'change'): WorkPackageJson[] => {
    const test = compileFilters(parseFilters(buildFilters(q)), instance, { now: clock(), projectScope: (id) => (q.includeSubprojects ? withDescendants(id) : [id]) });
    const all = [...dataset.workPackages.values()].filter(test);
    return sortWorkPackages(all, order === 'id' ? [['id', 'asc']] : [['updatedAt', 'asc'], ['id', 'asc']]);
  };
  const normalizePage = (rows: WorkPackageJson[]): Pick<WorkPackagePage, 'workPackages' | 'invalid'> => ({ workPackages: rows.map((wp) => normalizeWorkPackage(wp, defsOf(schemaKeyOf(wp)))), invalid: [] });
  function* paged(rows: WorkPackageJson[]): Generator<WorkPackagePage> {
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    for (let i = 0; i < pages; i++) yield { offset: i + 1, total: rows.length, ...normalizePage(rows.slice(i * pageSize, (i + 1) * pageSize)) };
  }
  const attachmentsOf = (wpId: number): AttachmentJson[] =>
    [...dataset.attachments.values()]
      .map((a) => a.meta)
      .filter((m) => linkId(m._links as JsonObject | undefined, 'container') === wpId)
      .sort((a, b) => a.id - b.id);

  return {
    baseUrl: options.baseUrl ?? 'http://fake.invalid',
    async listProjects() {
      count('listProjects');
      return activeProjects().map(normalizeProject);
    },
    async listTypes() {
      count('listTypes');
      return instance.types.map(normalizeType);
    },
    async listStatuses() {
      count('listStatuses');
      return instance.statuses.map(normalizeStatus);
    },
    async *listWorkPackages(q) {
      count('listWorkPackages');
      yield* paged(matching(q, 'id'));
    },
    async *listChanges(q, since) {
      count('listChanges');
      yield* paged(matching({ ...q, updatedSince: since }, 'change'));
    },
    async getWorkPackage(id) {
      count('getWorkPackage');
      const wp = dataset.workPackages.get(id);
      return wp ? normalizeWorkPackage(wp, defsOf(schemaKeyOf(wp))) : null;
    },
    lastServerDate: () => lastDate,
    async countWorkPackages(q) {
      count('countWorkPackages');
      return matching(q, 'id').length;
    },
    async listWorkPackageIds(q, opts): Promise<IdListing> {
      count('listWorkPackageIds');
      const rows = matching(q, 'id');
      const ids = rows.map((wp) => wp.id);
      if (!opts?.withAuthors || q.ids?.length) return { ids, total: ids.length };
      const authors = new Map<number, string>();
      for (const wp of rows) {
        const link = wp._links.author as { href?: Json; title?: Json } | undefined;
        const userId = typeof link?.href === 'string' ? /\/(\d+)$/.exec(link.href)?.[1] : undefined;
        if (userId !== undefined && typeof link?.title === 'string') authors.set(wp.id, `${userId}\u0000${link.title}`);
      }
      return { ids, total: ids.length, authors };
    },
    async getSchemaFields(projectId, typeId) {
      count('getSchemaFields');
      return [...(defsOf(`${projectId}-${typeId}`)?.values() ?? [])];
    },
    async listSchemaFields(keys) {
      count('listSchemaFields');
      const out = new Map<string, CustomFieldDef[]>();
      for (const key of new Set(keys)) {
        const defs = defsOf(key);
        if (defs) out.set(key, [...defs.values()]);
      }
      return out;
    },
    async listAttachments(workPackageId): Promise<Attachment[]> {
      count('listAttachments');
      if (!dataset.workPackages.has(workPackageId)) throw new OpenProjectError({ method: 'GET', url: `/api/v3/work_packages/${workPackageId}/attachments`, status: 404, message: `work package #${workPackageId} (its attachments): 404 (fake client)` });
      return attachmentsOf(workPackageId).map((m) => normalizeAttachment(m, workPackageId));
    },
    async downloadAttachment(attachment: Attachment, sink: DownloadSink, opts?: { maxBytes?: number }): Promise<DownloadResult> {
      count('downloadAttachment');
      const entry = dataset.attachments.get(attachment.id);
      if (!entry) throw new OpenProjectError({ method: 'GET', url: attachment.downloadHref, status: 404, message: `attachment #${attachment.id}: 404 (fake client)` });
      const bytes = contentBytes(entry.content);
      if (opts?.maxBytes !== undefined && bytes.length > opts.maxBytes) throw new Error(`fake client: attachment #${attachment.id} is over ${opts.maxBytes} bytes (the HTTP client's limits are tested against the simulator)`);
      const writer = await sink.open();
      try {
        await writer.write(bytes);
        await writer.end();
      } catch (e) {
        await writer.abort();
        throw e;
      }
      stats.bytes += bytes.length;
      return { bytes: bytes.length, md5: createHash('md5').update(bytes).digest('hex') };
    },
    async maxPageSize() {
      count('maxPageSize');
      return pageSize;
    },
    stats: () => ({ total: stats.total, byRoute: { ...stats.byRoute }, bytes: stats.bytes, retries: 0 }),
    close: async () => undefined,
  };
}
