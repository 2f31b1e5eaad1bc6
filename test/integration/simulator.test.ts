// The OpenProject simulator over real HTTP on 127.0.0.1: every semantic other
// modules rely on (README §8), checked against expectations computed from the dataset
// files themselves (the train set when ../shared exists, else the bundled fixtures).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneDataset, createWorkPackage, renameCustomField, restoreSnapshot } from '../../src/simulator/hooks.js';
import { loadDataset, startSimulator, type AttachmentJson, type Dataset, type JsonObject, type Simulator, type WorkPackageJson } from '../../src/simulator/index.js';
import { FIXTURE_DATASET, HAS_SHARED, ROOT, SHARED_TRAIN } from '../helpers/env.js';

const DATASET = HAS_SHARED ? path.join(SHARED_TRAIN, 'dataset') : FIXTURE_DATASET;
const KEY = 'opapi-sim-test-0123456789abcdef';
const BEARER = { authorization: `Bearer ${KEY}` };

type Obj = Record<string, unknown>;
interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: Obj;
}

async function get(base: string, p: string, headers: Record<string, string> = BEARER, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(`${base}${p}`, { headers, ...init });
  const text = await res.text();
  let json: Obj = {};
  try {
    json = JSON.parse(text) as Obj;
  } catch {
    /* not JSON: tests that care look at text */
  }
  return { status: res.status, headers: res.headers, text, json };
}

const q = (v: unknown): string => encodeURIComponent(JSON.stringify(v));
const emb = (j: Obj): Obj[] => (j._embedded as { elements: Obj[] }).elements;
const ids = (j: Obj): number[] => emb(j).map((e) => e.id as number);
const links = (j: Obj): Record<string, { href: string; templated?: boolean }> => j._links as Record<string, { href: string }>;
const linkId = (wp: WorkPackageJson, rel: string): number => Number(/\d+$/.exec((wp._links[rel] as { href: string }).href)![0]);
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
/** Independent of the simulator's parser: normalise to 6 fractional digits, then compare as strings. */
const norm = (iso: string): string => {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(iso)!;
  return `${m[1]}.${((m[2] ?? '') + '000000').slice(0, 6)}Z`;
};

let data: Dataset; // pristine copy for expectations
let sim: Simulator; // served copy (only read by this file's shared tests)
let url: string;
let sortedIds: number[];
let closedStatus: Set<number>;

beforeAll(async () => {
  data = await loadDataset(DATASET);
  sim = await startSimulator({ dataset: DATASET, apiKey: KEY });
  url = sim.url;
  sortedIds = [...data.workPackages.keys()].sort((a, b) => a - b);
  closedStatus = new Set(data.instance.statuses.filter((s) => s.isClosed === true).map((s) => Number(s.id)));
});
afterAll(async () => sim.close());

const wps = (): WorkPackageJson[] => sortedIds.map((id) => data.workPackages.get(id)!);
const attachmentsOf = (wpId: number): AttachmentJson[] =>
  [...data.attachments.values()].map((a) => a.meta).filter((m) => (m._links as { container: { href: string } }).container.href === `/api/v3/work_packages/${wpId}`);

describe('root, projects, types, statuses', () => {
  it('serves the root and the metadata collections', async () => {
    expect((await get(url, '/api/v3')).json._type).toBe('Root');
    const types = await get(url, '/api/v3/types');
    expect(types.json._type).toBe('Collection');
    expect(ids(types.json)).toEqual(data.instance.types.map((t) => t.id));
    const statuses = await get(url, '/api/v3/statuses');
    expect(emb(statuses.json).map((s) => s.isClosed)).toEqual(data.instance.statuses.map((s) => s.isClosed));
    expect(types.headers.get('content-type')).toBe('application/hal+json; charset=utf-8');
  });

  it('pages projects and finds one by id or identifier', async () => {
    const n = data.instance.projects.length;
    const p1 = await get(url, '/api/v3/projects?pageSize=2');
    expect(p1.json).toMatchObject({ _type: 'Collection', total: n, count: 2, pageSize: 2, offset: 1 });
    expect(links(p1.json).nextByOffset!.href).toContain('offset=2');
    const all = await get(url, '/api/v3/projects?pageSize=-1');
    expect(ids(all.json)).toEqual(data.instance.projects.map((p) => p.id));
    const first = data.instance.projects[0]!;
    expect((await get(url, `/api/v3/projects/${String(first.id)}`)).json.identifier).toBe(first.identifier);
    expect((await get(url, `/api/v3/projects/${String(first.identifier)}`)).json.id).toBe(first.id);
    const missing = await get(url, '/api/v3/projects/no-such-project');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:NotFound' });
  });
});

