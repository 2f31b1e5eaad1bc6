// The OpenProject client against the real simulator over loopback HTTP: paging,
// filters, id listing, custom fields by name, projects/types/statuses.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_PAGE_ROWS } from '../../src/openproject/client.js';
import { createOpenProjectClient, type OpenProjectClient, type RequestEvent, type WorkPackageQuery } from '../../src/openproject/index.js';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { WorkPackage } from '../../src/types.js';
import { FIXTURE_DATASET, HAS_SHARED, SHARED_TRAIN } from '../helpers/env.js';

const KEY = 'opapi-4c1e2b-client-listing-secret';
const TRAIN = HAS_SHARED ? path.join(SHARED_TRAIN, 'dataset') : FIXTURE_DATASET;

async function readAll(client: OpenProjectClient, q: WorkPackageQuery = {}): Promise<{ wps: WorkPackage[]; offsets: number[]; invalid: unknown[] }> {
  const wps: WorkPackage[] = [];
  const offsets: number[] = [];
  const invalid: unknown[] = [];
  for await (const page of client.listWorkPackages(q)) {
    offsets.push(page.offset);
    wps.push(...page.workPackages);
    invalid.push(...page.invalid);
  }
  return { wps, offsets, invalid };
}

/** The most requests of `route` the server held at one moment (from its log: arrival to response). */
function maxInFlight(sim: Simulator, route = 'work_packages'): number {
  const edges = sim.log().filter((r) => r.route === route && r.endMs !== undefined).flatMap((r) => [[r.startMs, 1], [r.endMs!, -1]] as [number, number][]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

/** Waits until the server has been asked for every one of `offsets` (its log), however slow the machine. */
async function untilAsked(sim: Simulator, offsets: string[]): Promise<void> {
  for (let i = 0; i < 2000 && !offsets.every((o) => listPaths(sim).some((p) => p.get('offset') === o)); i++) await new Promise((r) => setTimeout(r, 5));
}

const listPaths = (sim: Simulator, route = 'work_packages'): URLSearchParams[] =>
  sim
    .log()
    .filter((l) => l.route === route)
    .map((l) => new URLSearchParams(l.path.split('?')[1] ?? ''));

describe('a 1,200-item dataset', () => {
  let sim: Simulator;
  let client: OpenProjectClient;
  const events: RequestEvent[] = [];
  beforeAll(async () => {
    sim = await startSimulator({ dataset: generateDataset({ workPackages: 1200, seed: 11 }), apiKey: KEY });
    client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, onRequest: (e) => events.push(e) });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('is read completely in pages of FULL_PAGE_ROWS (pageSize 1000 asks no more), closed work packages included, sorted and unique', async () => {
    sim.resetCounts();
    const { wps, offsets, invalid } = await readAll(client);
    expect(invalid).toEqual([]);
    const pages = Math.ceil(1200 / FULL_PAGE_ROWS);
    expect(sim.counts().byRoute.work_packages).toBe(pages);
    expect(offsets).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
    expect(wps.map((w) => w.id)).toEqual([...sim.dataset.workPackages.keys()].sort((a, b) => a - b));
    const closedIds = new Set((await client.listStatuses()).filter((s) => s.isClosed).map((s) => s.id));
    const closed = wps.filter((w) => closedIds.has(w.status.id)).length;
    const closedInData = [...sim.dataset.workPackages.values()].filter((w) => closedIds.has(Number(/\d+$/.exec((w._links.status as { href: string }).href)![0]))).length;
    expect(closed).toBeGreaterThan(0);
    expect(closed).toBe(closedInData);
    // Every list request was explicit: filters (absent = open only), sortBy, a page number.
    for (const p of listPaths(sim)) {
      expect(p.get('filters')).toBe('[]');
      expect(p.get('sortBy')).toBe('[["id","asc"]]');
      expect(p.get('pageSize')).toBe(String(FULL_PAGE_ROWS));
    }
    expect(listPaths(sim).map((p) => p.get('offset'))).toEqual(Array.from({ length: pages }, (_, i) => String(i + 1)));
    expect(client.stats().byRoute.work_packages).toBeGreaterThanOrEqual(pages);
  });

  it('the id listing is cheap (select) and agrees with the full read', async () => {
    sim.resetCounts();
    const listing = await client.listWorkPackageIds({});
    expect(listing.total).toBe(1200);
    expect(listing.ids).toEqual([...sim.dataset.workPackages.keys()].sort((a, b) => a - b));
    // Its pages came in id order: the set they filled is handed over, iterating as ids do.
    expect([...listing.idSet!]).toEqual(listing.ids);
    const reqs = listPaths(sim);
    expect(reqs).toHaveLength(2);
    expect(reqs.every((p) => p.get('select') === 'total,elements/id' && p.get('filters') === '[]')).toBe(true);
    expect(events.some((e) => e.route === 'work_package_ids')).toBe(true);
  });

  it('status, project and id filters narrow the read; their ids are sent', async () => {
    const statuses = await client.listStatuses();
    const closed = statuses.filter((s) => s.isClosed).map((s) => s.id);
    const { wps } = await readAll(client, { statusIds: closed });
    expect(wps.length).toBeGreaterThan(0);
    expect(wps.every((w) => closed.includes(w.status.id))).toBe(true);
    const project = (await client.listProjects())[0]!;
    const inProject = await readAll(client, { projectIds: [project.id] });
    expect(inProject.wps.every((w) => w.project.id === project.id)).toBe(true);
    expect(inProject.wps.length).toBe([...sim.dataset.workPackages.values()].filter((w) => (w._links.project as { href: string }).href === `/api/v3/projects/${project.id}`).length);
    const some = [...sim.dataset.workPackages.keys()].slice(5, 9);
    expect((await readAll(client, { ids: some })).wps.map((w) => w.id)).toEqual([...some].sort((a, b) => a - b));
  });

  it('a long id list is sent in chunks and still comes back complete, in id order', async () => {
    const all = [...sim.dataset.workPackages.keys()].sort((a, b) => a - b);
    const wanted = all.filter((_, i) => i % 3 === 0).concat([999_999]); // 400 existing + 1 unknown
    sim.resetCounts();
    const { wps, offsets } = await readAll(client, { ids: [...wanted].reverse() });
    expect(wps.map((w) => w.id)).toEqual(wanted.slice(0, -1));
    expect(offsets).toEqual(offsets.map((_, i) => i + 1));
    const sent = listPaths(sim).map((p) => (JSON.parse(p.get('filters')!) as { id: { values: string[] } }[])[0]!.id.values.length);
    // Three chunks; the last one holds the unknown id, which the strict id filter answers with
    // 400 for the whole chunk: it is bisected down to the one id, which GET /work_packages/:id
    // confirms gone (404). Nothing else is asked twice more than the halving needs.
    expect(sent.slice(0, 3)).toEqual([150, 150, 101]);
    expect(sent.length).toBeLessThanOrEqual(3 + 2 * Math.ceil(Math.log2(101)));
    expect(sim.log().filter((l) => l.route === 'work_package').map((l) => l.path)).toEqual(['/api/v3/work_packages/999999']);
    const listing = await client.listWorkPackageIds({ ids: wanted });
    expect({ ids: listing.ids, total: listing.total }).toEqual({ ids: wanted.slice(0, -1), total: 400 });
  });
});

describe('pages after the first', () => {
  it('the sources’ id listings with authors overlap: the first answered page settles what select the server takes', async () => {
    // Before, the first listing held the others until its LAST page: seven sources were
    // listed one after the other (at 30,000 work packages, ~0.25 s of a no-change sync).
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 400, seed: 5 }), latencyMs: 40 });
    const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 8, pageSize: 20 });
    try {
      const byProject = new Map<number, number>();
      for (const wp of sim.dataset.workPackages.values()) {
        const p = Number(/\d+$/.exec((wp._links.project as { href: string }).href)![0]);
        byProject.set(p, (byProject.get(p) ?? 0) + 1);
      }
      const [a, b] = [...byProject].filter(([, n]) => n > 60).map(([p]) => p);
      expect(b).toBeDefined();
      const [la, lb] = await Promise.all([client.listWorkPackageIds({ projectIds: [a!] }, { withAuthors: true }), client.listWorkPackageIds({ projectIds: [b!] }, { withAuthors: true })]);
      expect(la.ids).toHaveLength(byProject.get(a!)!);
      expect(lb.ids).toHaveLength(byProject.get(b!)!);
      expect(la.authors?.size).toBe(la.ids.length);
      const of = (p: number) => sim.log().filter((r) => r.route === 'work_packages' && new URLSearchParams(r.path.split('?')[1]).get('filters')!.includes(`"values":["${p}"]`));
      const [ra, rb] = [of(a!), of(b!)];
      expect(ra.length).toBeGreaterThan(3);
      expect(rb.length).toBeGreaterThan(3);
      // The other listing was asked for while the first one's later pages were in flight
      // (each is held 40 ms), not after its last page was answered.
      const [first, other] = ra[0]!.startMs < rb[0]!.startMs ? [ra, rb] : [rb, ra];
      expect(other[0]!.startMs).toBeLessThan(Math.max(...first.map((r) => r.endMs!)));
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('a server known to answer the author select (authorsAnsweredBefore) is not probed: the listings start together', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 400, seed: 5 }), latencyMs: 40 });
    const firstRequests = async (known: boolean): Promise<{ starts: number[]; firstEnd: number }> => {
      const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 8, pageSize: 20 });
      const before = sim.log().length;
      try {
        const projects = [...new Set([...sim.dataset.workPackages.values()].map((wp) => Number(/\d+$/.exec((wp._links.project as { href: string }).href)![0])))].slice(0, 3);
        await Promise.all(projects.map((p) => client.listWorkPackageIds({ projectIds: [p] }, { withAuthors: true, authorsAnsweredBefore: known })));
        const log = sim.log().slice(before).filter((r) => r.route === 'work_packages');
        const firsts = projects.map((p) => log.find((r) => new URLSearchParams(r.path.split('?')[1]).get('filters')!.includes(`"values":["${p}"]`))!);
        const starts = firsts.map((r) => r.startMs).sort((x, y) => x - y);
        return { starts, firstEnd: Math.min(...firsts.map((r) => r.endMs!)) };
      } finally {
        await client.close();
      }
    };
    try {
      // Known: every listing's first page is asked before any is answered (each is held 40 ms).
      const known = await firstRequests(true);
      expect(known.starts.at(-1)!).toBeLessThan(known.firstEnd);
      // Not known: the others wait for the first one's first page.
      const probed = await firstRequests(false);
      expect(probed.starts.at(-1)!).toBeGreaterThanOrEqual(probed.firstEnd);
    } finally {
      await sim.close();
    }
  });

  it('are requested in parallel with the effective page size and yielded in page order', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 1150, seed: 5 }), maxPageSize: 100, latencyMs: 150 });
    const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 8, pageLookahead: 16 });
    try {
      const { wps, offsets } = await readAll(client);
      expect(offsets).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(wps).toHaveLength(1150);
      expect(wps.map((w) => w.id)).toEqual([...wps.map((w) => w.id)].sort((a, b) => a - b));
      const sizes = listPaths(sim).map((p) => p.get('pageSize'));
      expect(sizes[0]).toBe(String(FULL_PAGE_ROWS)); // asked for the most a full page holds …
      expect(sizes.slice(1).every((s) => s === '100')).toBe(true); // … then used what the server granted
      // In parallel, read from the server's log rather than the wall clock (which a busy
      // machine stretches): one after another would never hold more than one at a time; the
      // client's limit is 8, and 11 later pages are asked for at once (each held 150 ms).
      expect(maxInFlight(sim)).toBeGreaterThanOrEqual(4);
      expect(maxInFlight(sim)).toBeLessThanOrEqual(8);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('are asked for only `pageLookahead` ahead of the consumer, so a slow consumer holds few pages', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 1150, seed: 5 }), maxPageSize: 100 });
    const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 8 }); // default lookahead: 2
    try {
      const asked = (): string[] => listPaths(sim).map((p) => p.get('offset')!);
      const it = client.listWorkPackages({})[Symbol.asyncIterator]();
      // The consumer dawdles over each page: the pages asked for ahead arrive (waited for in
      // the server's log, not for a fixed time), and after a moment more nothing beyond them.
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));
      expect((await it.next()).value?.offset).toBe(1);
      await untilAsked(sim, ['2', '3']);
      await settle();
      expect(asked().sort()).toEqual(['1', '2', '3']);
      expect((await it.next()).value?.offset).toBe(2);
      await untilAsked(sim, ['4']);
      await settle();
      expect(asked().sort()).toEqual(['1', '2', '3', '4']);
      const rest: number[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.offset);
      expect(rest).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(asked()).toHaveLength(12); // each page asked for once
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('a changes walk\'s page takes the next free request slot before listing pages asked for earlier (each walk page waits for the one before)', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 400, seed: 5 }), maxPageSize: 50, latencyMs: 40 });
    const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 1, pageSize: 50 });
    try {
      const listing = client.listWorkPackageIds({});
      // The listing's first page answered and its later pages queued (the second one asked):
      // only then does the walk ask for its first page.
      await untilAsked(sim, ['2']);
      const walk = (async () => {
        for await (const page of client.listChanges({}, '2000-01-01T00:00:00Z')) void page;
      })();
      await Promise.all([listing, walk]);
      const log = sim.log().filter((r) => r.route === 'work_packages');
      const isWalk = (path: string): boolean => new URLSearchParams(path.split('?')[1]).get('sortBy')!.includes('updatedAt');
      const firstWalk = log.findIndex((r) => isWalk(r.path));
      const listingPages = log.filter((r) => !isWalk(r.path)).length;
      expect(listingPages).toBe(8);
      // One slot: the page in flight when the walk asked (the second; a loaded machine may
      // see the third) is answered, then the walk's page goes. In one first-come queue it
      // went after all eight.
      expect(firstWalk).toBeGreaterThanOrEqual(2);
      expect(firstWalk).toBeLessThan(listingPages - 2);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('a row repeated by a shifting page is yielded once; the skipped one is what the id listing is for', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 30, seed: 2 }), maxPageSize: 10 });
    const client = createOpenProjectClient({ baseUrl: sim.url, concurrency: 1 });
    try {
      const ids = [...sim.dataset.workPackages.keys()].sort((a, b) => a - b);
      expect(ids[0]).toBeGreaterThan(5);
      // Right before page 2 is computed, a row with a lower id appears: every later row
      // shifts by one, so page 2 starts with page 1's last row again and the very last
      // row falls off the (already counted) last page.
      let added = false;
      sim.onListPage((page) => {
        if (page !== 2 || added) return;
        added = true;
        const clone = structuredClone(sim.dataset.workPackages.get(ids[0]!)!);
        clone.id = 5;
        (clone._links as Record<string, unknown>).self = { href: '/api/v3/work_packages/5', title: 'new' };
        sim.addWorkPackage(clone);
      });
      const { wps } = await readAll(client);
      expect(wps.map((w) => w.id)).toEqual(ids.slice(0, 29)); // ids[9] once; ids[29] skipped
      sim.onListPage(null);
      const listing = await client.listWorkPackageIds({});
      expect(listing.ids).toEqual([5, ...ids]); // the next id listing sees both
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('the medigy dataset', () => {
  let sim: Simulator;
  let client: OpenProjectClient;
  const raw = new Map<number, Record<string, unknown>>();
  beforeAll(async () => {
    sim = await startSimulator({ dataset: TRAIN, apiKey: KEY });
    client = createOpenProjectClient({ baseUrl: sim.url, token: KEY });
    for (const f of await readdir(path.join(TRAIN, 'work_packages'))) {
      const json = JSON.parse(await readFile(path.join(TRAIN, 'work_packages', f), 'utf8')) as Record<string, unknown> & { id: number };
      raw.set(json.id, json);
    }
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('decoy types are excluded by a type filter (ids resolved from names)', async () => {
    const types = await client.listTypes();
    const decoys = types.filter((t) => t.name === 'Bug' || t.name === 'Task').map((t) => t.id);
    expect(decoys).toHaveLength(2);
    const wanted = types.map((t) => t.id).filter((id) => !decoys.includes(id));
    sim.resetCounts();
    const { wps, invalid } = await readAll(client, { typeIds: wanted });
    expect(invalid).toEqual([]);
    const decoysInData = [...raw.values()].filter((w) => decoys.includes(Number(/\d+$/.exec(((w._links as Record<string, { href: string }>).type!).href)![0]))).length;
    expect(decoysInData).toBeGreaterThan(0);
    expect(wps.length).toBe(raw.size - decoysInData);
    expect(wps.some((w) => decoys.includes(w.type.id))).toBe(false);
    expect(JSON.parse(listPaths(sim)[0]!.get('filters')!)).toEqual([{ type: { operator: '=', values: wanted.map(String) } }]);
  });

  it('custom fields come by name, in the JSON key order, only when present, values as sent', async () => {
    const names = new Map((JSON.parse(await readFile(path.join(TRAIN, 'instance.json'), 'utf8')) as { customFields: { id: number; name: string }[] }).customFields.map((f) => [f.id, f.name]));
    const { wps } = await readAll(client);
    expect(wps).toHaveLength(raw.size);
    let nulls = 0;
    let fewer = 0;
    for (const wp of wps) {
      const json = raw.get(wp.id)!;
      const keys = Object.keys(json).filter((k) => /^customField\d+$/.test(k));
      expect(wp.customFields.map((c) => `customField${c.field.id}`)).toEqual(keys);
      for (const c of wp.customFields) {
        expect(c.field.name).toBe(names.get(c.field.id));
        const v = json[`customField${c.field.id}`];
        expect(c.value).toEqual(v !== null && typeof v === 'object' ? (v as { raw: unknown }).raw : v);
        if (c.value === null) nulls++;
      }
      const schemaKey = /(\d+-\d+)$/.exec(((json._links as Record<string, { href: string }>).schema!).href)![1]!;
      if (keys.length < (await client.getSchemaFields(Number(schemaKey.split('-')[0]), Number(schemaKey.split('-')[1]))).length) fewer++;
      expect(wp.createdAt).toBe(json.createdAt);
      expect(wp.updatedAt).toBe(json.updatedAt);
      expect(wp.description).toBe(((json.description as { raw: string | null } | null)?.raw ?? '') as string);
    }
    expect(nulls).toBeGreaterThan(0); // present-with-null is kept …
    expect(fewer).toBeGreaterThan(0); // … and absent keys are not invented from the schema
    // Names came from the embedded schemas: no schema endpoint request was needed.
    expect(sim.counts().byRoute.schema ?? 0).toBe(0);
  });

  it('projects, types and statuses as the instance lists them', async () => {
    const instance = JSON.parse(await readFile(path.join(TRAIN, 'instance.json'), 'utf8')) as { projects: { id: number; identifier: string; name: string }[]; statuses: { id: number; name: string; isClosed: boolean }[] };
    expect(await client.listProjects()).toEqual(instance.projects.map((p) => ({ id: p.id, identifier: p.identifier, name: p.name })));
    expect(await client.listStatuses()).toEqual(instance.statuses.map((s) => ({ id: s.id, name: s.name, isClosed: s.isClosed })));
    expect((await client.listTypes()).map((t) => t.name)).toContain('Curated Content');
  });

  it('incremental reads send updatedAt <>d [since, ""] and get only what changed', async () => {
    const id = [...raw.keys()][3]!;
    const since = new Date(Date.now() - 1000).toISOString();
    sim.updateWorkPackage(id, (w) => void (w.subject = 'changed'));
    sim.resetCounts();
    const { wps } = await readAll(client, { updatedSince: since });
    expect(wps.map((w) => [w.id, w.subject])).toEqual([[id, 'changed']]);
    expect(JSON.parse(listPaths(sim)[0]!.get('filters')!)).toEqual([{ updatedAt: { operator: '<>d', values: [since, ''] } }]);
  });

  it('schemas are fetched from the schema endpoint once, then cached', async () => {
    sim.resetCounts();
    const a = await client.getSchemaFields(99, 99).catch((e: unknown) => e);
    expect((a as Error).message).toMatch(/schemas\/99-99 → 404 .*work package schema 99-99/);
    const fresh = createOpenProjectClient({ baseUrl: sim.url, token: KEY });
    try {
      const key = Object.keys((JSON.parse(await readFile(path.join(TRAIN, 'instance.json'), 'utf8')) as { schemas: Record<string, number[]> }).schemas)[0]!;
      const [p, t] = key.split('-').map(Number) as [number, number];
      const one = await fresh.getSchemaFields(p, t);
      const two = await fresh.getSchemaFields(p, t);
      expect(two).toEqual(one);
      expect(one.length).toBeGreaterThan(0);
      expect(one.every((d) => !/^customField/.test(d.name) && d.format !== 'unknown')).toBe(true);
      expect(fresh.stats().byRoute.schema).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('the server’s maximum page size', async () => {
    expect(await client.maxPageSize()).toBe(1000);
  });
});
