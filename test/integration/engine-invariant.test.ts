// Issue 12: one regression test per way the engine's invariant broke. The invariant:
// after an incremental sync exits without item errors, the tree is byte for byte what a
// fresh sync into an empty folder writes (same server, config and `now`); and no run
// deletes or overwrites files of work packages that still exist, or files curate does
// not own.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, OutputError } from '../../src/errors.js';
import { createProfile } from '../../src/mapping/profiles/index.js';
import type { Simulator, WorkPackageJson } from '../../src/simulator/index.js';
import type { SyncOptions, SyncReport } from '../../src/sync/index.js';
import type { SourceSpec } from '../../src/types.js';
import { diffTrees, LEGACY_NOW, medigyConfig, tempDir, treeHashes } from '../helpers/env.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { medigySync, startFixtureSimulator, testClient } from '../helpers/sync-harness.js';
import { readStateJson } from '../helpers/state.js';

const same = { missing: [], extra: [], different: [] };
type Extra = Partial<SyncOptions>;

/** The tree a fresh sync writes for the simulator's current state and the same options. */
async function freshTree(sim: Simulator, extra: Extra = {}): Promise<Map<string, string>> {
  const { dir, cleanup } = await tempDir('curate-fresh-');
  try {
    // The oracle runs in memory (fake client over the simulator's data); the runs under test talk HTTP.
    const r = await medigySync(sim, dir, { ...extra, client: createFakeClient(sim.dataset), full: false, signal: undefined, onlyIds: undefined });
    expect(r.errors).toEqual([]);
    return await treeHashes(dir);
  } finally {
    await cleanup();
  }
}

async function expectFresh(sim: Simulator, dir: string, extra: Extra = {}): Promise<void> {
  expect(diffTrees(await treeHashes(dir), await freshTree(sim, extra))).toEqual(same);
}

const title = (wp: WorkPackageJson, rel: 'project' | 'type'): string => String((wp._links[rel] as { title?: string }).title);
const byProject = (sim: Simulator, project: string): WorkPackageJson[] => [...sim.dataset.workPackages.values()].filter((wp) => title(wp, 'project') === project).sort((a, b) => a.id - b.id);
const biggestCommunity = (sim: Simulator): string => {
  const counts = new Map<string, number>();
  for (const wp of sim.dataset.workPackages.values()) if (!['News', 'Events'].includes(title(wp, 'project'))) counts.set(title(wp, 'project'), (counts.get(title(wp, 'project')) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
};
const retitle = (sim: Simulator, id: number, subject: string): void =>
  sim.updateWorkPackage(id, (wp) => {
    wp.subject = subject;
  });
async function filesOf(dir: string, id: number): Promise<string[]> {
  const m = (await readStateJson(dir)) as { workPackages: Record<string, { files: Record<string, string> }> };
  return Object.keys(m.workPackages[String(id)]?.files ?? {});
}

async function withSim<T>(fn: (sim: Simulator, dir: string) => Promise<T>): Promise<T> {
  const sim = await startFixtureSimulator();
  const { dir, cleanup } = await tempDir();
  try {
    return await fn(sim, dir);
  } finally {
    sim.onListPage(null);
    await sim.close();
    await cleanup();
  }
}

describe('engine invariant: config, mapping version and clock are part of the state', () => {
  it('1. a source path or variant edited in the config moves the whole source on the next plain sync', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const { sources } = await medigyConfig();
      const moved: SourceSpec[] = sources.map((s) => (s.name === 'news' ? { ...s, path: 'news/renamed' } : s.name === 'security' ? { ...s, options: { variant: 'news' } } : s));
      const r = await medigySync(sim, dir, { sources: moved });
      expect(r.errors).toEqual([]);
      expect(r.warnings.join('\n')).toMatch(/source "news".*mapping all of its work packages again/);
      await expectFresh(sim, dir, { sources: moved });
      // And back: the same again.
      await medigySync(sim, dir, { sources });
      await expectFresh(sim, dir);
    });
  });

  it('1. a profile option or a new mapping version re-maps every work package', async () => {
    await withSim(async (sim, dir) => {
      const { options } = await medigyConfig();
      await medigySync(sim, dir);
      // A mapping change shipped with a new curate: same input, new output, new version.
      const base = createProfile('medigy', options);
      const upgraded = { ...base, version: `${base.version}+test`, map: (input: Parameters<typeof base.map>[0]) => {
        const doc = base.map(input);
        return { ...doc, files: doc.files.map((f) => (f.kind === 'text' ? { ...f, text: `${f.text}\n<!-- v2 -->\n` } : f)) };
      } };
      const r = await medigySync(sim, dir, { profile: upgraded });
      expect(r.errors).toEqual([]);
      expect(r.counts.workPackages.skipped).toBe(0);
      await expectFresh(sim, dir, { profile: upgraded });
      // A profile option (the events folder's name) re-maps too.
      const opts = { ...(options as object), types: undefined };
      const changed = createProfile('medigy', { ...opts, attachments: { featuredPdf: 'renamed.pdf' } });
      const r2 = await medigySync(sim, dir, { profile: changed });
      expect(r2.errors).toEqual([]);
      await expectFresh(sim, dir, { profile: changed });
    });
  });

  it('2. an upcoming event becomes past when `now` passes its last day, on an ordinary incremental sync', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir, { now: LEGACY_NOW });
      // A past event (not cancelled), moved into the future of LEGACY_NOW: it becomes upcoming.
      let ev: WorkPackageJson | undefined;
      for (const wp of byProject(sim, 'Events')) if ((await filesOf(dir, wp.id)).some((p) => p.includes('/past/'))) ev = wp;
      expect(ev).toBeDefined();
      sim.updateWorkPackage(ev!.id, (wp) => {
        wp.startDate = '2021-03-01';
        wp.dueDate = '2021-03-02';
      });
      const first = await medigySync(sim, dir, { now: LEGACY_NOW });
      expect(first.errors).toEqual([]);
      expect((await filesOf(dir, ev!.id)).some((p) => p.includes('/upcoming/'))).toBe(true);
      // Through its last day it stays upcoming, with nothing to do.
      const same = await medigySync(sim, dir, { now: new Date('2021-03-02T23:59:59Z') });
      expect(same.counts.workPackages.mapped).toBe(0);
      const later = new Date('2021-03-03T00:00:00Z');
      const r = await medigySync(sim, dir, { now: later });
      expect(r.errors).toEqual([]);
      expect((await filesOf(dir, ev!.id)).some((p) => p.includes('/past/'))).toBe(true);
      await expectFresh(sim, dir, { now: later });
    });
  });
});

