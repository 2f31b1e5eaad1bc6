// A loopback OpenProject API v3 simulator (README §8 checklist): real HTTP on
// 127.0.0.1, paging and filter semantics of the real server, embedded schemas,
// attachments with inline or redirected downloads (a second "storage" origin that
// refuses credentials, like S3 does), auth, HAL error objects, fault injection,
// latency, request counting and data mutation between runs.
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { rng } from './rng.js';
import type { AddressInfo, Socket } from 'node:net';
import { contentBytes, loadDataset, md5 } from './dataset.js';
import { QueryError, matches, parseFilters, parseSelect, parseSortBy, sortWorkPackages } from './filters.js';
import type { AttachmentJson, Dataset, FaultSpec, Json, JsonObject, RequestRecord, RouteName, Simulator, SimulatorOptions, WorkPackageJson } from './types.js';

const HAL = 'application/hal+json; charset=utf-8';
const ERR = 'urn:openproject-org:api:v3:errors:';

const ERROR_NAMES: Record<number, [string, string]> = {
  400: ['BadRequest', 'The request could not be processed.'],
  401: ['Unauthenticated', 'You did not provide the correct credentials.'],
  403: ['MissingPermission', 'You are not authorized to access this resource.'],
  404: ['NotFound', 'The requested resource could not be found.'],
  429: ['TooManyRequests', 'You have reached the request limit for this resource.'],
  500: ['InternalServerError', 'An internal error has occured.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable.'],
  504: ['GatewayTimeout', 'Gateway timeout.'],
};

function errorBody(status: number, identifier?: string, message?: string): string {
  const [name, msg] = ERROR_NAMES[status] ?? ['InternalServerError', 'Error.'];
  return JSON.stringify({ _type: 'Error', errorIdentifier: `${ERR}${identifier ?? name}`, message: message ?? msg });
}

