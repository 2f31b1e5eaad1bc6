// The simulator answers like OpenProject (API README §8), over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { FIXTURE_DATASET } from '../helpers/env.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: 'opapi-k', maxPageSize: 10 });
});
afterAll(async () => sim.close());

const get = async (path: string, auth = 'Bearer opapi-k'): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> => {
  const res = await fetch(`${sim.url}${path}`, { headers: auth ? { authorization: auth } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
};

describe('work package collections', () => {
  it('pages by page number, clamps pageSize, links nextByOffset only while pages remain', async () => {
    const p1 = await get('/api/v3/work_packages?filters=[]&pageSize=1000&offset=1');
    expect(p1.body._type).toBe('WorkPackageCollection');
    expect(p1.body.pageSize).toBe(10);
    expect(p1.body.total).toBe(36);
    expect((p1.body._links as Record<string, unknown>).nextByOffset).toBeDefined();
    expect((p1.body._links as Record<string, unknown>).previousByOffset).toBeUndefined();
    const p4 = await get('/api/v3/work_packages?filters=[]&pageSize=10&offset=4');
    expect(p4.body.count).toBe(6);
    expect((p4.body._links as Record<string, unknown>).nextByOffset).toBeUndefined();
    const p0 = await get('/api/v3/work_packages?filters=[]&pageSize=10&offset=0');
    expect(p0.body.offset).toBe(1);
    const zero = await get('/api/v3/work_packages?filters=[]&pageSize=0');
    expect(zero.body.total).toBe(36);
    expect((zero.body._embedded as { elements: unknown[] }).elements).toEqual([]);
  });

  it('applies "status is open" when filters is absent', async () => {
    const all = await get('/api/v3/work_packages?filters=[]&pageSize=0');
    const open = await get('/api/v3/work_packages?pageSize=0');
    const closed = await get(`/api/v3/work_packages?pageSize=0&filters=${encodeURIComponent('[{"status":{"operator":"c","values":[]}}]')}`);
    expect(Number(open.body.total) + Number(closed.body.total)).toBe(all.body.total);
    expect(Number(closed.body.total)).toBeGreaterThan(0);
  });

  it('embeds the schemas of the page with custom field names', async () => {
    const p = await get('/api/v3/work_packages?filters=[]&pageSize=10');
    const schemas = ((p.body._embedded as { schemas: { _embedded: { elements: Record<string, { name?: string }>[] } } }).schemas._embedded.elements);
    expect(schemas.length).toBeGreaterThan(0);
    expect(schemas.some((s) => s.customField1?.name === 'Clean URL')).toBe(true);
    const one = await get('/api/v3/work_packages/schemas/4-3');
    expect((one.body.customField1 as { name: string }).name).toBe('Clean URL');
    expect((await get('/api/v3/work_packages/schemas/99-99')).status).toBe(404);
  });

  it('select renders ids only; unsupported select keys and bad filters are 400 errors', async () => {
    const s = await get('/api/v3/work_packages?filters=[]&select=total,elements/id&pageSize=10');
    expect(Object.keys((s.body._embedded as { elements: object[] }).elements[0]!)).toContain('id');
    const bad = await get('/api/v3/work_packages?select=elements/updatedAt');
    expect(bad.status).toBe(400);
    expect(bad.body.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:InvalidSignal');
    const badFilter = await get(`/api/v3/work_packages?filters=${encodeURIComponent('[{"colour":{"operator":"=","values":["1"]}}]')}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:InvalidQuery');
  });
});

describe('auth and errors', () => {
  it('401 with an Error object and WWW-Authenticate without a valid key; basic apikey works', async () => {
    const none = await get('/api/v3/projects', '');
    expect(none.status).toBe(401);
    expect(none.body._type).toBe('Error');
    expect(none.headers.get('www-authenticate')).toMatch(/Basic realm="OpenProject API"/);
    const basic = await get('/api/v3/projects', `Basic ${Buffer.from('apikey:opapi-k').toString('base64')}`);
    expect(basic.status).toBe(200);
    const missing = await get('/api/v3/work_packages/424242');
    expect(missing.status).toBe(404);
    expect(missing.body.errorIdentifier).toBe('urn:openproject-org:api:v3:errors:NotFound');
  });
});
