// A loopback OpenProject API v3 simulator (README §8 checklist): real HTTP on
// 127.0.0.1, paging and filter semantics of the real server, embedded schemas,
// attachments with inline or redirected downloads (a second "storage" origin that
// refuses credentials, like S3 does), auth, HAL error objects, fault injection,
// latency, request counting and data mutation between runs.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { loadDataset } from './dataset.js';
import { FaultBook, loggedStatus, send } from './faults.js';
import { DEFAULT_FILTERS, QueryError, checkFilterValues, compileFilters, isDefaultSort, parseFilters, parseInstant, parseSelect, parseSortBy, sortWorkPackages } from './filters.js';
import { RequestHooks, withHooks, type SimulatorControl } from './hooks.js';
import { HAL, errorReply, jsonReply, toQuery, type Reply } from './http-util.js';
import { schemaRenderer, unpaginated } from './render.js';
import { UrlSigner, storageReply } from './storage.js';
import { Store, linkIdOf } from './store.js';
import { cutTimestamps, selectedCollection, unionCustomFields } from './strict.js';
import type { AttachmentJson, Dataset, Json, JsonObject, Lenience, RequestRecord, RouteName, Simulator, SimulatorOptions, WorkPackageJson } from './types.js';
import { WebhookEmitter } from './webhooks.js';

/** OpenProject's default `per_page_options` first value. */
const DEFAULT_PAGE_SIZE = 20;
/** Filter operators whose answer moves with the clock (filters.ts DATE_TIME_PAST and the future ones). */
const RELATIVE_DATE_OPERATORS = new Set(['>t-', '<t-', 't-', 't', 'w', '>t+', '<t+', 't+']);
/** fog_download_url_expires_in (6 h) minus the 10 s the server keeps as margin. */
const DEFAULT_SIGNED_URL_TTL_S = 21_590;