/** Rails `to_query`: keys sorted, values CGI-escaped. */
function toQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!).replace(/%20/g, '+')}`)
    .join('&');
}

const SCHEMA_TYPE: Record<string, string> = {
  string: 'String',
  text: 'Formattable',
  link: 'Link',
  int: 'Integer',
  float: 'Float',
  bool: 'Boolean',
  date: 'Date',
  list: 'CustomOption',
  user: 'User',
  version: 'Version',
};

interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Number of work package elements rendered (for the per-element latency model). */
  elements?: number;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const dataset: Dataset = typeof options.dataset === 'string' ? await loadDataset(options.dataset) : options.dataset;
  const maxPageSize = options.maxPageSize ?? 1000;
  const clock = options.clock ?? (() => new Date());
  const random = rng(options.seed ?? 1);
  const signingKey = randomBytes(16);
  const faults: (FaultSpec & { remaining?: number })[] = [];
  const records: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  let listPageHook: ((page: number) => void) | null = null;
  let lastStamp = 0;

  const instance = dataset.instance;
  const projectById = new Map(instance.projects.map((p) => [Number(p.id), p]));
  const projectByIdent = new Map(instance.projects.map((p) => [String(p.identifier), p]));
  const fieldById = new Map(instance.customFields.map((f) => [f.id, f]));
  // Sorted ids, refreshed on mutation: listing 10,000 work packages must stay cheap.
  let sortedIds: number[] = [];
  const refreshIds = (): void => {
    sortedIds = [...dataset.workPackages.keys()].sort((a, b) => a - b);
  };
  refreshIds();
  const attachmentsByContainer = (wpId: number): AttachmentJson[] => {
    const out: AttachmentJson[] = [];
    for (const { meta } of dataset.attachments.values()) {
      const href = ((meta._links as JsonObject | undefined)?.container as { href?: string } | undefined)?.href;
      if (href === `/api/v3/work_packages/${wpId}`) out.push(meta);
    }
    return out.sort((a, b) => a.id - b.id);
  };

  function schemaJson(key: string): JsonObject | null {
    const ids = instance.schemas[key];
    if (!ids) return null;
    const schema: JsonObject = {
      _type: 'Schema',
      _dependencies: [],
      id: { type: 'Integer', name: 'ID', required: true, hasDefault: false, writable: false },
      subject: { type: 'String', name: 'Subject', required: true, hasDefault: false, writable: true },
      description: { type: 'Formattable', name: 'Description', required: false, hasDefault: false, writable: true },
      startDate: { type: 'Date', name: 'Start date', required: false, hasDefault: false, writable: true },
      dueDate: { type: 'Date', name: 'Finish date', required: false, hasDefault: false, writable: true },
      createdAt: { type: 'DateTime', name: 'Created on', required: true, hasDefault: false, writable: false },
      updatedAt: { type: 'DateTime', name: 'Updated on', required: true, hasDefault: false, writable: false },
    };
    for (const id of ids) {
      const f = fieldById.get(id);
      if (!f) continue;
      const base = SCHEMA_TYPE[f.fieldFormat] ?? 'String';
      const linked = ['list', 'user', 'version'].includes(f.fieldFormat);
      schema[`customField${id}`] = {
        type: f.multiValue ? `[]${base}` : base,
        name: f.name,
        required: false,
        hasDefault: false,
        writable: true,
        ...(linked ? { location: '_links' } : {}),
      };
    }
    schema._links = { self: { href: `/api/v3/work_packages/schemas/${key}` } };
    return schema;
  }

  const schemaKeyOf = (wp: WorkPackageJson): string => {
    const href = (wp._links.schema as { href?: string } | undefined)?.href ?? '';
    return href.split('/').pop() ?? '';
  };

  function listWorkPackages(url: URL, projectScope: JsonObject | null): Reply {
    const filters = parseFilters(url.searchParams.get('filters') ?? url.searchParams.get('filter'));
    const order = parseSortBy(url.searchParams.get('sortBy'));
    const select = parseSelect(url.searchParams.get('select'));
    const rawSize = Number(url.searchParams.get('pageSize') ?? 20);
    let pageSize = Number.isFinite(rawSize) ? Math.trunc(rawSize) : 20;
    if (pageSize < 0 || pageSize > maxPageSize) pageSize = maxPageSize;
    const rawOffset = Math.trunc(Number(url.searchParams.get('offset') ?? 1));
    const offset = Number.isFinite(rawOffset) && rawOffset > 0 ? rawOffset : 1;
    listPageHook?.(offset);

    const all: WorkPackageJson[] = [];
    for (const id of sortedIds) {
      const wp = dataset.workPackages.get(id);
      if (!wp) continue;
      if (projectScope && (wp._links.project as { href?: string }).href !== `/api/v3/projects/${projectScope.id}`) continue;
      if (matches(wp, filters, instance)) all.push(wp);
    }
    const sorted = order.length === 1 && order[0]![0] === 'id' && order[0]![1] === 'asc' ? all : sortWorkPackages(all, order);
    const total = sorted.length;
    const page = pageSize === 0 ? [] : sorted.slice((offset - 1) * pageSize, offset * pageSize);

    const base = projectScope ? `/api/v3/projects/${projectScope.id}/work_packages` : '/api/v3/work_packages';
    const query: Record<string, string> = {
      filters: url.searchParams.get('filters') ?? JSON.stringify([{ status: { operator: 'o', values: [] } }]),
      offset: String(offset),
      pageSize: String(pageSize),
      sortBy: JSON.stringify(order),
    };
    if (url.searchParams.has('select')) query.select = url.searchParams.get('select')!;
    const href = (q: Record<string, string>): string => `${base}?${toQuery(q)}`;
    const links: JsonObject = {
      self: { href: href(query) },
      jumpTo: { href: href({ ...query, offset: '{offset}' }), templated: true },
      changeSize: { href: href({ ...query, pageSize: '{size}' }), templated: true },
    };
    if (offset > 1) links.previousByOffset = { href: href({ ...query, offset: String(offset - 1) }) };
    if (offset * pageSize < total) links.nextByOffset = { href: href({ ...query, offset: String(offset + 1) }) };

    if (select) {
      const elements = page.map((wp) => ({
        _type: 'WorkPackage',
        id: wp.id,
        subject: wp.subject ?? null,
        _links: { self: { href: `/api/v3/work_packages/${wp.id}` }, project: wp._links.project ?? null },
      }));
      const body: JsonObject = { _type: 'WorkPackageCollection', total, count: page.length, pageSize, offset, _embedded: { elements: elements as Json }, _links: links };
      // The SQL-rendered response is cheap: no per-element rendering cost.
      return { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(body) };
    }

    const schemaKeys = [...new Set(page.map(schemaKeyOf))].sort();
    const schemas = schemaKeys.map(schemaJson).filter((s): s is JsonObject => s !== null);
    links.schemas = { href: `/api/v3/work_packages/schemas?filters=${encodeURIComponent(JSON.stringify([{ id: { operator: '=', values: schemaKeys } }]))}` };
    // Elements are rendered without _embedded; JSON.stringify of stored objects keeps their key order.
    const body = `{"_type":"WorkPackageCollection","total":${total},"count":${page.length},"pageSize":${pageSize},"offset":${offset},"_embedded":{"elements":${JSON.stringify(page)},"schemas":${JSON.stringify({ _type: 'Collection', total: schemas.length, count: schemas.length, _embedded: { elements: schemas } })}},"_links":${JSON.stringify(links)}}`;
    return { status: 200, headers: { 'content-type': HAL }, body, elements: page.length };
  }

  function collection(elements: Json[]): Reply {
    return { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify({ _type: 'Collection', total: elements.length, count: elements.length, _embedded: { elements } }) };
  }

  function notFound(message?: string): Reply {
    return { status: 404, headers: { 'content-type': HAL }, body: errorBody(404, 'NotFound', message) };
  }

  function sign(id: number, expires: number): string {
    return createHmac('sha256', signingKey).update(`${id}:${expires}`).digest('hex');
  }

  function contentReply(id: number): Reply {
    const entry = dataset.attachments.get(id);
    if (!entry) return notFound();
    if (options.downloads === 'redirect') {
      const expires = Math.floor(Date.now() / 1000) + 600;
      return { status: 302, headers: { location: `${storageUrl}/bucket/${id}?expires=${expires}&signature=${sign(id, expires)}`, 'cache-control': 'public, max-age=590' } };
    }
    const bytes = contentBytes(entry.content);
    const type = String(entry.meta.contentType ?? 'application/octet-stream');
    const inline = /^image\/(gif|jpeg|png|tiff|bmp)$/.test(type) || type === 'text/plain';
    return {
      status: 200,
      headers: {
        'content-type': type.startsWith('text/') ? 'text/plain' : inline ? type : 'application/octet-stream',
        'content-disposition': `${inline ? 'inline' : 'attachment'}; filename="${encodeURIComponent(String(entry.meta.fileName))}"`,
        'x-content-type-options': 'nosniff',
        'cache-control': 'public, max-age=21590',
      },
      body: bytes,
    };
  }

  function embeddedWorkPackage(wp: WorkPackageJson): JsonObject {
    const atts = attachmentsByContainer(wp.id);
    return { ...wp, _embedded: { attachments: { _type: 'Collection', total: atts.length, count: atts.length, _embedded: { elements: atts } } } };
  }

  function route(method: string, url: URL): { route: RouteName; handle: () => Reply } {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    let m: RegExpExecArray | null;
    if (p === '/api/v3') return { route: 'root', handle: () => ({ status: 200, headers: { 'content-type': HAL }, body: JSON.stringify({ _type: 'Root', instanceName: 'curate simulator', coreVersion: '15.0.0' }) }) };
    if (p === '/api/v3/projects') {
      return {
        route: 'projects',
        handle: () => {
          const body = { _type: 'Collection', total: instance.projects.length, count: instance.projects.length, pageSize: instance.projects.length, offset: 1, _embedded: { elements: instance.projects } };
          return { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(body) };
        },
      };
    }
    if ((m = /^\/api\/v3\/projects\/([^/]+)$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return { route: 'project', handle: () => {
        const project = projectById.get(Number(key)) ?? projectByIdent.get(key);
        return project ? { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(project) } : notFound();
      } };
    }
    if ((m = /^\/api\/v3\/projects\/([^/]+)\/work_packages$/.exec(p))) {
      const key = decodeURIComponent(m[1]!);
      return { route: 'work_packages', handle: () => {
        const project = projectById.get(Number(key)) ?? projectByIdent.get(key);
        return project ? listWorkPackages(url, project) : notFound();
      } };
    }
    if (p === '/api/v3/types') return { route: 'types', handle: () => collection(instance.types) };
    if (p === '/api/v3/statuses') return { route: 'statuses', handle: () => collection(instance.statuses) };
    if (p === '/api/v3/work_packages') return { route: 'work_packages', handle: () => listWorkPackages(url, null) };
    if (p === '/api/v3/work_packages/schemas') {
      return { route: 'schemas', handle: () => {
        const filters = JSON.parse(url.searchParams.get('filters') ?? '[]') as { id?: { values?: string[] } }[];
        const ids = filters.flatMap((f) => f.id?.values ?? []);
        return collection(ids.map(schemaJson).filter((s): s is JsonObject => s !== null));
      } };
    }
    if ((m = /^\/api\/v3\/work_packages\/schemas\/(\d+-\d+)$/.exec(p))) {
      const key = m[1]!;
      return { route: 'schema', handle: () => {
        const s = schemaJson(key);
        return s ? { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(s) } : notFound('The specified schema does not exist.');
      } };
    }
    if ((m = /^\/api\/v3\/work_packages\/(\d+)$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'work_package', handle: () => {
        const wp = dataset.workPackages.get(id);
        return wp ? { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(embeddedWorkPackage(wp)) } : notFound();
      } };
    }
    if ((m = /^\/api\/v3\/work_packages\/(\d+)\/attachments$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'attachments', handle: () => (dataset.workPackages.has(id) ? collection(attachmentsByContainer(id)) : notFound()) };
    }
    if ((m = /^\/api\/v3\/attachments\/(\d+)$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'attachment', handle: () => {
        const a = dataset.attachments.get(id);
        return a ? { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(a.meta) } : notFound();
      } };
    }
    if ((m = /^\/api\/v3\/attachments\/(\d+)\/content$/.exec(p))) {
      const id = Number(m[1]);
      return { route: 'content', handle: () => contentReply(id) };
    }
    if ((m = /^\/api\/v3\/custom_fields\/(\d+)$/.exec(p))) {
      const f = fieldById.get(Number(m[1]));
      return { route: 'custom_field', handle: () => (f ? { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify({ _type: 'CustomField', ...f }) } : notFound()) };
    }
    void method;
    return { route: 'other', handle: () => notFound() };
  }

  function authorized(header: string | undefined): boolean {
    if (!options.apiKey) return true;
    if (!header) return false;
    if (header.startsWith('Bearer ')) return header.slice(7) === options.apiKey;
    if (header.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString('utf8') === `apikey:${options.apiKey}`;
    return false;
  }

  function pickFault(routeName: RouteName, path: string): FaultSpec | null {
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i]!;
      const routes = f.route === undefined ? null : Array.isArray(f.route) ? f.route : [f.route];
      if (routes && !routes.includes(routeName)) continue;
      if (f.match && !f.match({ path, route: routeName })) continue;
      if (f.remaining !== undefined) {
        if (f.remaining <= 0) continue;
        f.remaining -= 1;
        return f;
      }
      if (f.rate !== undefined && random() < f.rate) return f;
    }
    return null;
  }

  const delay = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

  async function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply, fault: FaultSpec | null): Promise<void> {
    let body = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
    const headers: Record<string, string | number> = { ...(reply.headers ?? {}) };
    let status = reply.status;
    if (fault) {
      switch (fault.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'stall':
          await delay(fault.stallMs ?? 120_000);
          req.socket.destroy();
          return;
        case 'status': {
          status = fault.status ?? 500;
          body = Buffer.from(errorBody(status));
          for (const k of Object.keys(headers)) delete headers[k];
          headers['content-type'] = HAL;
          if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
          if (fault.rateLimitReset !== undefined) {
            headers['ratelimit-limit'] = 6;
            headers['ratelimit-remaining'] = 0;
            headers['ratelimit-reset'] = Math.ceil(Date.now() / 1000 + fault.rateLimitReset);
          }
          break;
        }
        case 'html':
          status = 200;
          body = Buffer.from('<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Down for maintenance</body></html>');
          headers['content-type'] = 'text/html; charset=utf-8';
          delete headers.location;
          break;
        case 'invalid-json':
          status = 200;
          body = Buffer.from('{"_type":"WorkPackageCollection","total":');
          headers['content-type'] = HAL;
          delete headers.location;
          break;
        case 'corrupt': {
          body = Buffer.from(body);
          for (let i = 0; i < body.length; i += 97) body[i] = body[i]! ^ 0xff;
          break;
        }
        case 'truncate':
          res.writeHead(status, { ...headers, 'content-length': body.length });
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          setTimeout(() => req.socket.destroy(), 5);
          return;
      }
    }
    res.writeHead(status, { ...headers, 'content-length': body.length });
    res.end(body);
  }

  function record(r: RequestRecord): void {
    records.push(r);
  }

  const apiServer = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const { route: routeName, handle } = route(method, url);
    const hasAuth = req.headers.authorization !== undefined;
    const rec: RequestRecord = { method, path: url.pathname + url.search, route: routeName, status: 0, authorization: hasAuth, origin: 'api' };
    record(rec);
    try {
      if (!authorized(req.headers.authorization)) {
        rec.status = 401;
        const bearer = req.headers.authorization?.startsWith('Bearer ');
        await send(req, res, {
          status: 401,
          headers: {
            'content-type': HAL,
            'www-authenticate': bearer ? 'Bearer realm="OpenProject API", scope="api_v3", error="invalid_token"' : 'Basic realm="OpenProject API"',
          },
          body: errorBody(401, 'Unauthenticated', hasAuth ? 'You did not provide the correct credentials.' : 'You need to be authenticated to access this resource.'),
        }, null);
        return;
      }
      let reply: Reply;
      try {
        reply = handle();
      } catch (e) {
        if (e instanceof QueryError) reply = { status: 400, headers: { 'content-type': HAL }, body: errorBody(400, e.identifier, e.message) };
        else throw e;
      }
      await delay((options.latencyMs ?? 0) + (options.perElementMs ?? 0) * (reply.elements ?? 0));
      const fault = pickFault(routeName, url.pathname);
      rec.status = fault?.kind === 'status' ? (fault.status ?? 500) : reply.status;
      await send(req, res, reply, fault);
    } catch (e) {
      rec.status = 500;
      if (!res.headersSent) res.writeHead(500, { 'content-type': HAL });
      res.end(errorBody(500, 'InternalServerError', (e as Error).message));
    }
  });

  const storageServer = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: RequestRecord = { method: req.method ?? 'GET', path: url.pathname + url.search, route: 'storage', status: 0, authorization: req.headers.authorization !== undefined, origin: 'storage' };
    record(rec);
    const xml = (status: number, code: string, message: string): Reply => ({
      status,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    });
    let reply: Reply;
    const m = /^\/bucket\/(\d+)$/.exec(url.pathname);
    const id = m ? Number(m[1]) : NaN;
    const expires = Number(url.searchParams.get('expires'));
    const entry = dataset.attachments.get(id);
    if (req.headers.authorization !== undefined) {
      // S3 refuses a pre-signed URL that also carries an Authorization header.
      reply = xml(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
    } else if (!m || !entry || url.searchParams.get('signature') !== sign(id, expires)) {
      reply = xml(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    } else if (expires < Date.now() / 1000) {
      reply = xml(403, 'AccessDenied', 'Request has expired');
    } else {
      reply = { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: contentBytes(entry.content) };
    }
    const fault = pickFault('storage', url.pathname);
    rec.status = fault?.kind === 'status' ? (fault.status ?? 500) : reply.status;
    await send(req, res, reply, fault);
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
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const apiPort = await listen(apiServer, options.port ?? 0);
  const storagePort = await listen(storageServer, 0);
  const url = `http://127.0.0.1:${apiPort}`;
  const storageUrl = `http://127.0.0.1:${storagePort}`;

  const stamp = (): string => {
    const t = Math.max(clock().getTime(), lastStamp + 1);
    lastStamp = t;
    return new Date(t).toISOString();
  };
  const touch = (wpId: number): void => {
    const wp = dataset.workPackages.get(wpId);
    if (!wp) return;
    wp.updatedAt = stamp();
    wp.lockVersion = Number(wp.lockVersion ?? 0) + 1;
  };
  let nextAttachmentId = Math.max(0, ...dataset.attachments.keys()) + 1;

  return {
    url,
    storageUrl,
    dataset,
    counts() {
      const byRoute: Partial<Record<RouteName, number>> = {};
      for (const r of records) byRoute[r.route] = (byRoute[r.route] ?? 0) + 1;
      return { total: records.length, byRoute };
    },
    log: () => [...records],
    resetCounts() {
      records.length = 0;
    },
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times });
    },
    clearFaults() {
      faults.length = 0;
    },
    onListPage(hook) {
      listPageHook = hook;
    },
    updateWorkPackage(id, change) {
      const wp = dataset.workPackages.get(id);
      if (!wp) throw new Error(`no work package ${id}`);
      change(wp);
      touch(id);
    },
    addWorkPackage(wp, attachments = []) {
      dataset.workPackages.set(wp.id, wp);
      for (const a of attachments) dataset.attachments.set(a.meta.id, { meta: a.meta, content: a.content });
      refreshIds();
    },
    deleteWorkPackage(id) {
      dataset.workPackages.delete(id);
      for (const a of attachmentsByContainer(id)) dataset.attachments.delete(a.id);
      refreshIds();
    },
    addAttachment(workPackageId, meta, content) {
      const id = meta.id ?? nextAttachmentId++;
      const full: AttachmentJson = {
        _type: 'Attachment',
        contentType: 'application/octet-stream',
        description: { format: 'plain', raw: '', html: '' },
        status: 'uploaded',
        createdAt: stamp(),
        ...meta,
        id,
        fileName: meta.fileName,
        fileSize: content.length,
        digest: { algorithm: 'md5', hash: md5(content) },
        _links: {
          self: { href: `/api/v3/attachments/${id}`, title: meta.fileName },
          container: { href: `/api/v3/work_packages/${workPackageId}` },
          staticDownloadLocation: { href: `/api/v3/attachments/${id}/content` },
          downloadLocation: { href: `/api/v3/attachments/${id}/content` },
        },
      };
      dataset.attachments.set(id, { meta: full, content });
      touch(workPackageId);
      return full;
    },
    deleteAttachment(id) {
      const a = dataset.attachments.get(id);
      if (!a) return;
      dataset.attachments.delete(id);
      const href = ((a.meta._links as JsonObject | undefined)?.container as { href?: string } | undefined)?.href ?? '';
      touch(Number(href.split('/').pop()));
    },
    setAttachmentContent(id, content) {
      const a = dataset.attachments.get(id);
      if (!a) throw new Error(`no attachment ${id}`);
      a.content = content;
      a.meta.fileSize = content.length;
      a.meta.digest = { algorithm: 'md5', hash: md5(content) };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([apiServer, storageServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
