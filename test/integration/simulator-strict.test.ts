// The simulator is as strict as a real OpenProject server by default (issue 13): each
// behaviour here is one the old, lenient simulator did not have, so each test fails against
// it. The OpenProject source file each one mirrors is cited in src/simulator.
import { afterEach, describe, expect, it } from 'vitest';
import { loadDataset, startSimulator, type Dataset, type JsonObject, type Simulator, type SimulatorOptions, type WorkPackageJson } from '../../src/simulator/index.js';
import { FIXTURE_DATASET } from '../helpers/env.js';

type Obj = Record<string, unknown>;
const KEY = 'opapi-strict-test-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const q = (v: unknown): string => encodeURIComponent(JSON.stringify(v));

let sim: Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function start(options: Partial<SimulatorOptions> = {}, edit?: (d: Dataset) => void): Promise<{ sim: Simulator; data: Dataset; get: (p: string, headers?: Record<string, string>) => Promise<{ status: number; json: Obj }> }> {
  const data = await loadDataset(FIXTURE_DATASET);
  edit?.(data);
  sim = await startSimulator({ dataset: data, apiKey: KEY, ...options });
  const base = sim.url;
  const get = async (p: string, headers: Record<string, string> = AUTH): Promise<{ status: number; json: Obj }> => {
    const res = await fetch(`${base}${p}`, { headers });
    const text = await res.text();
    let json: Obj = {};
    try {
      json = JSON.parse(text) as Obj;
    } catch {
      /* content bodies are not JSON */
    }
    return { status: res.status, json };
  };
  return { sim, data, get };
}

const ids = (j: Obj): number[] => (j._embedded as { elements: { id: number }[] }).elements.map((e) => e.id);

/** Project 2 becomes a subproject of project 1. */
const nest = (d: Dataset): void => {
  const child = d.instance.projects.find((p) => p.id === 2)!;
  child._links = { ...(child._links as JsonObject), parent: { href: '/api/v3/projects/1', title: 'parent' } };
};
const inProject = (d: Dataset, p: number): number[] =>
  [...d.workPackages.values()]
    .filter((w) => (w._links.project as { href: string }).href === `/api/v3/projects/${p}`)
    .map((w) => w.id)
    .sort((a, b) => a - b);