/** Ruby's String#to_i: leading integer, else 0 (the server parses paging params this way). */
function rubyToI(raw: string): number {
  const m = /^\s*([-+]?\d+)/.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** offset = 1-based page (missing/0/negative/garbage → 1); pageSize clamped (offset_paginated_collection.rb, url_props_parsing_helper.rb). */
function paging(url: URL, maxPageSize: number): { offset: number; pageSize: number } {
  const o = url.searchParams.get('offset');
  const offset = o === null ? 1 : Math.max(1, rubyToI(o));
  const s = url.searchParams.get('pageSize');
  let pageSize = s === null ? Math.min(DEFAULT_PAGE_SIZE, maxPageSize) : rubyToI(s);
  // -1 is the documented "as many as allowed"; other negatives are unverified and treated alike.
  if (pageSize < 0 || pageSize > maxPageSize) pageSize = maxPageSize;
  return { offset, pageSize };
}

/** self / jumpTo / changeSize / previousByOffset / nextByOffset with Rails-style queries. */
function pageLinks(base: string, query: Record<string, string>, offset: number, pageSize: number, total: number): JsonObject {
  const href = (q: Record<string, string>): string => `${base}?${toQuery(q)}`;
  const links: JsonObject = {
    self: { href: href(query) },
    jumpTo: { href: href({ ...query, offset: '{offset}' }), templated: true },
    changeSize: { href: href({ ...query, pageSize: '{size}' }), templated: true },
  };
  if (offset > 1) links.previousByOffset = { href: href({ ...query, offset: String(offset - 1) }) };
  // Only while rows remain; never for pageSize=0 (a count-only request has no "next").
  if (pageSize > 0 && offset * pageSize < total) links.nextByOffset = { href: href({ ...query, offset: String(offset + 1) }) };
  return links;
}

const INLINE_TYPES = /^image\/(gif|jpeg|png|tiff|bmp)$/;

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const dataset: Dataset = typeof options.dataset === 'string' ? await loadDataset(options.dataset) : options.dataset;
  const maxPageSize = options.maxPageSize ?? 1000;
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1) throw new Error('simulator: maxPageSize must be a positive integer');
  const clock = options.clock ?? ((): Date => new Date());
  const ttl = options.signedUrlTtlSeconds ?? DEFAULT_SIGNED_URL_TTL_S;
  const lenient = new Set<Lenience>(options.lenient ?? []);
  /** The credential the API accepts now (setApiKey: an OAuth access token expired and was renewed). */
  let apiKey = options.apiKey;
  const digits = options.timestampDigits;
  if (digits !== undefined && (!Number.isInteger(digits) || digits < 0 || digits > 6)) throw new Error('simulator: timestampDigits must be 0..6');
  const store = new Store(dataset, clock, digits ?? 3);
  const faults = new FaultBook(options.seed ?? 1);
  const signer = new UrlSigner();
  const records: RequestRecord[] = [];
  const hooks = new RequestHooks();
  const control: SimulatorControl = { store, dateHeader: { mode: 'normal' } };
  const sockets = new Set<Socket>();
  const stalls = new Set<() => void>();
  let listPageHook: ((page: number, url: URL) => void) | null = null;
  let storageUrl = '';

  const instance = dataset.instance;
  // Project.visible.active: an archived project (`active: false`) is neither listed nor filterable.
  const activeProjects = (): JsonObject[] => instance.projects.filter((p) => p.active !== false);
  const projectByKey = (key: string): JsonObject | undefined => activeProjects().find((p) => String(p.id) === key || p.identifier === key);
  const parentOf = (p: JsonObject): string | null => {
    const href = ((p._links as JsonObject | undefined)?.parent as { href?: Json } | undefined)?.href;
    return typeof href === 'string' ? href.slice(href.lastIndexOf('/') + 1) : null;
  };
  /** A project and its active descendants (project.rb's nested set, `descendants.visible`). */
  const withDescendants = (id: string): string[] => {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const p of activeProjects()) if (parentOf(p) === out[i] && !out.includes(String(p.id))) out.push(String(p.id));
    return out;
  };
  const allowed = {
    workPackage: (id: number) => dataset.workPackages.has(id),
    project: (id: string) => activeProjects().some((p) => String(p.id) === id),
    type: (id: string) => instance.types.some((t) => String(t.id) === id),
    status: (id: string) => instance.statuses.some((t) => String(t.id) === id),
  };
  const render = <T extends JsonObject>(json: T): T => (digits === undefined ? json : cutTimestamps(json, digits));
  // Who the request's key belongs to: an administrator (`apiKey`) or a user (`userApiKey`) who
  // does not see admin-only custom fields. Set per request before its (synchronous) handler runs.
  let viewerIsAdmin = true;
  const adminOnly = new Set(instance.customFields.filter((f) => f.adminOnly === true).map((f) => f.id));
  const userInstance = adminOnly.size === 0 ? instance : { ...instance, customFields: instance.customFields.filter((f) => !adminOnly.has(f.id)) };
  const adminSchemaJson = schemaRenderer(instance);
  const userSchemaJson = adminOnly.size === 0 ? adminSchemaJson : schemaRenderer(userInstance);
  const schemaJson = (key: string): JsonObject | null => (viewerIsAdmin ? adminSchemaJson : userSchemaJson)(key);
  /** A work package as this key's user sees it: admin-only custom fields left out entirely. */
  const forViewer = (wp: WorkPackageJson): WorkPackageJson => {
    if (viewerIsAdmin || adminOnly.size === 0) return wp;
    const hidden = (k: string): boolean => /^customField\d+$/.test(k) && adminOnly.has(Number(k.slice(11)));
    if (!Object.keys(wp).some(hidden) && !Object.keys(wp._links).some(hidden)) return wp;
    const copy = Object.fromEntries(Object.entries(wp).filter(([k]) => !hidden(k))) as WorkPackageJson;
    copy._links = Object.fromEntries(Object.entries(wp._links).filter(([k]) => !hidden(k)));
    return copy;
  };
  const byId = (list: JsonObject[] | undefined, id: number | null): JsonObject | undefined => (id === null ? undefined : list?.find((x) => x.id === id));

  const schemaKeyOf = (wp: WorkPackageJson): string => {
    const href = (wp._links.schema as { href?: Json } | undefined)?.href;
    if (typeof href === 'string') return href.split('/').pop() ?? '';
    return `${linkIdOf(wp, 'project') ?? ''}-${linkIdOf(wp, 'type') ?? ''}`;
  };

  /** SimulatorOptions.cacheListings: a query's filtered, sorted rows, as of `store.changes`. */
  const listingCache = options.cacheListings ? new Map<string, { changes: number; rows: WorkPackageJson[] }>() : null;
  /**
   * With cacheListings: the work packages by updatedAt (as of `store.changes`), so a
   * changes walk (`updatedAt <>d from`) looks only at rows from its bound on, as a
   * database's index on updated_at would; the filters still decide every row it returns.
   */
  let byUpdated: { changes: number; rows: { us: number; id: number }[]; undated: number[] } | null = null;
  const updatedSince = (us: number): number[] => {
    if (byUpdated?.changes !== store.changes) {
      const rows: { us: number; id: number }[] = [];
      const undated: number[] = [];
      for (const id of store.sortedIds()) {
        const t = parseInstant(String(dataset.workPackages.get(id)?.updatedAt ?? ''));
        if (Number.isNaN(t)) undated.push(id);
        else rows.push({ us: t, id });
      }
      rows.sort((a, b) => a.us - b.us);
      byUpdated = { changes: store.changes, rows, undated };
    }
    const { rows, undated } = byUpdated;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid]!.us < us) lo = mid + 1;
      else hi = mid;
    }
    return [...undated, ...rows.slice(lo).map((r) => r.id)].sort((a, b) => a - b);
  };
  /** The lower bound of an `updatedAt <>d` filter, a day early (date-only values, zones); null: none. */
  const updatedBound = (filters: ReturnType<typeof parseFilters>): number | null => {
    const f = filters.find((x) => x.name === 'updatedAt' && x.operator === '<>d' && (x.values[0] ?? '') !== '');
    const us = f ? parseInstant(f.values[0]!) : NaN;
    return Number.isNaN(us) ? null : us - 86_400_000_000;
  };

  function listWorkPackages(url: URL, project: JsonObject | null): Reply {
    const rawFilters = url.searchParams.get('filters') ?? url.searchParams.get('filter');
    const filters = parseFilters(rawFilters, { lenientDates: lenient.has('date-operators') });
    if (!lenient.has('filter-values')) checkFilterValues(filters, allowed);
    // Query.new_default: include_subprojects = Setting.display_subprojects_work_packages?
    // (true by default); `includeSubprojects=false|true` overrides it
    // (parse_query_params_service.rb `boolearize`); project_filter.rb adds the descendants.
    const includeSubprojects = !lenient.has('subprojects') && url.searchParams.get('includeSubprojects') !== 'false';
    const projectScope = (id: string): string[] => (includeSubprojects ? withDescendants(id) : [id]);
    const order = parseSortBy(url.searchParams.get('sortBy'));
    if (options.refuseSelect && url.searchParams.has('select')) return errorReply(400, 'InvalidQuery', 'Select is not supported by this server.');
    const select = parseSelect(url.searchParams.get('select'));
    // The select path (lib/api/decorators/sql/hal.rb via work_package_collection_from_query_service.rb)
    // does not clamp pageSize to apiv3_max_page_size; the rendered path does.
    const { offset, pageSize } = paging(url, select && !lenient.has('select-shape') ? Number.MAX_SAFE_INTEGER : maxPageSize);
    listPageHook?.(offset, url);

    // An `id =` filter reads only those rows, as the server's primary key index does
    // (`WHERE id IN (…)`); every other filter still applies to them. Without it, each id
    // question of a sync scanned every work package here, a cost no real server has.
    const byId = filters.find((f) => f.name === 'id' && f.operator === '=');
    // Relative date operators depend on the clock: never answered from the cache.
    const cacheKey = listingCache && !byId && !filters.some((f) => RELATIVE_DATE_OPERATORS.has(f.operator)) ? JSON.stringify([project?.id ?? null, includeSubprojects, viewerIsAdmin, rawFilters, order, [...lenient].sort()]) : null;
    const hit = cacheKey === null ? undefined : listingCache!.get(cacheKey);
    let sorted: WorkPackageJson[];
    if (hit && hit.changes === store.changes) sorted = hit.rows;
    else {
      const test = compileFilters(filters, instance, { now: clock(), projectScope });
      // The project-scoped endpoint limits to the project (and its subprojects by the same rule: query.rb `project_limiting_filter`).
      const projectHrefs = project ? new Set(projectScope(String(project.id)).map((id) => `/api/v3/projects/${id}`)) : null;
      const all: WorkPackageJson[] = [];
      const since = listingCache && !byId ? updatedBound(filters) : null;
      const candidates = byId ? [...new Set(byId.values.map(Number))].filter((id) => Number.isInteger(id)).sort((a, b) => a - b) : since !== null ? updatedSince(since) : store.sortedIds();
      for (const id of candidates) {
        const wp = dataset.workPackages.get(id);
        if (!wp) continue;
        if (projectHrefs !== null && !projectHrefs.has(String((wp._links.project as { href?: Json } | undefined)?.href))) continue;
        if (test(wp)) all.push(wp);
      }
      sorted = isDefaultSort(order) ? all : sortWorkPackages(all, order);
      if (cacheKey !== null) listingCache!.set(cacheKey, { changes: store.changes, rows: sorted });
    }
    const total = sorted.length;
    const page = pageSize === 0 ? [] : sorted.slice((offset - 1) * pageSize, offset * pageSize);

    const base = project ? `/api/v3/projects/${String(project.identifier ?? project.id)}/work_packages` : '/api/v3/work_packages';
    const query: Record<string, string> = {
      filters: rawFilters ?? JSON.stringify(DEFAULT_FILTERS.map((f) => ({ [f.name]: { operator: f.operator, values: f.values } }))),
      offset: String(offset),
      pageSize: String(pageSize),
      sortBy: JSON.stringify(order),
    };
    const selectRaw = url.searchParams.get('select');
    if (selectRaw !== null) query.select = selectRaw;
    const links = pageLinks(base, query, offset, pageSize, total);

    if (select) {
      // SQL-rendered (work_package_sql_representer.rb): a fixed, small element shape; cheap
      // to produce, so no per-element latency.
      // Only the selected element properties are rendered (`elements` or `elements/*`:
      // all of them), which is what makes an id listing cheap.
      const all = select.has('elements') || select.has('elements/*');
      const want = (k: string): boolean => all || select.has(`elements/${k}`);
      const elements = page.map((wp) => {
        const el: Record<string, unknown> = {};
        if (want('_type')) el._type = 'WorkPackage';
        if (want('id')) el.id = wp.id;
        if (want('subject')) el.subject = wp.subject ?? null;
        if ('date' in wp) {
          if (want('date')) el.date = wp.date ?? null;
        } else {
          if (want('startDate')) el.startDate = wp.startDate ?? null;
          if (want('dueDate')) el.dueDate = wp.dueDate ?? null;
        }
        const elLinks: Record<string, unknown> = {};
        if (want('self')) elLinks.self = { href: `/api/v3/work_packages/${wp.id}`, title: wp.subject ?? null };
        for (const k of ['project', 'author', 'assignee', 'responsible']) if (want(k) && (k in wp._links || all)) elLinks[k] = wp._links[k] ?? { href: null };
        if (Object.keys(elLinks).length) el._links = elLinks;
        return el as JsonObject;
      });
      if (lenient.has('select-shape')) return jsonReply({ _type: 'WorkPackageCollection', count: page.length, total, pageSize, offset, _embedded: { elements }, _links: links });
      return jsonReply(selectedCollection(select, { total, count: page.length, pageSize, offset, links, elements }));
    }

    const schemaKeys = [...new Set(page.map(schemaKeyOf))].sort();
    const schemas = schemaKeys.map(schemaJson).filter((s): s is JsonObject => s !== null);
    links.schemas = { href: `/api/v3/work_packages/schemas?${toQuery({ filters: JSON.stringify([{ id: { operator: '=', values: schemaKeys } }]) })}` };
    // Stored work packages have no _embedded, so they are the elements as they are;
    // stringified once per page, in their stored key order. The body starts with _type
    // and count (scripts/bench-lib/meter.js reads them there).
    const seen = viewerIsAdmin ? page : page.map(forViewer);
    const shown = digits === undefined ? seen : seen.map(render);
    const elements = JSON.stringify(lenient.has('custom-field-union') ? shown : unionCustomFields(shown, schemaKeyOf, viewerIsAdmin ? instance : userInstance));
    const body = `{"_type":"WorkPackageCollection","total":${total},"count":${page.length},"pageSize":${pageSize},"offset":${offset},"_embedded":{"elements":${elements},"schemas":${JSON.stringify(unpaginated(schemas))}},"_links":${JSON.stringify(links)}}`;
    return { status: 200, headers: { 'content-type': HAL }, body, elements: page.length };
  }

  function listProjects(url: URL): Reply {
    const { offset, pageSize } = paging(url, maxPageSize);
    const visible = activeProjects();
    const total = visible.length;
    const elements = pageSize === 0 ? [] : visible.slice((offset - 1) * pageSize, offset * pageSize);
    const query = { filters: url.searchParams.get('filters') ?? '[]', offset: String(offset), pageSize: String(pageSize) };
    return jsonReply({ _type: 'Collection', total, count: elements.length, pageSize, offset, _embedded: { elements }, _links: pageLinks('/api/v3/projects', query, offset, pageSize, total) });
  }

  function singleWorkPackage(wp: WorkPackageJson): Reply {
    const embedded: Record<string, unknown> = {};
    const type = byId(instance.types, linkIdOf(wp, 'type'));
    const status = byId(instance.statuses, linkIdOf(wp, 'status'));
    const project = byId(instance.projects, linkIdOf(wp, 'project'));
    const author = byId(instance.users, linkIdOf(wp, 'author'));
    if (type) embedded.type = type;
    if (status) embedded.status = status;
    if (project) embedded.project = project;
    if (author) embedded.author = author;
    embedded.attachments = unpaginated(store.attachmentsOf(wp.id).map(attachmentJson), `/api/v3/work_packages/${wp.id}/attachments`);
    return jsonReply({ ...render(forViewer(wp)), _embedded: embedded });
  }

  /** A freshly signed storage URL (fog's `url(expires_in)`), new at every rendering. */
  const signedUrl = (id: number): { url: string; expires: number } => {
    const expires = Math.floor(clock().getTime() / 1000) + ttl;
    return { url: `${storageUrl}/bucket/${id}?expires=${expires}&signature=${signer.sign(id, expires)}`, expires };
  };

  /**
   * Attachment metadata as rendered: with external storage, `downloadLocation` is the
   * pre-signed, expiring object-store URL (attachment_representer.rb: `represented.external_url`)
   * while `staticDownloadLocation` stays `/api/v3/attachments/{id}/content`.
   */
  function attachmentJson(meta: AttachmentJson): AttachmentJson {
    const out = render(meta);
    if (options.downloads !== 'redirect' || meta.status === 'prepared') return out;
    const links = (meta._links ?? {}) as JsonObject;
    return { ...out, _links: { ...links, downloadLocation: { href: signedUrl(meta.id).url } } };
  }

  function contentReply(id: number): Reply {
    const entry = dataset.attachments.get(id);
    if (!entry) return errorReply(404);
    const status = entry.meta.status;
    const name = String(entry.meta.fileName);
    // lib/api/helpers/attachment_renderer.rb `validate_attachment_access!`: quarantined, and
    // pending a scan (status uploaded while scanning is on) for anyone but the author, are
    // API::Errors::Unauthorized (403 MissingPermission). The API user here is never the author.
    if (status === 'quarantined') return errorReply(403, 'MissingPermission', `The file ${name} has been quarantined because a virus was found. It is not available for download.`);
    if (status === 'uploaded' && options.virusScanning) return errorReply(403, 'MissingPermission', `The file ${name} has not yet been scanned for viruses. It is not available for download.`);
    // A prepared (direct upload never finished) attachment has no file behind it.
    if (status === 'prepared') return errorReply(404, 'NotFound', `The file ${name} has not been uploaded.`);
    if (options.downloads === 'redirect') {
      const { url: location, expires } = signedUrl(id);
      return {
        status: 302,
        headers: {
          location,
          'cache-control': `public, max-age=${ttl}`,
          expires: new Date(expires * 1000).toUTCString(),
        },
      };
    }
    const bytes = store.bytes(entry.content);
    const type = String(entry.meta.contentType ?? 'application/octet-stream');
    // attachment.rb: images and text/plain are inlineable; anything else is a download.
    const inline = INLINE_TYPES.test(type) || type.startsWith('text/');

    return {
      status: 200,
      headers: {
        'content-type': type.startsWith('text/') ? 'text/plain' : inline ? type : 'application/octet-stream',
        'content-disposition': `${inline ? 'inline' : 'attachment'}; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
        'x-content-type-options': 'nosniff',
        'cache-control': `public, max-age=${ttl}`,
      },
      body: bytes,
    };
  }

  function route(url: URL): { route: RouteName; handle: () => Reply } {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    let m: RegExpExecArray | null;
    if (p === '/api/v3') {
      return {
        route: 'root',
        handle: () =>
          jsonReply({
            _type: 'Root',
            instanceName: 'OpenProject simulator (curate)',
            coreVersion: '15.0.0',
            _links: { self: { href: '/api/v3' }, projects: { href: '/api/v3/projects' }, types: { href: '/api/v3/types' }, statuses: { href: '/api/v3/statuses' }, workPackages: { href: '/api/v3/work_packages' } },
          }),
      };
    }
    if (p === '/api/v3/projects') return { route: 'projects', handle: () => listProjects(url) };
    if ((m = /^\/api\/v3\/projects\/([^/]+)$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return { route: 'project', handle: () => { const project = projectByKey(key); return project ? jsonReply(project) : errorReply(404); } };
    }
    if ((m = /^\/api\/v3\/projects\/([^/]+)\/work_packages$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return { route: 'work_packages', handle: () => { const project = projectByKey(key); return project ? listWorkPackages(url, project) : errorReply(404); } };
    }
    if ((m = /^\/api\/v3\/projects\/([^/]+)\/types$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return {
        route: 'types',
        handle: () => {
          const project = projectByKey(key);
          if (!project) return errorReply(404);
          const typeIds = new Set(Object.keys(instance.schemas).filter((k) => k.startsWith(`${String(project.id)}-`)).map((k) => Number(k.split('-')[1])));
          return jsonReply(unpaginated(instance.types.filter((t) => typeIds.has(Number(t.id))), `/api/v3/projects/${String(project.id)}/types`));
        },
      };
    }
    if (p === '/api/v3/types') return { route: 'types', handle: () => jsonReply(unpaginated(instance.types, '/api/v3/types')) };
    if (p === '/api/v3/statuses') return { route: 'statuses', handle: () => jsonReply(unpaginated(instance.statuses, '/api/v3/statuses')) };
    if (p === '/api/v3/work_packages') return { route: 'work_packages', handle: () => listWorkPackages(url, null) };
    if (p === '/api/v3/work_packages/schemas') {
      return {
        route: 'schemas',
        handle: () => {
          // paths/work_packages_schemas.yml: `filters` with an id filter is required.
          const raw = url.searchParams.get('filters');
          let ids: string[];
          try {
            const parsed = JSON.parse(raw ?? 'null') as unknown;
            if (!Array.isArray(parsed)) throw new Error('not an array');
            ids = parsed.flatMap((f: unknown) => {
              const spec = (f as { id?: { operator?: unknown; values?: unknown } } | null)?.id;
              if (!spec || spec.operator !== '=' || !Array.isArray(spec.values)) throw new Error('id filter expected');
              return spec.values.map(String);
            });
          } catch {
            return errorReply(400, 'InvalidQuery', 'The schemas endpoint needs a filter like [{"id":{"operator":"=","values":["1-3"]}}].');
          }
          return jsonReply(unpaginated(ids.map(schemaJson).filter((s): s is JsonObject => s !== null), `/api/v3/work_packages/schemas?${toQuery({ filters: raw ?? '' })}`));
        },
      };
    }
    if ((m = /^\/api\/v3\/work_packages\/schemas\/([^/]+)$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return { route: 'schema', handle: () => { const s = schemaJson(key); return s ? jsonReply(s) : errorReply(404, 'NotFound', 'The specified schema does not exist.'); } };
    }
    if ((m = /^\/api\/v3\/work_packages\/(\d+)$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'work_package', handle: () => { const wp = dataset.workPackages.get(id); return wp ? singleWorkPackage(wp) : errorReply(404); } };
    }
    if ((m = /^\/api\/v3\/work_packages\/(\d+)\/attachments$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'attachments', handle: () => (dataset.workPackages.has(id) ? jsonReply(unpaginated(store.attachmentsOf(id).map(attachmentJson), `/api/v3/work_packages/${id}/attachments`)) : errorReply(404)) };
    }
    if ((m = /^\/api\/v3\/attachments\/(\d+)$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'attachment', handle: () => { const a = dataset.attachments.get(id); return a ? jsonReply(attachmentJson(a.meta)) : errorReply(404); } };
    }
    if ((m = /^\/api\/v3\/attachments\/(\d+)\/content$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'content', handle: () => contentReply(id) };
    }
    if ((m = /^\/api\/v3\/custom_fields\/(\d+)$/.exec(p))) {
      const id = Number(m[1]);
      return {
        route: 'custom_field',
        handle: () => {
          const f = instance.customFields.find((c) => c.id === id);
          if (!f) return errorReply(404);
          return jsonReply({ _type: 'CustomField', id: f.id, name: f.name, fieldFormat: f.fieldFormat, isRequired: false, isMultiValue: f.multiValue === true, _links: { self: { href: `/api/v3/custom_fields/${f.id}` } } });
        },
      };
    }
    return { route: 'other', handle: () => errorReply(404) };
  }

  /** README §5: Basic `apikey:<key>` or Bearer `<key>`; schemes are case-insensitive. */
  function authorized(header: string | undefined): boolean {
    viewerIsAdmin = true;
    if (apiKey === undefined) return true;
    if (!header) return false;
    const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
    const accepts = (key: string): boolean => {
      // API tokens travel as `Bearer opapi-…` (and only with Setting.api_tokens_enabled?); any
      // other bearer value is taken for an OAuth / OIDC access token, which this key is not.
      if (/^bearer$/i.test(scheme)) return value === key && (value.startsWith('opapi-') || lenient.has('bearer-any'));
      if (/^basic$/i.test(scheme)) return Buffer.from(value, 'base64').toString('utf8') === `apikey:${key}`;
      return false;
    };
    if (accepts(apiKey)) return true;
    if (options.userApiKey !== undefined && accepts(options.userApiKey)) {
      viewerIsAdmin = false;
      return true;
    }
    return false;
  }

  function unauthenticated(header: string | undefined): Reply {
    const bearer = header !== undefined && /^\s*bearer\s/i.test(header);
    return errorReply(401, 'Unauthenticated', header === undefined ? 'You need to be authenticated to access this resource.' : 'You did not provide the correct credentials.', {
      'www-authenticate': bearer ? 'Bearer realm="OpenProject API", scope="api_v3", error="invalid_token"' : 'Basic realm="OpenProject API"',
    });
  }

  const delay = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

  const apiServer = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const { route: routeName, handle } = route(url);
      const header = req.headers.authorization;
      const rec: RequestRecord = { method, path: url.pathname + url.search, route: routeName, status: 0, authorization: header !== undefined, origin: 'api', startMs: performance.now() };
      records.push(rec);
      res.once('close', () => (rec.endMs = performance.now()));
      // Rails answers with its own clock; curate's watermark is read from it. A test can
      // take the header away, garble it or skew it (a proxy's clock): hooks.ts setDateHeader.
      const dh = control.dateHeader;
      if (dh.mode === 'missing') res.sendDate = false;
      else res.setHeader('Date', dh.mode === 'garbage' ? dh.value : new Date(clock().getTime() + (dh.mode === 'skewed' ? dh.ms : 0)).toUTCString());
      hooks.seen(routeName, rec.path);
      try {
        let reply: Reply;
        if (url.pathname.startsWith('/api/v3') && !authorized(header)) reply = unauthenticated(header);
        else if (method !== 'GET' && method !== 'HEAD') reply = errorReply(405, undefined, undefined, { allow: 'GET, HEAD' });
        else {
          try {
            reply = handle();
          } catch (e) {
            if (!(e instanceof QueryError)) throw e;
            reply = errorReply(400, e.identifier, e.message);
          }
        }
        // Timers, not busy waiting: concurrent requests overlap like a multi-worker server.
        await delay((options.latencyMs ?? 0) + (options.perElementMs ?? 0) * (reply.elements ?? 0));
        const fault = reply.status === 401 ? null : faults.pick(routeName, url.pathname);
        rec.status = loggedStatus(reply, fault);
        await send(req, res, reply, fault, stalls);
      } catch (e) {
        rec.status = 500;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const r = errorReply(500, 'InternalServerError', `Simulator error: ${(e as Error).message}`);
        res.writeHead(500, r.headers);
        res.end(r.body);
      }
    })();
  });

  const storageServer = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const hasAuth = req.headers.authorization !== undefined;
      const rec: RequestRecord = { method: req.method ?? 'GET', path: url.pathname + url.search, route: 'storage', status: 0, authorization: hasAuth, origin: 'storage', startMs: performance.now() };
      records.push(rec);
      res.once('close', () => (rec.endMs = performance.now()));
      hooks.seen('storage', rec.path);
      try {
        const reply = storageReply(url, hasAuth, clock().getTime() / 1000, signer, (id) => dataset.attachments.get(id), (c) => store.bytes(c));
        const fault = faults.pick('storage', url.pathname);
        rec.status = loggedStatus(reply, fault);
        await send(req, res, reply, fault, stalls);
      } catch {
        rec.status = 500;
        res.destroy();
      }
    })();
  });

  for (const server of [apiServer, storageServer]) {
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  }
  const listen = (server: http.Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const apiPort = await listen(apiServer, options.port ?? 0);
  let storagePort: number;
  try {
    storagePort = await listen(storageServer, 0);
  } catch (e) {
    apiServer.close();
    throw e;
  }
  const url = `http://127.0.0.1:${apiPort}`;
  const renderJson = (r: Reply): JsonObject | null => (r.status === 200 && typeof r.body === 'string' ? (JSON.parse(r.body) as JsonObject) : null);
  const webhooks = new WebhookEmitter(
    {
      workPackage: (id) => { const wp = dataset.workPackages.get(id); return wp ? renderJson(singleWorkPackage(wp)) : null; },
      attachment: (id) => { const a = dataset.attachments.get(id); return a ? (attachmentJson(a.meta) as JsonObject) : null; },
    },
    options.webhooks,
  );
  storageUrl = `http://127.0.0.1:${storagePort}`;
  control.webhooks = webhooks;

  return withHooks(hooks, control, {
    url,
    storageUrl,
    dataset,
    counts() {
      const byRoute: Partial<Record<RouteName, number>> = {};
      for (const r of records) byRoute[r.route] = (byRoute[r.route] ?? 0) + 1;
      return { total: records.length, byRoute };
    },
    log: () => records.map((r) => ({ ...r })),
    resetCounts() {
      records.length = 0;
    },
    inject: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    endStalls() {
      for (const end of [...stalls]) end();
    },
    onListPage(hook) {
      listPageHook = hook;
    },
    webhooks,
    updateWorkPackage: (id, change) => {
      store.updateWorkPackage(id, change);
      webhooks.workPackage(id, 'updated');
    },
    addWorkPackage: (wp, attachments) => {
      store.addWorkPackage(wp, attachments);
      webhooks.workPackage(wp.id, 'created');
    },
    deleteWorkPackage: (id) => store.deleteWorkPackage(id),
    addAttachment: (wpId, meta, content) => {
      const a = store.addAttachment(wpId, meta, content);
      // OpenProject journals the container too: both events follow an upload.
      webhooks.attachment(a.id, wpId);
      webhooks.workPackage(wpId, 'updated');
      return a;
    },
    deleteAttachment: (id) => store.deleteAttachment(id),
    setAttachmentContent: (id, content) => store.setAttachmentContent(id, content),
    setAttachmentStatus: (id, status) => store.setAttachmentStatus(id, status),
    finishScan: (id) => store.setAttachmentStatus(id, 'scanned'),
    setApiKey: (key) => void (apiKey = key),
    async close() {
      for (const end of [...stalls]) end();
      for (const s of sockets) s.destroy();
      await Promise.all([apiServer, storageServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  } satisfies Simulator);
}