describe('engine invariant: listings that change under the walk', () => {
  it('3. a work package leaving the query during the changes walk cannot hide another edit: the next sync still sees it', async () => {
    await withSim(async (sim, dir) => {
      // No overlap window: with one, a re-read of the last minutes hides the bug in a test
      // whose edits are all seconds old; in production the edits can be older than it.
      const client = testClient(sim, { pageSize: 2 });
      try {
        await medigySync(sim, dir, { client, overlapSeconds: 0 });
        const victims = byProject(sim, biggestCommunity(sim)).slice(0, 7);
        // Distinct instants, so the walk's order and its bounds are not ties.
        for (const [i, wp] of victims.entries()) {
          retitle(sim, wp.id, `Edited before the walk ${i}`);
          await new Promise((r) => setTimeout(r, 5));
        }
        let fired = false;
        let changeRequests = 0;
        const projectId = String((victims[0]!._links.project as { href: string }).href.split('/').pop());
        sim.onListPage((_page, url) => {
          // On the changes walk's second request (any paging scheme), move the first edited row
          // (which the first request returned) to a type no source syncs: offset pages then
          // shift by one. (A deletion shifts them too, but also fails its processing, which
          // holds the watermark and hides the bug.)
          const filters = url.searchParams.get('filters') ?? '';
          if (fired || url.searchParams.has('select') || !filters.includes('updatedAt') || !filters.includes(`"project":{"operator":"=","values":["${projectId}"]}`)) return;
          if (++changeRequests === 2) {
            fired = true;
            sim.updateWorkPackage(victims[0]!.id, (wp) => {
              wp._links.type = { href: '/api/v3/types/12', title: 'Task' };
            });
          }
        });
        await medigySync(sim, dir, { client, overlapSeconds: 0 });
        sim.onListPage(null);
        expect(fired).toBe(true);
        const quiet = await medigySync(sim, dir, { client, overlapSeconds: 0 });
        expect(quiet.errors).toEqual([]);
        await expectFresh(sim, dir);
      } finally {
        await client.close();
      }
    });
  });

  it('4. a deletion while the id listing pages shifts rows: no innocent work package loses its files (also with --full)', async () => {
    for (const full of [false, true]) {
      await withSim(async (sim, dir) => {
        const client = testClient(sim, { pageSize: 3 });
        try {
          await medigySync(sim, dir, { client });
          const community = byProject(sim, biggestCommunity(sim));
          const doomed = community[0]!;
          let fired = false;
          sim.onListPage((page, url) => {
            if (!fired && page === 2 && url.searchParams.get('select')?.includes('elements/id')) {
              fired = true;
              sim.deleteWorkPackage(doomed.id);
            }
          });
          const r = await medigySync(sim, dir, { client, full });
          sim.onListPage(null);
          expect(fired).toBe(true);
          expect(r.errors).toEqual([]);
          // Every work package that still exists has all its files.
          for (const wp of community.slice(1)) expect((await filesOf(dir, wp.id)).length).toBeGreaterThan(0);
          // The deletion is seen by this run or, if the listing had passed it, by the next.
          await medigySync(sim, dir, { client });
          expect(await filesOf(dir, doomed.id)).toEqual([]);
          await expectFresh(sim, dir);
        } finally {
          await client.close();
        }
      });
    }
  });

  it('4. (found by fuzz:sync, seed 1373321431) a work package moved where the server serves no schema for it is confirmed gone by the listing, not stuck', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const [wp] = byProject(sim, biggestCommunity(sim));
      // Project "events" with a type it does not have: no schema 4-… on the server.
      const events = byProject(sim, 'Events')[0]!;
      sim.updateWorkPackage(wp!.id, (w) => {
        w._links.project = events._links.project!;
        w._links.type = { href: '/api/v3/types/6', title: 'Curated Offering' };
      });
      const r = await medigySync(sim, dir);
      expect(r.errors).toEqual([]);
      expect(await filesOf(dir, wp!.id)).toEqual([]);
      await expectFresh(sim, dir);
    });
  });

  it('4. the mass-delete brake counts deletions, not renames: retitling every work package syncs', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      for (const wp of sim.dataset.workPackages.values()) retitle(sim, wp.id, `Retitled ${wp.id} ${String(wp.subject)}`);
      const r = await medigySync(sim, dir);
      expect(r.errors).toEqual([]);
      expect(r.counts.total.rename).toBeGreaterThan(20);
      await expectFresh(sim, dir);
    });
  });
});