describe('work package lists: paging', () => {
  it('defaults to 20 per page, clamps to the maximum, -1 = maximum, 0 = only the total', async () => {
    const d = await get(url, '/api/v3/work_packages?filters=[]');
    expect(d.json).toMatchObject({ _type: 'WorkPackageCollection', total: sortedIds.length, count: 20, pageSize: 20, offset: 1 });
    expect(ids(d.json)).toEqual(sortedIds.slice(0, 20));
    const huge = await get(url, '/api/v3/work_packages?filters=[]&pageSize=100000');
    expect(huge.json.pageSize).toBe(1000);
    expect(ids(huge.json)).toEqual(sortedIds.slice(0, 1000));
    expect((await get(url, '/api/v3/work_packages?filters=[]&pageSize=-1')).json.pageSize).toBe(1000);
    const zero = await get(url, '/api/v3/work_packages?filters=[]&pageSize=0');
    expect(zero.json).toMatchObject({ total: sortedIds.length, count: 0, pageSize: 0 });
    expect(emb(zero.json)).toEqual([]);
    expect(links(zero.json).nextByOffset).toBeUndefined();
  });

  it('honours a lower apiv3_max_page_size', async () => {
    const small = await startSimulator({ dataset: data, maxPageSize: 50 });
    try {
      const r = await get(small.url, '/api/v3/work_packages?filters=[]&pageSize=1000', {});
      expect(r.json.pageSize).toBe(50);
      expect(ids(r.json)).toHaveLength(Math.min(50, sortedIds.length));
    } finally {
      await small.close();
    }
  });

  it('treats offset as a 1-based page number (missing, 0, negative, garbage → 1)', async () => {
    for (const o of ['', '&offset=0', '&offset=-3', '&offset=abc']) {
      const r = await get(url, `/api/v3/work_packages?filters=[]&pageSize=5${o}`);
      expect(r.json.offset).toBe(1);
      expect(ids(r.json)).toEqual(sortedIds.slice(0, 5));
    }
    const p3 = await get(url, '/api/v3/work_packages?filters=[]&pageSize=5&offset=3');
    expect(ids(p3.json)).toEqual(sortedIds.slice(10, 15));
    const beyond = await get(url, `/api/v3/work_packages?filters=[]&pageSize=5&offset=${Math.ceil(sortedIds.length / 5) + 2}`);
    expect(beyond.json).toMatchObject({ total: sortedIds.length, count: 0 });
  });

  it('links nextByOffset only while offset*pageSize < total; following it reads everything once', async () => {
    const size = 100;
    const seen: number[] = [];
    let next: string | undefined = `/api/v3/work_packages?filters=${q([])}&pageSize=${size}`;
    let page = 0;
    while (next) {
      page += 1;
      const r = await get(url, next);
      expect(r.json.offset).toBe(page);
      seen.push(...ids(r.json));
      const l = links(r.json);
      expect(l.previousByOffset === undefined).toBe(page === 1);
      expect(l.nextByOffset !== undefined).toBe(page * size < sortedIds.length);
      expect(l.jumpTo!.templated).toBe(true);
      expect(l.jumpTo!.href).toContain('offset=%7Boffset%7D');
      expect(l.changeSize!.href).toContain('pageSize=%7Bsize%7D');
      // Rails to_query: keys sorted, values CGI-escaped.
      const keys = [...new URL(l.self!.href, url).searchParams.keys()];
      expect(keys).toEqual([...keys].sort());
      expect(l.self!.href).toContain('filters=%5B%5D');
      next = l.nextByOffset?.href;
    }
    expect(page).toBe(Math.ceil(sortedIds.length / size));
    expect(seen).toEqual(sortedIds);
  });

  it('elements carry no _embedded; they are the stored work packages plus the page-union custom fields, empty', async () => {
    const r = await get(url, '/api/v3/work_packages?filters=[]&pageSize=50');
    let injected = 0;
    for (const el of emb(r.json)) {
      const stored = data.workPackages.get(el.id as number)!;
      expect(el._embedded).toBeUndefined();
      // The work package's own keys first, in their stored order, with their stored values.
      expect(Object.keys(el).slice(0, Object.keys(stored).length)).toEqual(Object.keys(stored));
      for (const [k, v] of Object.entries(stored)) expect(el[k], k).toEqual(k === '_links' ? expect.objectContaining(v as Obj) : v);
      const own = new Set((data.instance.schemas[String((stored._links.schema as { href: string }).href).split('/').pop()!] ?? []).map((n) => `customField${n}`));
      for (const k of Object.keys(el).filter((k) => !(k in stored))) {
        expect(k).toMatch(/^customField\d+$/);
        expect(own.has(k)).toBe(false);
        expect(el[k]).toBeNull();
        injected++;
      }
    }
    expect(injected).toBeGreaterThan(0);
  });
});

