// The client against the strict simulator (issue 13): each test is a difference between a
// real OpenProject server and the old, lenient simulator, and fails with the old client.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttachmentNotReadyError, AttachmentQuarantinedError, OpenProjectError } from '../../src/errors.js';
import { AttachmentDownloadError, createOpenProjectClient, type DownloadSink, type OpenProjectClient, type OpenProjectClientOptions, type WorkPackageQuery } from '../../src/openproject/index.js';
import { generateDataset, loadDataset, startSimulator, type Dataset, type JsonObject, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import type { WorkPackage } from '../../src/types.js';
import { FIXTURE_DATASET } from '../helpers/env.js';
import { readStateJson } from '../helpers/state.js';

const KEY = 'opapi-conformance-0123';
let sim: Simulator | null = null;
let client: OpenProjectClient | null = null;
afterEach(async () => {
  await client?.close();
  await sim?.close();
  client = null;
  sim = null;
});

async function setup(simOptions: Partial<SimulatorOptions> = {}, clientOptions: Partial<OpenProjectClientOptions> = {}, edit?: (d: Dataset) => void): Promise<{ sim: Simulator; client: OpenProjectClient; data: Dataset }> {
  const data = await loadDataset(FIXTURE_DATASET);
  edit?.(data);
  sim = await startSimulator({ dataset: data, apiKey: KEY, ...simOptions });
  client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, backoffBaseMs: 1, retries: 2, ...clientOptions });
  return { sim, client, data };
}

async function all(c: OpenProjectClient, q: WorkPackageQuery = {}): Promise<WorkPackage[]> {
  const out: WorkPackage[] = [];
  for await (const page of c.listWorkPackages(q)) out.push(...page.workPackages);
  return out;
}

function memorySink(): DownloadSink & { bytes(): Buffer; opens: number } {
  let chunks: Buffer[] = [];
  const sink = {
    opens: 0,
    bytes: () => Buffer.concat(chunks),
    open: () => {
      sink.opens++;
      chunks = [];
      return { write: (c: Uint8Array) => void chunks.push(Buffer.from(c)), end: () => undefined, abort: () => void (chunks = []) };
    },
  };
  return sink;
}