describe('engine invariant: ownership', () => {
  it('5. two sources that can match the same work package are refused when the config is loaded', async () => {
    await withSim(async (sim, dir) => {
      const { sources } = await medigyConfig();
      const twin = { ...sources.find((s) => s.name === 'news')!, name: 'news-twin', path: 'elsewhere' };
      const err = await medigySync(sim, dir, { sources: [...sources, twin] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message + JSON.stringify((err as ConfigError).problems ?? '')).toMatch(/news-twin.*news/s);
      expect(await treeHashes(dir, { includeState: true })).toEqual(new Map());
    });
  });

  it('6. two work packages on one path: the lower id keeps it, the other is an item error, the same on every run and with --full', async () => {
    await withSim(async (sim, dir) => {
      const [a, b] = byProject(sim, 'News');
      expect(a && b).toBeTruthy();
      await medigySync(sim, dir);
      // Give the higher id the lower id's file name (subject and clean URL).
      sim.updateWorkPackage(b!.id, (wp) => {
        wp.subject = a!.subject as string;
        for (const k of Object.keys(a!)) if (k.startsWith('customField')) (wp as Record<string, unknown>)[k] = (a as Record<string, unknown>)[k];
      });
      const runs: SyncReport[] = [];
      for (const full of [false, false, true, false]) runs.push(await medigySync(sim, dir, { full }));
      for (const r of runs) expect(r.errors.map((e) => e.workPackageId)).toEqual([b!.id]);
      const aFiles = await filesOf(dir, a!.id);
      expect(aFiles.length).toBeGreaterThan(0);
      // The lower id's page holds the lower id's content.
      const md = aFiles.find((p) => p.endsWith('.md'))!;
      expect(await readFile(path.join(dir, md), 'utf8')).toContain(String(a!.subject).slice(0, 20));
    });
  });

  it('7. a hand-written file where a new work package would go is never overwritten: item error naming path and work package', async () => {
    await withSim(async (sim, dir) => {
      const first = await medigySync(sim, dir);
      const [wp] = byProject(sim, 'News');
      const md = (await filesOf(dir, wp!.id)).find((p) => p.endsWith('.md'))!;
      // Pretend the work package is new: remove it from the server, sync (its files go), put a hand-written file there, bring it back.
      const saved = JSON.parse(JSON.stringify(wp)) as WorkPackageJson;
      sim.deleteWorkPackage(wp!.id);
      await medigySync(sim, dir);
      await mkdir(path.dirname(path.join(dir, md)), { recursive: true });
      await writeFile(path.join(dir, md), 'written by hand\n');
      sim.addWorkPackage(saved);
      const r = await medigySync(sim, dir);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.message).toContain(md);
      expect(r.errors[0]!.message).toContain(`#${wp!.id}`);
      expect(await readFile(path.join(dir, md), 'utf8')).toBe('written by hand\n');
      expect(first.errors).toEqual([]);
    });
  });
});