describe('work package lists: filters, sort, select', () => {
  const total = async (filters: unknown, extra = ''): Promise<number> => (await get(url, `/api/v3/work_packages?pageSize=0&filters=${q(filters)}${extra}`)).json.total as number;
  const idsOf = async (filters: unknown, extra = ''): Promise<number[]> => ids((await get(url, `/api/v3/work_packages?pageSize=-1&filters=${q(filters)}${extra}`)).json);

  it('applies "status is open" when filters is absent, and everything for []', async () => {
    const open = wps().filter((w) => !closedStatus.has(linkId(w, 'status'))).map((w) => w.id);
    expect(open.length).toBeLessThan(sortedIds.length);
    expect(ids((await get(url, '/api/v3/work_packages?pageSize=-1')).json)).toEqual(open);
    expect(await idsOf([])).toEqual(sortedIds);
    const self = links((await get(url, '/api/v3/work_packages?pageSize=5')).json).self!.href;
    expect(decodeURIComponent(self)).toContain('"operator":"o"');
  });

  // Issue 22: a real server answers an id filter from its primary key index; the simulator
  // scanned every work package for each id question (a sync's targeted run asks one per source).
  it('an `id =` filter reads only the listed rows (the other filters still apply to them)', async () => {
    const own = await startSimulator({ dataset: await loadDataset(DATASET), apiKey: KEY });
    try {
      const [a, b, c] = [...own.dataset.workPackages.keys()].sort((x, y) => x - y);
      let touched = 0;
      const other = own.dataset.workPackages.get(c!)!;
      const otherId = other.id;
      Object.defineProperty(other, 'id', { get: () => ((touched += 1), otherId), enumerable: true, configurable: true });
      const project = linkId(own.dataset.workPackages.get(a!)!, 'project');
      const r = await get(own.url, `/api/v3/work_packages?pageSize=-1&filters=${q([{ project: { operator: '=', values: [String(project)] } }, { id: { operator: '=', values: [String(b), String(a)] } }])}&includeSubprojects=false`);
      expect(ids(r.json)).toEqual([a, b].filter((id) => linkId(own.dataset.workPackages.get(id!)!, 'project') === project));
      expect(touched).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('type / status / project / id with =, !, o, c, *, !*', async () => {
    const byLink = (rel: string, pred: (id: number) => boolean): number[] => wps().filter((w) => pred(linkId(w, rel))).map((w) => w.id);
    const aType = linkId(wps()[0]!, 'type');
    expect(await idsOf([{ type: { operator: '=', values: [String(aType)] } }])).toEqual(byLink('type', (t) => t === aType));
    expect(await idsOf([{ type_id: { operator: '!', values: [String(aType)] } }])).toEqual(byLink('type', (t) => t !== aType));
    expect(await idsOf([{ status: { operator: 'c', values: [] } }])).toEqual(byLink('status', (s) => closedStatus.has(s)));
    expect(await idsOf([{ status_id: { operator: 'o', values: [] } }])).toEqual(byLink('status', (s) => !closedStatus.has(s)));
    expect(await idsOf([{ status: { operator: '=', values: ['1', '2'] } }])).toEqual(byLink('status', (s) => s === 1 || s === 2));
    expect(await total([{ status: { operator: '*', values: [] } }])).toBe(sortedIds.length);
    expect(await total([{ status: { operator: '!*', values: [] } }])).toBe(0);
    const project = data.instance.projects[1]!;
    const inProject = byLink('project', (p) => p === project.id);
    expect(inProject.length).toBeGreaterThan(0);
    expect(await idsOf([{ project: { operator: '=', values: [String(project.id)] } }])).toEqual(inProject);
    // Project-scoped endpoint, by identifier and by id, with the same semantics.
    expect(ids((await get(url, `/api/v3/projects/${String(project.identifier)}/work_packages?pageSize=-1&filters=[]`)).json)).toEqual(inProject);
    expect(ids((await get(url, `/api/v3/projects/${String(project.id)}/work_packages?pageSize=-1&filters=[]`)).json)).toEqual(inProject);
    expect((await get(url, '/api/v3/projects/nope/work_packages')).status).toBe(404);
    expect(await idsOf([{ id: { operator: '=', values: [sortedIds[3]!, sortedIds[1]!].map(String) } }])).toEqual([sortedIds[1], sortedIds[3]]);
    // ANDed.
    expect(await idsOf([{ type: { operator: '=', values: [String(aType)] } }, { status: { operator: 'c', values: [] } }])).toEqual(
      wps().filter((w) => linkId(w, 'type') === aType && closedStatus.has(linkId(w, 'status'))).map((w) => w.id),
    );
  });

  it('updatedAt / createdAt: <>d (open ends), =d, at microsecond precision', async () => {
    const stamps = wps().map((w) => ({ id: w.id, u: norm(w.updatedAt), c: norm(w.createdAt) }));
    const mid = [...stamps].sort((a, b) => (a.u < b.u ? -1 : 1))[Math.floor(stamps.length / 2)]!;
    const from = data.workPackages.get(mid.id)!.updatedAt;
    const since = stamps.filter((s) => s.u >= mid.u).map((s) => s.id);
    expect(await idsOf([{ updatedAt: { operator: '<>d', values: [from, ''] } }])).toEqual(since);
    expect(await idsOf([{ updatedAt: { operator: '<>d', values: ['', from] } }])).toEqual(stamps.filter((s) => s.u <= mid.u).map((s) => s.id));
    const day = from.slice(0, 10);
    expect(await idsOf([{ createdAt: { operator: '=d', values: [day] } }])).toEqual(stamps.filter((s) => s.c.startsWith(day)).map((s) => s.id));
    const lo = stamps[0]!.c;
    const hi = stamps[stamps.length - 1]!.c;
    const [a, b] = lo < hi ? [lo, hi] : [hi, lo];
    expect(await idsOf([{ createdAt: { operator: '<>d', values: [a, b] } }])).toEqual(stamps.filter((s) => s.c >= a && s.c <= b).map((s) => s.id));
    // A watermark one microsecond after a 6-digit stamp excludes that item (Date.parse would not).
    const six = stamps.find((s) => /\.\d{6}Z$/.test(data.workPackages.get(s.id)!.updatedAt) && !/000Z$/.test(s.u));
    if (six) {
      const after = `${six.u.slice(0, 20)}${String(Number(six.u.slice(20, 26)) + 1).padStart(6, '0')}Z`;
      const got = await idsOf([{ updatedAt: { operator: '<>d', values: [after, ''] } }, { id: { operator: '=', values: [String(six.id)] } }]);
      expect(got).toEqual([]);
      expect(await idsOf([{ updatedAt: { operator: '<>d', values: [six.u, ''] } }, { id: { operator: '=', values: [String(six.id)] } }])).toEqual([six.id]);
    }
  });

  it('rejects bad filters with 400 InvalidQuery', async () => {
    const bad = ['[{"type":', q({ type: { operator: '=', values: ['1'] } }), q([{ nonsense: { operator: '=', values: ['1'] } }]), q([{ type: { operator: 'o', values: [] } }]), q([{ type: { operator: '~~', values: ['1'] } }]), q([{ updatedAt: { operator: '<>d', values: ['yesterday', ''] } }]), q([{ type: { operator: '=', values: [3] } }])];
    for (const f of bad) {
      const r = await get(url, `/api/v3/work_packages?filters=${f}`);
      expect(r.status, f).toBe(400);
      expect(r.json).toMatchObject({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:InvalidQuery' });
      expect(r.headers.get('content-type')).toBe('application/hal+json; charset=utf-8');
    }
  });

  it('sorts by id, updatedAt, createdAt and subject; bad sortBy → 400', async () => {
    const byUpdated = wps()
      .map((w) => ({ id: w.id, u: norm(w.updatedAt) }))
      .sort((a, b) => (a.u < b.u ? 1 : a.u > b.u ? -1 : a.id - b.id))
      .map((s) => s.id);
    expect(await idsOf([], `&sortBy=${q([['updatedAt', 'desc']])}`)).toEqual(byUpdated);
    expect(await idsOf([], `&sortBy=${q([['id', 'desc']])}`)).toEqual([...sortedIds].reverse());
    const created = (await idsOf([], `&sortBy=${q([['createdAt', 'asc'], ['id', 'asc']])}`)).map((id) => norm(data.workPackages.get(id)!.createdAt));
    expect(created).toEqual([...created].sort());
    const subjects = (await idsOf([], `&sortBy=${q([['subject', 'asc']])}`)).map((id) => String(data.workPackages.get(id)!.subject).toLowerCase());
    for (let i = 1; i < subjects.length; i++) expect(subjects[i - 1]! <= subjects[i]!).toBe(true);
    expect((await get(url, `/api/v3/work_packages?sortBy=${q([['priority', 'asc']])}`)).status).toBe(400);
    expect((await get(url, '/api/v3/work_packages?sortBy=[[')).status).toBe(400);
  });

  it('select renders the small SQL shape; unsupported keys → 400 InvalidSignal', async () => {
    const r = await get(url, `/api/v3/work_packages?filters=[]&pageSize=10&offset=2&select=total,elements/id`);
    // Only what was selected (lib/api/decorators/sql/hal.rb): no _type, count, pageSize, offset, _links.
    expect(Object.keys(r.json).sort()).toEqual(['_embedded', 'total']);
    expect(r.json.total).toBe(sortedIds.length);
    expect(ids(r.json)).toEqual(sortedIds.slice(10, 20));
    expect((r.json._embedded as Obj).schemas).toBeUndefined();
    // Only what was selected: an id listing is ids and nothing else.
    for (const el of emb(r.json)) expect(Object.keys(el)).toEqual(['id']);
    const wide = await get(url, `/api/v3/work_packages?filters=[]&pageSize=10&offset=2&select=total,elements/*`);
    for (const el of emb(wide.json)) {
      for (const k of Object.keys(el)) expect(['_type', 'id', 'subject', 'startDate', 'dueDate', 'date', '_links']).toContain(k);
      expect(Object.keys(el._links as Obj)).toEqual(expect.arrayContaining(['author', 'project', 'self']));
    }
    const some = await get(url, `/api/v3/work_packages?filters=[]&pageSize=10&offset=2&select=elements/id,elements/subject,elements/self`);
    for (const el of emb(some.json)) expect(Object.keys(el).sort()).toEqual(['_links', 'id', 'subject']);
    const linked = await get(url, `/api/v3/work_packages?filters=[]&pageSize=10&offset=2&select=total,count,elements/id,nextByOffset`);
    expect(Object.keys(linked.json).sort()).toEqual(['_embedded', '_links', 'count', 'total']);
    expect(Object.keys(links(linked.json))).toEqual(['nextByOffset']);
    expect(links(linked.json).nextByOffset!.href).toContain('select=total%2Ccount%2Celements%2Fid%2CnextByOffset');
    for (const s of ['elements/updatedAt', 'elements/customField1', 'total,elements/description']) {
      const bad = await get(url, `/api/v3/work_packages?select=${encodeURIComponent(s)}`);
      expect(bad.status).toBe(400);
      expect(bad.json.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:InvalidSignal');
    }
  });
});

describe('schemas', () => {
  const expectedFields = (key: string): Record<string, string> =>
    Object.fromEntries((data.instance.schemas[key] ?? []).map((id) => [`customField${id}`, data.instance.customFields.find((f) => f.id === id)!.name]));

  it('embeds the schema of every (project, type) on the page, with custom field names and types', async () => {
    const r = await get(url, '/api/v3/work_packages?filters=[]&pageSize=200');
    const pageKeys = new Set(emb(r.json).map((e) => String((e._links as { schema: { href: string } }).schema.href).split('/').pop()!));
    const schemas = emb((r.json._embedded as { schemas: Obj }).schemas);
    expect(new Set(schemas.map((s) => links(s).self!.href.split('/').pop()))).toEqual(pageKeys);
    for (const s of schemas) {
      expect(s._type).toBe('Schema');
      const key = links(s).self!.href.split('/').pop()!;
      const names = Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('customField')).map(([k, v]) => [k, (v as { name: string }).name]));
      expect(names).toEqual(expectedFields(key));
      for (const [k, v] of Object.entries(s)) {
        if (!k.startsWith('customField')) continue;
        const f = data.instance.customFields.find((c) => `customField${c.id}` === k)!;
        const want = { string: 'String', bool: 'Boolean', link: 'Link', text: 'Formattable', int: 'Integer', float: 'Float', date: 'Date', list: 'CustomOption', user: 'User', version: 'Version' }[f.fieldFormat];
        expect(v).toMatchObject({ type: want, required: false, hasDefault: false, writable: true });
      }
    }
    expect(decodeURIComponent(links(r.json).schemas!.href)).toContain('"operator":"="');
  });

  it('serves one schema, a filtered schema collection, and 404 for unknown keys', async () => {
    const key = Object.keys(data.instance.schemas).find((k) => (data.instance.schemas[k] ?? []).length > 2)!;
    const one = await get(url, `/api/v3/work_packages/schemas/${key}`);
    expect(one.status).toBe(200);
    expect(Object.fromEntries(Object.entries(one.json).filter(([k]) => k.startsWith('customField')).map(([k, v]) => [k, (v as { name: string }).name]))).toEqual(expectedFields(key));
    const missing = await get(url, '/api/v3/work_packages/schemas/999-999');
    expect(missing.status).toBe(404);
    expect(missing.json.message).toBe('The specified schema does not exist.');
    const keys = Object.keys(data.instance.schemas).slice(0, 2);
    const many = await get(url, `/api/v3/work_packages/schemas?filters=${q([{ id: { operator: '=', values: [...keys, '999-999'] } }])}`);
    expect(many.json._type).toBe('Collection');
    expect(emb(many.json).map((s) => links(s).self!.href.split('/').pop())).toEqual(keys);
    expect((await get(url, '/api/v3/work_packages/schemas')).status).toBe(400);
  });

  // fuzz:sync seed 347077706: a custom field renamed while no request rendered a schema, then
  // the server restored from a backup taken before the rename; a schema rendered for the first
  // time afterwards (a project/type pair a new work package enables) showed the undone name.
  it('a rename undone by a restore before any request: schemas rendered afterwards show the restored name', async () => {
    const own = await startSimulator({ dataset: cloneDataset(data), apiKey: KEY });
    try {
      const backup = cloneDataset(own.dataset);
      const { schemas, projects, customFields } = own.dataset.instance;
      // A schema with a custom field, whose type some project does not have enabled yet.
      const missing = (k: string): JsonObject | undefined => projects.find((p) => !schemas[`${String(p.id)}-${k.split('-')[1]!}`]);
      const key = Object.keys(schemas).find((k) => schemas[k]!.length > 0 && missing(k))!;
      const field = { ...customFields.find((f) => f.id === schemas[key]![0])! };
      const fieldName = async (k: string): Promise<string | undefined> => ((await get(own.url, `/api/v3/work_packages/schemas/${k}`)).json[`customField${field.id}`] as { name?: string } | undefined)?.name;
      expect(await fieldName(key)).toBe(field.name);
      renameCustomField(own, field.id, `${field.name} (renamed)`);
      restoreSnapshot(own, backup);
      // The schema's type enabled in a project that does not have it yet (a new work package there).
      const typeId = Number(key.split('-')[1]);
      const project = missing(key)!;
      const template = [...own.dataset.workPackages.keys()][0]!;
      createWorkPackage(own, template, { subject: 'New', projectId: Number(project.id), typeId });
      expect(await fieldName(`${String(project.id)}-${typeId}`)).toBe(field.name);
      expect(await fieldName(key)).toBe(field.name);
    } finally {
      await own.close();
    }
  });
});

describe('single work packages and attachments', () => {
  const withAttachments = (): WorkPackageJson => wps().find((w) => attachmentsOf(w.id).length >= 2)!;

  it('GET /work_packages/:id embeds type, status, project, author and the attachments collection', async () => {
    const wp = withAttachments();
    const r = await get(url, `/api/v3/work_packages/${wp.id}`);
    expect(r.json.id).toBe(wp.id);
    const e = r.json._embedded as Record<string, Obj>;
    expect(e.type!.id).toBe(linkId(wp, 'type'));
    expect(e.status!.id).toBe(linkId(wp, 'status'));
    expect(e.project!.id).toBe(linkId(wp, 'project'));
    expect(e.attachments).toMatchObject({ _type: 'Collection', total: attachmentsOf(wp.id).length });
    const missing = await get(url, '/api/v3/work_packages/999999999');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:NotFound', message: 'The requested resource could not be found.' });
  });

  it('lists a work package\'s attachments unpaginated, serves each by id, 404 for a missing container', async () => {
    const wp = withAttachments();
    const r = await get(url, `/api/v3/work_packages/${wp.id}/attachments`);
    const want = attachmentsOf(wp.id).sort((a, b) => a.id - b.id);
    expect(r.json).toMatchObject({ _type: 'Collection', total: want.length, count: want.length });
    expect(emb(r.json)).toEqual(want);
    expect((await get(url, `/api/v3/attachments/${want[0]!.id}`)).json).toEqual(want[0]);
    expect((await get(url, '/api/v3/work_packages/999999999/attachments')).status).toBe(404);
    expect((await get(url, '/api/v3/attachments/999999999')).status).toBe(404);
    expect((await get(url, '/api/v3/attachments/999999999/content')).status).toBe(404);
  });

  it('serves content inline with md5-exact bytes and README §4 headers', async () => {
    const metas = [...data.attachments.values()].map((a) => a.meta);
    const png = metas.find((m) => m.contentType === 'image/png')!;
    const other = metas.find((m) => m.contentType === 'application/json' || m.contentType === 'application/pdf')!;
    for (const m of [png, other]) {
      const res = await fetch(`${url}/api/v3/attachments/${m.id}/content`, { headers: BEARER });
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(bytes.length).toBe(m.fileSize);
      expect(md5(bytes)).toBe((m.digest as { hash: string }).hash);
      expect(res.headers.get('content-length')).toBe(String(m.fileSize));
      if (m === png) {
        expect(res.headers.get('content-type')).toBe('image/png');
        expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="/);
      } else {
        expect(res.headers.get('content-type')).toBe('application/octet-stream');
        expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
      }
    }
  });

  it('redirect mode: 302 to a signed storage URL that refuses Authorization and expires', async () => {
    let now = Date.parse('2025-06-01T00:00:00Z');
    const s3 = await startSimulator({ dataset: data, apiKey: KEY, downloads: 'redirect', clock: () => new Date(now), signedUrlTtlSeconds: 600 });
    try {
      const m = [...data.attachments.values()][0]!.meta;
      const res = await fetch(`${s3.url}/api/v3/attachments/${m.id}/content`, { headers: BEARER, redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${s3.storageUrl}/bucket/${m.id}?expires=`)).toBe(true);
      expect(new URL(location).origin).not.toBe(new URL(s3.url).origin);
      const ok = await fetch(location);
      expect(md5(new Uint8Array(await ok.arrayBuffer()))).toBe((m.digest as { hash: string }).hash);
      const leaked = await fetch(location, { headers: BEARER });
      expect(leaked.status).toBe(400);
      expect(await leaked.text()).toContain('<Code>InvalidArgument</Code>');
      const tampered = await fetch(location.replace(/signature=[0-9a-f]/, 'signature=z'));
      expect(tampered.status).toBe(403);
      now += 601_000;
      const expired = await fetch(location);
      expect(expired.status).toBe(403);
      expect(await expired.text()).toContain('Request has expired');
      const storage = s3.log().filter((r) => r.origin === 'storage');
      expect(storage.map((r) => [r.status, r.authorization])).toEqual([
        [200, false],
        [400, true],
        [403, false],
        [403, false],
      ]);
      expect(storage.every((r) => r.route === 'storage')).toBe(true);
    } finally {
      await s3.close();
    }
  });
});

describe('authentication', () => {
  it('401 Unauthenticated without or with wrong credentials; Basic apikey:<key> and Bearer work', async () => {
    const none = await get(url, '/api/v3/work_packages', {});
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:Unauthenticated', message: 'You need to be authenticated to access this resource.' });
    expect(none.headers.get('www-authenticate')).toContain('Basic realm="OpenProject API"');
    const badBasic = await get(url, '/api/v3/types', { authorization: `Basic ${Buffer.from('apikey:wrong').toString('base64')}` });
    expect(badBasic.status).toBe(401);
    expect(badBasic.json.message).toBe('You did not provide the correct credentials.');
    const wrongUser = await get(url, '/api/v3/types', { authorization: `Basic ${Buffer.from(`admin:${KEY}`).toString('base64')}` });
    expect(wrongUser.status).toBe(401);
    const badBearer = await get(url, '/api/v3/types', { authorization: 'Bearer nope' });
    expect(badBearer.status).toBe(401);
    expect(badBearer.headers.get('www-authenticate')).toMatch(/^Bearer realm="OpenProject API".*error="invalid_token"/);
    expect((await get(url, '/api/v3/types', { authorization: `Basic ${Buffer.from(`apikey:${KEY}`).toString('base64')}` })).status).toBe(200);
    expect((await get(url, '/api/v3/types', BEARER)).status).toBe(200);
    // The key never comes back in a body or header.
    expect(JSON.stringify([none, badBasic, badBearer].map((r) => [r.text, [...r.headers]]))).not.toContain(KEY);
  });

  it('answers other methods with 405 and HEAD like GET without a body', async () => {
    const post = await fetch(`${url}/api/v3/work_packages`, { method: 'POST', headers: BEARER, body: '{}' });
    expect(post.status).toBe(405);
    const head = await fetch(`${url}/api/v3/types`, { method: 'HEAD', headers: BEARER });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
  });
});

describe('faults', () => {
  let f: Simulator;
  beforeAll(async () => {
    f = await startSimulator({ dataset: data, seed: 7 });
  });
  afterAll(async () => f.close());
  const att = (): AttachmentJson => [...data.attachments.values()].map((a) => a.meta).find((m) => m.fileSize > 1000)!;

  it('status faults: HAL error bodies, Retry-After, RateLimit-* (no Retry-After), exactly `times` hits', async () => {
    f.clearFaults();
    f.inject({ route: 'statuses', kind: 'status', status: 503, retryAfter: 3, times: 2 });
    const a = await get(f.url, '/api/v3/statuses', {});
    const b = await get(f.url, '/api/v3/statuses', {});
    const c = await get(f.url, '/api/v3/statuses', {});
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.headers.get('retry-after')).toBe('3');
    expect(a.json).toMatchObject({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:ServiceUnavailable' });
    expect(a.headers.get('content-type')).toBe('application/hal+json; charset=utf-8');
    f.inject({ route: 'types', kind: 'status', status: 429, rateLimitReset: 5, times: 1 });
    const t = await get(f.url, '/api/v3/types', {});
    expect(t.status).toBe(429);
    expect(t.headers.get('retry-after')).toBeNull();
    expect(t.headers.get('ratelimit-remaining')).toBe('0');
    expect(Math.abs(Number(t.headers.get('ratelimit-reset')) - (Date.now() / 1000 + 5))).toBeLessThan(2);
    expect(t.json.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:Throttled');
    for (const status of [500, 502, 504, 404]) {
      f.inject({ route: 'root', kind: 'status', status, times: 1 });
      const r = await get(f.url, '/api/v3', {});
      expect(r.status).toBe(status);
      expect(r.json._type).toBe('Error');
    }
    expect(f.log().slice(-4).map((r) => r.status)).toEqual([500, 502, 504, 404]);
  });

  it('reset, stall, html, invalid-json on API routes', async () => {
    f.clearFaults();
    f.inject({ route: 'types', kind: 'reset', times: 1 });
    await expect(fetch(`${f.url}/api/v3/types`)).rejects.toThrow();
    expect(f.log().at(-1)!.status).toBe(0);
    // The client's abort ends it, long before the stall would: a stall as long as the
    // bound below (400 ms once) left a loaded machine 250 ms to tell the two apart.
    f.inject({ route: 'types', kind: 'stall', stallMs: 5000, times: 1 });
    const t0 = Date.now();
    await expect(fetch(`${f.url}/api/v3/types`, { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(3000);
    const t1 = Date.now();
    f.inject({ route: 'types', kind: 'stall', stallMs: 300, times: 1 });
    await expect(fetch(`${f.url}/api/v3/types`)).rejects.toThrow();
    expect(Date.now() - t1).toBeGreaterThanOrEqual(290);
    f.inject({ route: 'work_packages', kind: 'html', times: 1 });
    const h = await get(f.url, '/api/v3/work_packages', {});
    expect(h.status).toBe(200);
    expect(h.headers.get('content-type')).toMatch(/^text\/html/);
    expect(h.text).toContain('<html');
    f.inject({ route: 'work_packages', kind: 'invalid-json', times: 1 });
    const j = await get(f.url, '/api/v3/work_packages', {});
    expect(j.status).toBe(200);
    expect(() => JSON.parse(j.text) as unknown).toThrow();
    expect((await get(f.url, '/api/v3/work_packages', {})).json._type).toBe('WorkPackageCollection');
  });

  it('truncate and corrupt downloads (content and storage routes)', async () => {
    f.clearFaults();
    const m = att();
    f.inject({ route: 'content', kind: 'truncate', times: 1 });
    const res = await fetch(`${f.url}/api/v3/attachments/${m.id}/content`);
    expect(res.headers.get('content-length')).toBe(String(m.fileSize));
    await expect(res.arrayBuffer()).rejects.toThrow();
    f.inject({ route: 'content', kind: 'corrupt', times: 1 });
    const bad = new Uint8Array(await (await fetch(`${f.url}/api/v3/attachments/${m.id}/content`)).arrayBuffer());
    expect(bad.length).toBe(m.fileSize);
    expect(md5(bad)).not.toBe((m.digest as { hash: string }).hash);
    const good = new Uint8Array(await (await fetch(`${f.url}/api/v3/attachments/${m.id}/content`)).arrayBuffer());
    expect(md5(good)).toBe((m.digest as { hash: string }).hash);

    const s3 = await startSimulator({ dataset: data, downloads: 'redirect' });
    try {
      s3.inject({ route: 'storage', kind: 'corrupt', times: 1 });
      const r1 = await fetch(`${s3.url}/api/v3/attachments/${m.id}/content`);
      expect(r1.redirected).toBe(true);
      expect(md5(new Uint8Array(await r1.arrayBuffer()))).not.toBe((m.digest as { hash: string }).hash);
      s3.inject({ route: 'storage', kind: 'status', status: 503, times: 1 });
      expect((await fetch(`${s3.url}/api/v3/attachments/${m.id}/content`)).status).toBe(503);
    } finally {
      await s3.close();
    }
  });

  it('seeded rate faults are reproducible; match narrows them; clearFaults ends them', async () => {
    const pattern = async (seed: number): Promise<number[]> => {
      const s = await startSimulator({ dataset: data, seed });
      try {
        s.inject({ route: 'types', kind: 'status', status: 502, rate: 0.3 });
        const out: number[] = [];
        for (let i = 0; i < 40; i++) out.push((await fetch(`${s.url}/api/v3/types`)).status);
        return out;
      } finally {
        await s.close();
      }
    };
    const a = await pattern(3);
    expect(await pattern(3)).toEqual(a);
    const hits = a.filter((s) => s === 502).length;
    expect(hits).toBeGreaterThan(3);
    expect(hits).toBeLessThan(25);
    f.clearFaults();
    const target = sortedIds[2]!;
    f.inject({ route: 'work_package', kind: 'status', status: 500, match: (r) => r.path.endsWith(`/${target}`) });
    expect((await fetch(`${f.url}/api/v3/work_packages/${sortedIds[1]}`)).status).toBe(200);
    expect((await fetch(`${f.url}/api/v3/work_packages/${target}`)).status).toBe(500);
    expect((await fetch(`${f.url}/api/v3/work_packages/${target}`)).status).toBe(500);
    f.clearFaults();
    expect((await fetch(`${f.url}/api/v3/work_packages/${target}`)).status).toBe(200);
  });
});

describe('latency model', () => {
  it('adds latencyMs to every request, concurrently (timers, not busy waiting), and perElementMs per rendered element', async () => {
    const slow = await startSimulator({ dataset: data, latencyMs: 150, perElementMs: 3 });
    try {
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 6 }, () => fetch(`${slow.url}/api/v3/types`).then((r) => r.text())));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
      // Concurrently: the server held several of the six at once (its log, arrival to
      // response); a busy wait would serve one at a time. Not a wall-clock bound: a busy
      // machine stretches those.
      const held = slow.log().flatMap((r) => [[r.startMs, 1], [r.endMs!, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let inFlight = 0;
      let most = 0;
      for (const [, d] of held) most = Math.max(most, (inFlight += d));
      expect(most).toBeGreaterThanOrEqual(3);
      const t1 = Date.now();
      const rendered = Math.min(100, sortedIds.length);
      await (await fetch(`${slow.url}/api/v3/work_packages?filters=[]&pageSize=100`)).text();
      const renderedMs = Date.now() - t1;
      expect(renderedMs).toBeGreaterThanOrEqual(150 + rendered * 3 - 5);
      const t2 = Date.now();
      await (await fetch(`${slow.url}/api/v3/work_packages?filters=[]&pageSize=100&select=total,elements/id`)).text();
      // The select path adds no per-element delay: faster than the same page rendered, which
      // waited rendered × 3 ms more (compared with each other, not with a fixed bound).
      expect(Date.now() - t2).toBeLessThan(renderedMs);
    } finally {
      await slow.close();
    }
  });
});

describe('mutations', () => {
  let m: Simulator;
  let now = Date.parse('2026-01-02T03:04:05.678Z');
  beforeAll(async () => {
    m = await startSimulator({ dataset: await loadDataset(DATASET), clock: () => new Date(now) });
  });
  afterAll(async () => m.close());

  it('updateWorkPackage bumps updatedAt (server clock, strictly increasing, 3-digit ms Z) and lockVersion; visible at once', async () => {
    const id = sortedIds[5]!;
    const before = structuredClone(m.dataset.workPackages.get(id)!);
    m.updateWorkPackage(id, (wp) => {
      wp.subject = 'Changed subject';
    });
    const got = (await get(m.url, `/api/v3/work_packages/${id}`, {})).json;
    expect(got.subject).toBe('Changed subject');
    expect(got.updatedAt).toBe('2026-01-02T03:04:05.678Z');
    expect(got.lockVersion).toBe(Number(before.lockVersion) + 1);
    m.updateWorkPackage(sortedIds[6]!, () => undefined); // same clock reading → still later
    expect(m.dataset.workPackages.get(sortedIds[6]!)!.updatedAt).toBe('2026-01-02T03:04:05.679Z');
    const since = await get(m.url, `/api/v3/work_packages?pageSize=-1&filters=${q([{ updatedAt: { operator: '<>d', values: ['2026-01-02T03:04:05.678Z', ''] } }])}`, {});
    expect(ids(since.json)).toEqual([id, sortedIds[6]]);
  });

  it('add/delete attachments and replace content: served at once, container updatedAt bumped', async () => {
    now += 1000;
    const id = sortedIds[7]!;
    const bytes = Buffer.from('hello attachment');
    const a = m.addAttachment(id, { fileName: 'Extra.png' }, bytes);
    expect(a).toMatchObject({ fileName: 'Extra.png', fileSize: bytes.length, contentType: 'image/png', digest: { algorithm: 'md5', hash: md5(bytes) } });
    expect((a._links as Record<string, { href: string }>).container!.href).toBe(`/api/v3/work_packages/${id}`);
    expect(m.dataset.workPackages.get(id)!.updatedAt).toBe(new Date(now).toISOString());
    const list = await get(m.url, `/api/v3/work_packages/${id}/attachments`, {});
    expect(ids(list.json)).toContain(a.id);
    expect(Buffer.from(await (await fetch(`${m.url}/api/v3/attachments/${a.id}/content`)).arrayBuffer()).equals(bytes)).toBe(true);
    const next = Buffer.from('replaced bytes, longer than before');
    m.setAttachmentContent(a.id, next);
    const meta = (await get(m.url, `/api/v3/attachments/${a.id}`, {})).json;
    expect(meta).toMatchObject({ fileSize: next.length, digest: { hash: md5(next) } });
    now += 1000;
    m.deleteAttachment(a.id);
    expect((await get(m.url, `/api/v3/attachments/${a.id}`, {})).status).toBe(404);
    expect(ids((await get(m.url, `/api/v3/work_packages/${id}/attachments`, {})).json)).not.toContain(a.id);
    expect(m.dataset.workPackages.get(id)!.updatedAt).toBe(new Date(now).toISOString());
  });

  it('addWorkPackage / deleteWorkPackage change listings; onListPage mutates between pages', async () => {
    const base = structuredClone(m.dataset.workPackages.get(sortedIds[0]!)!);
    const newId = sortedIds[sortedIds.length - 1]! + 100;
    const wp = { ...base, id: newId, _links: { ...base._links, self: { href: `/api/v3/work_packages/${newId}` } } } as WorkPackageJson;
    m.addWorkPackage(wp, [{ meta: { _type: 'Attachment', id: 9_000_001, fileName: 'x.txt', fileSize: 1, contentType: 'text/plain', _links: {} } as AttachmentJson, content: Buffer.from('x') }]);
    expect(ids((await get(m.url, `/api/v3/work_packages?pageSize=-1&filters=${q([{ id: { operator: '=', values: [String(newId)] } }])}`, {})).json)).toEqual([newId]);
    expect(ids((await get(m.url, `/api/v3/work_packages/${newId}/attachments`, {})).json)).toEqual([9_000_001]);
    const victim = sortedIds[0]!;
    const victimAtts = attachmentsOf(victim).map((a) => a.id);
    m.deleteWorkPackage(victim);
    expect((await get(m.url, `/api/v3/work_packages/${victim}`, {})).status).toBe(404);
    for (const a of victimAtts) expect((await get(m.url, `/api/v3/attachments/${a}`, {})).status).toBe(404);
    const count = (await get(m.url, '/api/v3/work_packages?filters=[]&pageSize=0', {})).json.total;
    expect(count).toBe(sortedIds.length); // one added, one deleted

    // Between page 1 and page 2 the first listed item disappears: offset paging skips one.
    const seenPages: number[] = [];
    m.onListPage((page) => {
      seenPages.push(page);
      if (page === 2) m.deleteWorkPackage(sortedIds[1]!);
    });
    const p1 = ids((await get(m.url, '/api/v3/work_packages?filters=[]&pageSize=10&offset=1', {})).json);
    const p2 = ids((await get(m.url, '/api/v3/work_packages?filters=[]&pageSize=10&offset=2', {})).json);
    m.onListPage(null);
    expect(seenPages).toEqual([1, 2]);
    expect(p1[0]).toBe(sortedIds[1]);
    expect(p2[0]).toBe(sortedIds[12]); // sortedIds[11] slid onto page 1 and was never listed
  });
});

describe('counting and concurrency', () => {
  it('counts requests by route and logs auth presence', async () => {
    sim.resetCounts();
    const some = sortedIds[0]!;
    const att = [...data.attachments.values()][0]!.meta;
    await Promise.all([
      get(url, '/api/v3/work_packages?filters=[]&pageSize=1'),
      get(url, '/api/v3/work_packages?filters=[]&pageSize=1&offset=2'),
      get(url, `/api/v3/work_packages/${some}`),
      get(url, `/api/v3/work_packages/${some}/attachments`),
      get(url, `/api/v3/attachments/${att.id}`),
      fetch(`${url}/api/v3/attachments/${att.id}/content`, { headers: BEARER }).then((r) => r.arrayBuffer()),
      get(url, '/api/v3/work_packages/schemas/1-3'),
      get(url, '/api/v3/projects'),
      get(url, '/api/v3/types', {}),
    ]);
    expect(sim.counts()).toEqual({ total: 9, byRoute: { work_packages: 2, work_package: 1, attachments: 1, attachment: 1, content: 1, schema: 1, projects: 1, types: 1 } });
    const typesRec = sim.log().find((r) => r.route === 'types')!;
    expect(typesRec).toMatchObject({ method: 'GET', path: '/api/v3/types', status: 401, authorization: false, origin: 'api' });
    expect(sim.log().filter((r) => r.route !== 'types').every((r) => r.authorization && r.status === 200)).toBe(true);
    sim.resetCounts();
    expect(sim.counts()).toEqual({ total: 0, byRoute: {} });
  });

  it('serves 30 concurrent full pages of up to 1000 work packages quickly', async () => {
    const t0 = Date.now();
    const pages = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(url, `/api/v3/work_packages?filters=[]&pageSize=1000&offset=1&sortBy=${q([[i % 2 ? 'updatedAt' : 'id', 'asc']])}`)),
    );
    expect(pages.every((p) => p.status === 200 && p.json.count === Math.min(1000, sortedIds.length))).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8000);
  });
});

describe('CLI', () => {
  it('prints the URL, serves a generated dataset with a key, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'simulator', 'cli.ts'), '--generate', '25', '--port', '0', '--api-key', KEY], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15_000);
        const poll = setInterval(() => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          // The banner can arrive in several chunks: wait for its last line.
          if (m && out.includes('Stop with Ctrl-C')) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }, 50);
      });
      expect(out).toContain(`OPENPROJECT_URL=${base}`);
      expect(out).not.toContain(KEY);
      expect((await get(base, '/api/v3/work_packages?filters=[]&pageSize=0')).json.total).toBe(25);
      expect((await get(base, '/api/v3/types', {})).status).toBe(401);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