describe('page size probe and id listings', () => {
  it('maxPageSize probes with a filter that is valid and matches nothing (an unknown id would be 400)', async () => {
    const { client, sim } = await setup({ maxPageSize: 250 });
    expect(await client.maxPageSize()).toBe(250);
    const probe = sim.log().find((l) => l.route === 'work_packages')!;
    expect(probe.status).toBe(200);
    expect(decodeURIComponent(probe.path)).toContain('"createdAt"');
  });

  it('listWorkPackages({ids}) never fails because an id was deleted: the chunk is bisected, the id is absent', async () => {
    const { client, data, sim } = await setup();
    const ids = [...data.workPackages.keys()].sort((a, b) => a - b);
    const victim = ids[5]!;
    sim.deleteWorkPackage(victim);
    const got = await all(client, { ids });
    expect(got.map((w) => w.id)).toEqual(ids.filter((id) => id !== victim));
    const listing = await client.listWorkPackageIds({ ids });
    expect(listing.ids).toEqual(ids.filter((id) => id !== victim));
  });

  it('a 400 that is not about a missing id is not swallowed by the bisection', async () => {
    const { client, data, sim } = await setup();
    const id = [...data.workPackages.keys()][0]!;
    sim.inject({ route: 'work_packages', kind: 'status', status: 400, times: 100 });
    await expect(all(client, { ids: [id] })).rejects.toBeInstanceOf(OpenProjectError);
  });

  it('a filter on a project the key cannot see is explained, not a raw 400', async () => {
    const { client } = await setup({}, {}, (d) => {
      d.instance.projects.find((p) => p.id === 3)!.active = false;
    });
    const err = await all(client, { projectIds: [3] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenProjectError);
    expect((err as Error).message).toMatch(/archived or not visible to this key/);
  });

  it('an id listing reads a select answer that has no pageSize, count or links, across pages', async () => {
    const { client, data, sim } = await setup({}, { pageSize: 10 });
    const listing = await client.listWorkPackageIds({});
    expect(listing.ids).toEqual([...data.workPackages.keys()].sort((a, b) => a - b));
    expect(listing.total).toBe(data.workPackages.size);
    expect(sim.log().filter((l) => l.route === 'work_packages').length).toBe(Math.ceil(data.workPackages.size / 10));
  });
});

describe('single work packages and the server clock', () => {
  it('getWorkPackage: the work package, or null on 404; lastServerDate is the Date header of the latest answer', async () => {
    const at = new Date('2021-03-04T05:06:07Z');
    const { client, data, sim } = await setup({ clock: () => at });
    expect(client.lastServerDate()).toBeNull();
    const id = [...data.workPackages.keys()][0]!;
    expect((await client.getWorkPackage(id))?.id).toBe(id);
    expect(client.lastServerDate()?.toISOString()).toBe(at.toISOString());
    sim.deleteWorkPackage(id);
    expect(await client.getWorkPackage(id)).toBeNull();
  });
});

describe('subprojects', () => {
  const nest = (d: Dataset): void => {
    const child = d.instance.projects.find((p) => p.id === 2)!;
    child._links = { ...(child._links as JsonObject), parent: { href: '/api/v3/projects/1' } };
  };
  it('a project filter returns only that project unless includeSubprojects is asked for', async () => {
    const { client, data } = await setup({}, {}, nest);
    const of = (p: number): number[] => [...data.workPackages.values()].filter((w) => (w._links.project as { href: string }).href === `/api/v3/projects/${p}`).map((w) => w.id);
    expect((await all(client, { projectIds: [1] })).map((w) => w.id).sort((a, b) => a - b)).toEqual(of(1).sort((a, b) => a - b));
    expect((await all(client, { projectIds: [1], includeSubprojects: true })).map((w) => w.id).sort((a, b) => a - b)).toEqual([...of(1), ...of(2)].sort((a, b) => a - b));
    expect((await client.listWorkPackageIds({ projectIds: [1] })).ids).toEqual(of(1).sort((a, b) => a - b));
  });
});

describe('page composition', () => {
  it('work packages normalise the same whatever page size (no page-union custom fields leak in)', async () => {
    const big = await all((await setup()).client);
    const small = createOpenProjectClient({ baseUrl: sim!.url, apiKey: KEY, pageSize: 1 });
    try {
      expect(await all(small)).toEqual(big);
    } finally {
      await small.close();
    }
    expect(big.some((w) => w.customFields.some((c) => c.field.name.startsWith('customField')))).toBe(false);
  });
});

describe('downloads', () => {
  const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

  it('use staticDownloadLocation: an expired signed downloadLocation does not matter (2 s URLs, 30 ms latency)', async () => {
    let now = Date.now();
    const { client, data } = await setup({ downloads: 'redirect', signedUrlTtlSeconds: 2, latencyMs: 30, clock: () => new Date(now) });
    const wpId = [...data.attachments.values()][0]!.meta._links as JsonObject;
    const container = Number(/\d+$/.exec((wpId.container as { href: string }).href)![0]);
    const atts = await client.listAttachments(container);
    expect(atts.length).toBeGreaterThan(0);
    now += 10_000; // every downloadLocation listed above has expired
    for (const a of atts) {
      const sink = memorySink();
      const r = await client.downloadAttachment(a, sink);
      expect(r.md5).toBe(md5(sink.bytes()));
      expect(sink.opens).toBe(1);
    }
  });

  it('a 403 from the object store is retried through a fresh redirect', async () => {
    const { client, data, sim } = await setup({ downloads: 'redirect' });
    const a = [...data.attachments.values()][0]!.meta;
    const att = (await client.listAttachments(Number(/\d+$/.exec(((a._links as JsonObject).container as { href: string }).href)![0]))).find((x) => x.id === a.id)!;
    sim.inject({ route: 'storage', kind: 'status', status: 403, times: 1 });
    const sink = memorySink();
    await client.downloadAttachment(att, sink);
    expect(sim.log().filter((l) => l.route === 'content')).toHaveLength(2);
  });

  it('prepared and quarantined attachments are refused before any request; pending ones after the 403; a finished scan downloads', async () => {
    const { client, data, sim } = await setup({ virusScanning: true });
    const wp = [...data.workPackages.keys()][0]!;
    const prepared = sim.addAttachment(wp, { fileName: 'p.txt', status: 'prepared' }, Buffer.from('partial'));
    const pending = sim.addAttachment(wp, { fileName: 'q.txt' }, Buffer.from('scan me'));
    const listed = await client.listAttachments(wp);
    const byId = (id: number) => listed.find((x) => x.id === id)!;
    expect(byId(prepared.id).status).toBe('prepared');
    sim.resetCounts();
    const s1 = memorySink();
    const e1 = await client.downloadAttachment(byId(prepared.id), s1).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AttachmentNotReadyError);
    expect((e1 as Error).message).toContain(`work package #${wp}`);
    expect(s1.opens).toBe(0);
    expect(sim.counts().total).toBe(0);
    const s2 = memorySink();
    const e2 = await client.downloadAttachment(byId(pending.id), s2).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(AttachmentNotReadyError);
    expect(s2.opens).toBe(0);
    sim.finishScan(pending.id);
    const s3 = memorySink();
    await client.downloadAttachment((await client.listAttachments(wp)).find((x) => x.id === pending.id)!, s3);
    expect(s3.bytes().toString()).toBe('scan me');
    sim.setAttachmentStatus(pending.id, 'quarantined');
    const q = (await client.listAttachments(wp)).find((x) => x.id === pending.id)!;
    const e4 = await client.downloadAttachment(q, memorySink()).catch((e: unknown) => e);
    expect(e4).toBeInstanceOf(AttachmentQuarantinedError);
    expect((e4 as Error).message).toMatch(new RegExp(`work package #${wp}: attachment #${pending.id} .*quarantined`));
  });

  it('a download trickling one byte at a time hits its overall deadline, is retried, then fails naming the deadline', async () => {
    const { client, data, sim } = await setup({}, { retries: 1, downloadDeadline: { minSeconds: 0.4, secondsPerMiB: 0 } });
    const a = [...data.attachments.values()].find((x) => x.meta.fileSize > 20)!.meta;
    const container = Number(/\d+$/.exec(((a._links as JsonObject).container as { href: string }).href)![0]);
    const att = (await client.listAttachments(container)).find((x) => x.id === a.id)!;
    sim.inject({ route: 'content', kind: 'trickle', trickleMs: 100 });
    const t0 = Date.now();
    const err = await client.downloadAttachment(att, memorySink()).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    expect(err).toBeInstanceOf(AttachmentDownloadError);
    expect((err as AttachmentDownloadError).reason).toBe('deadline');
    expect(sim.log().filter((l) => l.route === 'content')).toHaveLength(2);
    expect(ms).toBeLessThan(5000);
    // Once the server sends normally again, the retry succeeds.
    sim.clearFaults();
    sim.inject({ route: 'content', kind: 'trickle', trickleMs: 100, times: 1 });
    const sink = memorySink();
    await client.downloadAttachment(att, sink);
    expect(sink.bytes().length).toBe(att.fileSize);
  });
});