describe('engine invariant: watermarks and interrupted runs', () => {
  it('8. a work package with an updatedAt in the future does not hide later edits; a garbage watermark is a manifest error', async () => {
    await withSim(async (sim, dir) => {
      const [future, later] = byProject(sim, biggestCommunity(sim));
      sim.updateWorkPackage(future!.id, (wp) => {
        wp.subject = 'From the future';
      });
      sim.dataset.workPackages.get(future!.id)!.updatedAt = '2099-01-01T00:00:00.000Z';
      const r = await medigySync(sim, dir);
      expect(r.warnings.join('\n')).toMatch(/updatedAt in the future/);
      for (const w of Object.values(r.watermarks)) expect(Date.parse(w!)).toBeLessThan(Date.parse('2099-01-01T00:00:00Z'));
      retitle(sim, later!.id, 'Edited after the future one');
      const r2 = await medigySync(sim, dir);
      expect(r2.counts.workPackages.mapped).toBeGreaterThanOrEqual(1);
      await expectFresh(sim, dir);

      const file = path.join(dir, '.curate', 'manifest.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as { sources: Record<string, { watermark: string }> };
      m.sources.news!.watermark = 'last tuesday';
      await writeFile(file, JSON.stringify(m));
      const err = await medigySync(sim, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputError);
      expect((err as Error).message).toMatch(/sources\.news\.watermark/);
    });
  });

  it('8. a stored watermark ahead of the server clock is not trusted', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const file = path.join(dir, '.curate', 'manifest.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as { sources: Record<string, { watermark: string }> };
      for (const s of Object.values(m.sources)) s.watermark = '2099-01-01T00:00:00.000Z';
      await writeFile(file, JSON.stringify(m));
      const [wp] = byProject(sim, 'News');
      retitle(sim, wp!.id, 'Edited while the manifest lies');
      const r = await medigySync(sim, dir);
      expect(r.warnings.join('\n')).toMatch(/in the future of the server's clock/);
      await expectFresh(sim, dir);
    });
  });

  it('9. an apply interrupted after its first writes, then a rename, leaves no orphan page (write-ahead journal)', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const [wp] = byProject(sim, 'News');
      retitle(sim, wp!.id, 'A new title written by an interrupted run');
      const ac = new AbortController();
      let writes = 0;
      const err = await medigySync(sim, dir, {
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'write' && ++writes === 1) ac.abort(new Error('interrupted'));
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(writes).toBeGreaterThan(0);
      await expect(readFile(path.join(dir, '.curate', 'journal.json'), 'utf8')).resolves.toContain('.md');
      retitle(sim, wp!.id, 'Renamed again before the next run');
      const r = await medigySync(sim, dir);
      expect(r.errors).toEqual([]);
      await expectFresh(sim, dir);
      await expect(readFile(path.join(dir, '.curate', 'journal.json'))).rejects.toThrow();
    });
  });

  it('12. an abort leaves no lock and no staging folder', async () => {
    await withSim(async (sim, dir) => {
      const ac = new AbortController();
      const err = await medigySync(sim, dir, {
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'download') ac.abort(new Error('stop'));
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((await readdir(path.join(dir, '.curate')).catch(() => [])).filter((n) => n === 'lock' || n.startsWith('staging'))).toEqual([]);
    });
  });
});