describe('strict filters', () => {
  it('an id filter naming one unknown id is 400 InvalidQuery for the whole request (huge_list.rb)', async () => {
    const { data, get } = await start();
    const known = [...data.workPackages.keys()].slice(0, 2).map(String);
    expect((await get(`/api/v3/work_packages?filters=${q([{ id: { operator: '=', values: known } }])}`)).status).toBe(200);
    const r = await get(`/api/v3/work_packages?filters=${q([{ id: { operator: '=', values: [...known, '999999'] } }])}`);
    expect(r.status).toBe(400);
    expect(r.json.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:InvalidQuery');
  });

  it('a project, type or status the key cannot name (unknown, archived) is 400, not an empty list (list.rb)', async () => {
    const { get } = await start({}, (d) => {
      d.instance.projects.find((p) => p.id === 3)!.active = false;
    });
    for (const f of [{ project: { operator: '=', values: ['3'] } }, { project: { operator: '=', values: ['77'] } }, { type: { operator: '=', values: ['77'] } }, { status: { operator: '=', values: ['77'] } }]) {
      const r = await get(`/api/v3/work_packages?filters=${q([f])}`);
      expect(r.status, JSON.stringify(f)).toBe(400);
      expect(r.json.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:InvalidQuery');
    }
    // The archived project is not listed either.
    const projects = (await get('/api/v3/projects?pageSize=100')).json;
    expect((projects._embedded as { elements: { id: number }[] }).elements.map((p) => p.id)).not.toContain(3);
  });

  it('the old leniency is there only when a test names it', async () => {
    const { get } = await start({ lenient: ['filter-values', 'date-operators'] });
    expect((await get(`/api/v3/work_packages?filters=${q([{ id: { operator: '=', values: ['999999'] } }])}`)).json.total).toBe(0);
    expect((await get(`/api/v3/work_packages?filters=${q([{ updatedAt: { operator: '>=', values: ['2020-01-01T00:00:00Z'] } }])}`)).status).toBe(200);
  });

  it('updatedAt takes only the DateTimePast operators (date_time_past.rb)', async () => {
    const { get } = await start();
    for (const [op, values] of [['>=', ['2020-01-01T00:00:00Z']], ['<=', ['2020-01-01T00:00:00Z']], ['*', []], ['!*', []]] as const) {
      expect((await get(`/api/v3/work_packages?filters=${q([{ updatedAt: { operator: op, values } }])}`)).status, op).toBe(400);
    }
    for (const [op, values] of [['>t-', ['3']], ['<t-', ['3']], ['t-', ['1']], ['t', []], ['w', []], ['=d', ['2020-04-06']], ['<>d', ['2020-01-01T00:00:00Z', '']]] as const) {
      expect((await get(`/api/v3/work_packages?pageSize=0&filters=${q([{ updatedAt: { operator: op, values } }])}`)).status, op).toBe(200);
    }
  });
});

describe('subprojects (query.rb new_default, project_filter.rb)', () => {
  it('a project filter includes subprojects unless includeSubprojects=false; so does the project-scoped endpoint', async () => {
    const { data, get } = await start({}, nest);
    const parent = inProject(data, 1);
    const both = [...parent, ...inProject(data, 2)].sort((a, b) => a - b);
    expect(inProject(data, 2).length).toBeGreaterThan(0);
    const f = q([{ project: { operator: '=', values: ['1'] } }]);
    expect(ids((await get(`/api/v3/work_packages?pageSize=-1&filters=${f}`)).json)).toEqual(both);
    expect(ids((await get(`/api/v3/work_packages?pageSize=-1&includeSubprojects=true&filters=${f}`)).json)).toEqual(both);
    expect(ids((await get(`/api/v3/work_packages?pageSize=-1&includeSubprojects=false&filters=${f}`)).json)).toEqual(parent);
    expect(ids((await get('/api/v3/projects/1/work_packages?pageSize=-1&filters=[]')).json)).toEqual(both);
    expect(ids((await get('/api/v3/projects/1/work_packages?pageSize=-1&filters=[]&includeSubprojects=false')).json)).toEqual(parent);
  });
});

describe('select and collections', () => {
  it('select renders only the selected keys and does not clamp pageSize (sql/hal.rb)', async () => {
    const { data, get } = await start({ maxPageSize: 5 });
    const r = await get('/api/v3/work_packages?filters=[]&pageSize=1000&select=total,elements/id');
    expect(Object.keys(r.json).sort()).toEqual(['_embedded', 'total']);
    expect(ids(r.json)).toHaveLength(data.workPackages.size);
    for (const el of (r.json._embedded as { elements: Obj[] }).elements) expect(Object.keys(el)).toEqual(['id']);
    // json_strip_nulls: a selected property that is null is absent, not null.
    const dated = (await get('/api/v3/work_packages?filters=[]&pageSize=1000&select=elements/id,elements/startDate')).json;
    const noStart = [...data.workPackages.values()].filter((w) => w.startDate === null || w.startDate === undefined).map((w) => w.id);
    expect(noStart.length).toBeGreaterThan(0);
    for (const el of (dated._embedded as { elements: Obj[] }).elements) expect('startDate' in el).toBe(!noStart.includes(el.id as number));
    // The rendered path still clamps.
    expect((await get('/api/v3/work_packages?filters=[]&pageSize=1000')).json.pageSize).toBe(5);
  });

  it('a page carries the union of its work packages custom fields, null where a work package lacks one', async () => {
    const { data, get } = await start();
    const wps = (await get('/api/v3/work_packages?filters=[]&pageSize=100')).json._embedded as { elements: WorkPackageJson[] };
    let foreign = 0;
    for (const el of wps.elements) {
      const key = String((el._links.schema as { href: string }).href).split('/').pop()!;
      const own = new Set(data.instance.schemas[key]);
      for (const [k, v] of [...Object.entries(el), ...Object.entries(el._links)]) {
        const m = /^customField(\d+)$/.exec(k);
        if (m && !own.has(Number(m[1]))) {
          foreign++;
          expect(v === null || (v as { href?: unknown }).href === null || Array.isArray(v)).toBe(true);
        }
      }
    }
    expect(foreign).toBeGreaterThan(0);
    // One work package per page: nothing foreign.
    const one = (await get('/api/v3/work_packages?filters=[]&pageSize=1')).json._embedded as { elements: WorkPackageJson[] };
    const stored = data.workPackages.get(one.elements[0]!.id)!;
    expect(Object.keys(one.elements[0]!)).toEqual(Object.keys(stored));
  });
});

describe('attachments', () => {
  it('adding or deleting one moves the container updatedAt, never its lockVersion (touch_container.rb)', async () => {
    const { sim, data, get } = await start();
    const id = [...data.workPackages.keys()][0]!;
    const before = (await get(`/api/v3/work_packages/${id}`)).json;
    const a = sim.addAttachment(id, { fileName: 'x.txt' }, Buffer.from('hello'));
    const after = (await get(`/api/v3/work_packages/${id}`)).json;
    expect(after.updatedAt).not.toBe(before.updatedAt);
    expect(after.lockVersion).toBe(before.lockVersion);
    sim.deleteAttachment(a.id);
    const gone = (await get(`/api/v3/work_packages/${id}`)).json;
    expect(String(gone.updatedAt) > String(after.updatedAt)).toBe(true);
    expect(gone.lockVersion).toBe(before.lockVersion);
    // An edit of the work package itself still bumps both.
    sim.updateWorkPackage(id, (w) => (w.subject = 'edited'));
    expect((await get(`/api/v3/work_packages/${id}`)).json.lockVersion).toBe(Number(before.lockVersion) + 1);
  });

  it('states: prepared (no file, empty digest), quarantined and pending scan refuse their content (attachment_renderer.rb)', async () => {
    const { sim, data, get } = await start({ virusScanning: true });
    const wp = [...data.workPackages.keys()][0]!;
    const prepared = sim.addAttachment(wp, { fileName: 'p.txt', status: 'prepared' }, Buffer.from('partial'));
    expect((await get(`/api/v3/attachments/${prepared.id}`)).json).toMatchObject({ status: 'prepared', digest: { hash: '' } });
    expect((await get(`/api/v3/attachments/${prepared.id}/content`)).status).toBe(404);
    const pending = sim.addAttachment(wp, { fileName: 'q.txt' }, Buffer.from('scan me'));
    const r = await get(`/api/v3/attachments/${pending.id}/content`);
    expect(r.status).toBe(403);
    expect(r.json.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:MissingPermission');
    const stamp = (await get(`/api/v3/work_packages/${wp}`)).json.updatedAt;
    sim.finishScan(pending.id);
    expect((await get(`/api/v3/attachments/${pending.id}`)).json.status).toBe('scanned');
    expect((await get(`/api/v3/attachments/${pending.id}/content`)).status).toBe(200);
    // The scan does not touch the work package.
    expect((await get(`/api/v3/work_packages/${wp}`)).json.updatedAt).toBe(stamp);
    sim.setAttachmentStatus(pending.id, 'quarantined');
    expect((await get(`/api/v3/attachments/${pending.id}/content`)).status).toBe(403);
  });

  it('with external storage, downloadLocation is a signed URL that expires; staticDownloadLocation stays /content (attachment_representer.rb)', async () => {
    let now = Date.parse('2021-01-01T00:00:00Z');
    const { data, get } = await start({ downloads: 'redirect', signedUrlTtlSeconds: 2, clock: () => new Date(now) });
    const att = [...data.attachments.values()][0]!.meta;
    const links = (await get(`/api/v3/attachments/${att.id}`)).json._links as Record<string, { href: string }>;
    expect(links.staticDownloadLocation!.href).toBe(`/api/v3/attachments/${att.id}/content`);
    expect(links.downloadLocation!.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/bucket\/\d+\?expires=/);
    expect((await fetch(links.downloadLocation!.href)).status).toBe(200);
    now += 5000;
    expect((await fetch(links.downloadLocation!.href)).status).toBe(403);
  });
});

describe('auth and timestamps', () => {
  it('a bearer value is an API token only with the opapi- prefix; Basic apikey takes the key as is', async () => {
    const plain = 'not-an-api-token';
    const { get } = await start({ apiKey: plain });
    expect((await get('/api/v3/projects', { authorization: `Bearer ${plain}` })).status).toBe(401);
    expect((await get('/api/v3/projects', { authorization: `Basic ${Buffer.from(`apikey:${plain}`).toString('base64')}` })).status).toBe(200);
    await sim!.close();
    const s2 = await start();
    expect((await s2.get('/api/v3/projects')).status).toBe(200);
  });

  it('timestamps are served as the dataset holds them, or cut to N digits when told (date_time_formatter.rb iso8601(3))', async () => {
    const six = (await start()).data;
    const id = [...six.workPackages.values()].find((w) => /\.\d{6}Z$/.test(w.updatedAt))!.id;
    const asHeld = (await (await fetch(`${sim!.url}/api/v3/work_packages/${id}`, { headers: AUTH })).json()) as Obj;
    expect(asHeld.updatedAt).toBe(six.workPackages.get(id)!.updatedAt);
    await sim!.close();
    const { get } = await start({ timestampDigits: 3 });
    const cut = (await get(`/api/v3/work_packages/${id}`)).json;
    expect(cut.updatedAt).toBe(six.workPackages.get(id)!.updatedAt.replace(/(\.\d{3})\d{3}Z$/, '$1Z'));
    const listed = (await get(`/api/v3/work_packages?pageSize=-1&filters=${q([{ id: { operator: '=', values: [String(id)] } }])}`)).json;
    expect(((listed._embedded as { elements: Obj[] }).elements[0]!).updatedAt).toBe(cut.updatedAt);
  });
});