describe('credentials and timestamps', () => {
  it('a bearer API token with the opapi- prefix works; without it the 401 says why', async () => {
    const { client } = await setup({}, { apiKey: undefined, token: KEY });
    expect((await client.listProjects()).length).toBeGreaterThan(0);
    await sim!.close();
    sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: 'plain-token' });
    const bad = createOpenProjectClient({ baseUrl: sim.url, token: 'plain-token', retries: 0 });
    try {
      const err = await bad.listProjects().catch((e: unknown) => e);
      expect((err as OpenProjectError).status).toBe(401);
      expect((err as Error).message).toMatch(/does not start with "opapi-"/);
      expect((err as Error).message).not.toContain('plain-token');
    } finally {
      await bad.close();
    }
  });

  it('the changes walk does not depend on timestamp precision (6 digits as held, cut to 3, or whole seconds)', async () => {
    // Whole seconds is what date_time_formatter.rb's `iso8601` renders in the versions read.
    const seen: number[][] = [];
    for (const timestampDigits of [undefined, 3, 0]) {
      const c = (await setup({ ...(timestampDigits === undefined ? {} : { timestampDigits }) }, { pageSize: 5 })).client;
      const ids: number[] = [];
      for await (const page of c.listChanges({}, '2000-01-01T00:00:00Z')) ids.push(...page.workPackages.map((w) => w.id));
      seen.push(ids.sort((a, b) => a - b));
      await c.close();
      await sim!.close();
      client = null;
      sim = null;
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
    expect(seen[0]!.length).toBeGreaterThan(0);
  });
});