describe('attachments that are not there yet (issue 13, item 6)', () => {
  // A real featured image of the fixtures, so the probe finds a valid image.
  const imageOf = (sim: Simulator): Buffer => {
    const a = [...sim.dataset.attachments.values()].find((x) => /^Curated_Featured_Image\.(png|jpe?g)$/i.test(x.meta.fileName))!;
    return Buffer.isBuffer(a.content) ? a.content : (a.content as { read(): Buffer }).read();
  };

  it('prepared or pending: no file, last good files kept, retried; converges once the upload or scan is done; quarantined is an item error', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const [wp, other] = byProject(sim, 'News');
      const before = await treeHashes(dir);
      const png = imageOf(sim);
      // Replace its featured image with a new upload that is not finished yet.
      for (const a of [...sim.dataset.attachments.values()]) if ((a.meta._links as { container?: { href?: string } }).container?.href?.endsWith(`/${wp!.id}`) && a.meta.fileName.startsWith('Curated_Featured_Image.')) sim.deleteAttachment(a.meta.id);
      await medigySync(sim, dir);
      const before2 = await treeHashes(dir);
      const att = sim.addAttachment(wp!.id, { fileName: 'Curated_Featured_Image.png', contentType: 'image/png', status: 'prepared' }, png);
      const r = await medigySync(sim, dir);
      expect(r.errors).toEqual([]);
      expect(r.warnings.join('\n')).toMatch(new RegExp(`#${wp!.id}.*#${att.id}.*not available yet`));
      expect(await treeHashes(dir)).toEqual(before2); // nothing partial, last good files kept
      expect(before2).not.toEqual(before);
      const m = (await readStateJson(dir)) as { sources: Record<string, { retry: number[] }> };
      expect(m.sources.news!.retry).toEqual([wp!.id]);
      // The upload finishes without touching updatedAt: the retry list brings it back.
      sim.setAttachmentStatus(att.id, 'uploaded');
      const r2 = await medigySync(sim, dir);
      expect(r2.errors).toEqual([]);
      expect((await filesOf(dir, wp!.id)).some((p) => p.includes('-featuredImage.'))).toBe(true);
      await expectFresh(sim, dir);
      // A quarantined one: an item error naming the work package and the attachment.
      const bad = sim.addAttachment(other!.id, { fileName: 'Curated_Featured_Image.jpg', contentType: 'image/jpeg', status: 'quarantined' }, png);
      const r3 = await medigySync(sim, dir);
      expect(r3.errors.map((e) => e.workPackageId)).toEqual([other!.id]);
      expect(r3.errors[0]!.message).toContain(`#${bad.id}`);
      expect(r3.errors[0]!.message).toMatch(/quarantined/);
    });
  });
});

describe('ordinary sync: round trips (issue 22)', () => {
  it('each source\'s changes walk is asked beside the id listings, not after them, and only once', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const client = testClient(sim);
    try {
      await medigySync(sim, dir);
      sim.resetCounts();
      // Every id listing answers 300 ms late (a large source paging through its ids).
      const answered: number[] = [];
      const slowListings = new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'listWorkPackageIds') return Reflect.get(target, prop, receiver) as unknown;
          return async (...args: Parameters<typeof client.listWorkPackageIds>) => {
            const r = await target.listWorkPackageIds(...args);
            await new Promise((resolve) => setTimeout(resolve, 300));
            answered.push(performance.now());
            return r;
          };
        },
      });
      const r = await medigySync(sim, dir, { client: slowListings });
      expect(r.errors).toEqual([]);
      expect(r.counts.workPackages.mapped).toBe(0);
      const walks = sim.log().filter((l) => l.route === 'work_packages' && decodeURIComponent(l.path).includes('"updatedAt"'));
      expect(walks).toHaveLength((await medigyConfig()).sources.length);
      // The simulator runs in this process: one clock.
      expect(Math.max(...walks.map((w) => w.startMs))).toBeLessThan(Math.min(...answered));
    } finally {
      await client.close();
      await sim.close();
      await cleanup();
    }
  });
});

describe('targeted sync (onlyIds)', () => {
  it('asks each source once, for full rows, beside the schemas read: names, then {schemas, rows}, then attachments (issue 22)', async () => {
    // Every request answered after 40 ms: a listing that starts before the schemas answer was asked beside them.
    const sim = await startFixtureSimulator({ latencyMs: 40 });
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const [edited] = byProject(sim, 'News');
      retitle(sim, edited!.id, 'Edited for a webhook');
      sim.resetCounts();
      const r = await medigySync(sim, dir, { onlyIds: [edited!.id] });
      expect(r.errors).toEqual([]);
      const log = sim.log();
      const all = log.filter((l) => l.route === 'work_packages');
      expect(all.every((l) => !l.path.includes('select=') && decodeURIComponent(l.path).includes('"id":{"operator":"="'))).toBe(true);
      // Once mapped, its row is asked for again, by id, to find an edit made meanwhile
      // (recheck.ts): the one listing with an updatedAt filter, after the others.
      const again = all.filter((l) => decodeURIComponent(l.path).includes('"updatedAt"'));
      const lists = all.filter((l) => !again.includes(l));
      expect(again).toHaveLength(1);
      expect(lists).toHaveLength((await medigyConfig()).sources.length);
      const schemas = log.find((l) => l.route === 'schemas')!;
      for (const l of lists) expect(l.startMs).toBeLessThan(schemas.endMs!);
      for (const l of lists) expect(l.startMs).toBeLessThan(again[0]!.startMs);
      expect(Object.keys(r.requests.byRoute).sort()).toEqual(['attachments', 'projects', 'schemas', 'statuses', 'types', 'work_packages']);
      await expectFresh(sim, dir);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('asks for the server\'s names before it reads its state, so they arrive while the manifest is parsed (issue 22)', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      // A state this curate refuses once it has read it: whatever the run asked before that, it asked first.
      const file = path.join(dir, '.curate', 'manifest.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as { sources: Record<string, { watermark: string }> };
      m.sources.news!.watermark = 'last tuesday';
      await writeFile(file, JSON.stringify(m));
      sim.resetCounts();
      const client = testClient(sim);
      try {
        const err = await medigySync(sim, dir, { client, onlyIds: [1] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OutputError);
        for (let i = 0; i < 100 && (sim.counts().byRoute.statuses ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(sim.counts().byRoute).toMatchObject({ projects: 1, types: 1, statuses: 1 });
      } finally {
        await client.close();
      }
    });
  });

  it('maps only the given ids, removes a deleted one after confirming, and leaves everything else alone', async () => {
    await withSim(async (sim, dir) => {
      await medigySync(sim, dir);
      const [edited, deleted] = byProject(sim, 'News');
      retitle(sim, edited!.id, 'Edited for a webhook');
      sim.deleteWorkPackage(deleted!.id);
      const before = (await readStateJson(dir)) as { sources: unknown };
      sim.resetCounts();
      const r = await medigySync(sim, dir, { onlyIds: [edited!.id, deleted!.id] });
      expect(r.errors).toEqual([]);
      // One question per source, answered with the rows it matches (membership and the read
      // in one request; the strict id filter answers 400 for the deleted id, so each is split
      // once); no walk, no separate read; then the mapped row asked for again, by id
      // (recheck.ts).
      const lists = sim.log().filter((l) => l.route === 'work_packages').map((l) => decodeURIComponent(l.path));
      const sources = (await medigyConfig()).sources.length;
      expect(lists.length).toBeLessThanOrEqual(3 * sources + 1);
      // Every listing is id-filtered.
      expect(lists.every((p) => p.includes('"id":{"operator":"="'))).toBe(true);
      const after = (await readStateJson(dir)) as { sources: unknown };
      // Each source's record of its recent rows (docs/manifest.md, `recent`) takes the rows
      // the run mapped; nothing else of the sources' state changes.
      const mapped = String(edited!.id);
      const recorded = (sources: unknown): Map<string, string> => {
        const rows = new Map<string, string>();
        for (const s of Object.values(sources as Record<string, { recent?: { rows: Record<string, string> } }>)) {
          for (const id of [mapped, String(deleted!.id)]) {
            if (s.recent?.rows[id] !== undefined) rows.set(id, s.recent.rows[id]!);
            delete s.recent?.rows[id];
          }
        }
        return rows;
      };
      const recordedBefore = recorded(before.sources);
      const recordedAfter = recorded(after.sources);
      expect(after.sources).toEqual(before.sources);
      expect(recordedBefore.has(mapped)).toBe(true);
      expect(recordedAfter.get(mapped)?.split(' ')[0]).toBe(sim.dataset.workPackages.get(edited!.id)!.updatedAt);
      expect(await filesOf(dir, deleted!.id)).toEqual([]);
      await expectFresh(sim, dir);
    });
  });
});