describe('the changes walk keeps the request slots busy', () => {
  it('asks for 25 rows first, then four times as many from each new key (250 at most), and for the next page before the consumer has taken this one', async () => {
    // Generated rows have distinct updatedAt: every page ends at a new key.
    sim = await startSimulator({ dataset: generateDataset({ workPackages: 400, seed: 3 }), apiKey: KEY });
    client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, pageSize: 1000 });
    const s = sim;
    const changeSizes = (): number[] => s.log().filter((l) => l.route === 'work_packages' && l.path.includes('updatedAt')).map((l) => Number(new URL(l.path, s.url).searchParams.get('pageSize')));
    const walk = client.listChanges({}, '2000-01-01T00:00:00Z')[Symbol.asyncIterator]();
    const first = await walk.next();
    expect(first.value!.workPackages).toHaveLength(25);
    // The consumer holds the first page: the second is on its way all the same.
    await vi.waitFor(() => expect(changeSizes()).toEqual([25, 100]), { timeout: 5000, interval: 5 });
    let rows = 25;
    for (let r = await walk.next(); !r.done; r = await walk.next()) rows += r.value.workPackages.length;
    expect(rows).toBe(sim.dataset.workPackages.size);
    expect(changeSizes()).toEqual([25, 100, 250, 250]);
  });
});

describe('a sync against the strict server', () => {
  it('a work package deleted between the id listing and its by-id fetch does not abort the sync', async () => {
    const { medigySync, startFixtureSimulator, testClient } = await import('../helpers/sync-harness.js');
    const { tempDir } = await import('../helpers/env.js');
    const { rm } = await import('node:fs/promises');
    const path = await import('node:path');
    const s = await startFixtureSimulator();
    sim = s;
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(s, dir);
      const manifest = await readStateJson(dir);
      // One the changes walk does not return (older than its source's watermark minus the
      // overlap), so only the by-id fetch reads it.
      const [victim, entry] = Object.entries(manifest.workPackages).find(([, w]) => Object.keys(w.files).some((f) => f.endsWith('.md')) && Date.parse(w.updatedAt) < Date.parse(manifest.sources[w.source]!.watermark!) - 3_600_000)!;
      // Its file gone by hand: the next (incremental) run fetches it by id, in a chunk.
      await rm(path.join(dir, Object.keys(entry.files).find((f) => f.endsWith('.md'))!));
      const real = testClient(s);
      let byIdChunks = 0;
      const racing: OpenProjectClient = {
        ...real,
        listWorkPackages(q: WorkPackageQuery) {
          // The race: the work package is deleted after the id listing named it, just
          // before the by-id fetch (the strict id filter answers 400 for the whole chunk).
          if (q.ids?.includes(Number(victim))) {
            byIdChunks++;
            s.deleteWorkPackage(Number(victim));
          }
          return real.listWorkPackages(q);
        },
      };
      try {
        const report = await medigySync(s, dir, { client: racing });
        expect(byIdChunks).toBeGreaterThan(0);
        expect(report.errors.filter((e) => /400|InvalidQuery/.test(e.message))).toEqual([]);
      } finally {
        await real.close();
      }
    } finally {
      await cleanup();
    }
  }, 60_000);
});
