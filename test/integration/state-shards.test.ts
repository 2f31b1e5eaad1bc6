// The sharded sync state through the real engine and the real CLI: an older manifest is
// upgraded without mapping anything again; shards that disagree with manifest.json (a run
// killed between the two) make the next run read everything and converge; a git merge
// that conflicts under .curate/ is resolved as docs/manifest.md says, and the site ends
// as a fresh sync would leave it.
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStateCache, shardFile, shardOf, type Manifest } from '../../src/output/manifest.js';
import { createWorkPackage } from '../../src/simulator/hooks.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { SyncEvent } from '../../src/sync/index.js';
import { diffTrees, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { readStateJson, shardsNoWalkReads } from '../helpers/state.js';
import { freshMedigyTree, medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';

const same = { missing: [], extra: [], different: [] };
let sim: Simulator;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = await startFixtureSimulator();
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await sim.close();
  await cleanup();
});

const retitle = (id: number, subject: string): void =>
  sim.updateWorkPackage(id, (wp) => {
    wp.subject = subject;
    wp.lockVersion = Number(wp.lockVersion) + 1;
    wp.updatedAt = new Date(Date.parse(String(wp.updatedAt)) + 60_000).toISOString();
  });

/** The lowest and the highest synced id: in different shards of the fixture's state. */
async function farApart(): Promise<[number, number]> {
  const ids = Object.keys((await readStateJson(dir)).workPackages).map(Number).sort((a, b) => a - b);
  const [low, high] = [ids[0]!, ids[ids.length - 1]!];
  expect(shardOf(low)).not.toBe(shardOf(high));
  return [low, high];
}

describe('sharded state through the engine', () => {
  it('a version 2 manifest (every entry inline) is upgraded: nothing is mapped again, no page rewritten', async () => {
    await medigySync(sim, dir);
    const state = await readStateJson(dir);
    const pages = await treeHashes(dir);
    // What curate 0.1 (state format 2) left: one file, every entry inline.
    await rm(path.join(dir, '.curate'), { recursive: true });
    await mkdir(path.join(dir, '.curate'));
    await writeFile(path.join(dir, '.curate', 'manifest.json'), JSON.stringify({ ...state, version: 2 }, null, 2));
    const r = await medigySync(sim, dir);
    expect(r.errors).toEqual([]);
    expect(r.counts.workPackages.mapped).toBe(0);
    expect(r.touchedFiles.filter((f) => !f.startsWith('.curate/'))).toEqual([]);
    expect(r.touchedFiles).toContain('.curate/manifest.json');
    expect((await readdir(path.join(dir, '.curate', 'work-packages'))).length).toBeGreaterThan(1);
    expect(await readStateJson(dir)).toEqual(state);
    expect(diffTrees(await treeHashes(dir), pages)).toEqual(same);
    // And the next run writes nothing at all.
    expect((await medigySync(sim, dir)).touchedFiles).toEqual([]);
  });

  it('a run killed after writing its shards, before manifest.json: the next run reads everything, warns, and converges', async () => {
    await medigySync(sim, dir);
    const [low, high] = await farApart();
    const oldManifest = await readFile(path.join(dir, '.curate', 'manifest.json'));
    retitle(low, 'Edited before the interrupted run');
    const r = await medigySync(sim, dir);
    expect(r.touchedFiles).toContain(shardFile(shardOf(low)));
    // The interrupted run's shard and page are in place, its manifest.json is not.
    await writeFile(path.join(dir, '.curate', 'manifest.json'), oldManifest);
    retitle(high, 'Edited after it');
    const next = await medigySync(sim, dir);
    expect(next.errors).toEqual([]);
    // Every work package mapped again (as --full would), not only the two edited.
    expect(next.counts.workPackages.mapped).toBe(next.counts.workPackages.listed);
    expect(next.warnings.join('\n')).toMatch(/the sync state in \.curate\/ does not agree with itself \(\.curate\/work-packages\/\d+-\d+\.json changed\); reading every work package again/);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    // (The walk of everything capped the watermark at the server's clock before it, which
    // is earlier than the edit made within that second: the next run moves it once.)
    await medigySync(sim, dir);
    const after = await medigySync(sim, dir);
    expect(after.warnings).toEqual([]);
    expect(after.touchedFiles).toEqual([]);
  });

  it('a git merge that conflicts under .curate/ and in a page: take one side as docs/manifest.md says, and `curate sync --full` leaves what a fresh sync would', async () => {
    const env = { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
    const git = (args: string[]): Promise<{ code: number; out: string }> =>
      new Promise((resolve) => execFile('git', args, { cwd: dir, env }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: `${out}${err}` })));
    const sync = async (...extra: string[]): Promise<string> => {
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z', '--quiet', ...extra], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY } });
      expect(r.code, r.stderr).toBe(0);
      return r.stderr;
    };
    await git(['init', '-q', '-b', 'main']);
    await sync();
    const [low, high] = await farApart();
    await git(['add', '-A']);
    await git(['commit', '-qm', 'first sync']);
    // Branch a syncs one edit of the lowest id; branch b, started from main, syncs a later
    // edit of it and an edit of the highest (another shard).
    await git(['checkout', '-q', '-b', 'a']);
    retitle(low, 'Edit one');
    await sync();
    await git(['commit', '-qam', 'a']);
    await git(['checkout', '-q', 'main']);
    await git(['checkout', '-q', '-b', 'b']);
    retitle(low, 'Edit two');
    retitle(high, 'Edit three');
    await sync();
    await git(['add', '-A']);
    await git(['commit', '-qm', 'b']);
    const merge = await git(['merge', 'a']);
    expect(merge.code).not.toBe(0);
    const conflicted = (await git(['diff', '--name-only', '--diff-filter=U'])).out.trim().split('\n');
    expect(conflicted).toEqual(expect.arrayContaining(['.curate/manifest.json', shardFile(shardOf(low))]));
    expect(conflicted.some((f) => f.endsWith('.md'))).toBe(true);
    // A sync on the conflicted tree refuses, saying how to resolve it.
    const refused = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z'], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/git conflict markers: take either side/);
    // The documented way out: take one side of every conflicted file, commit, sync --full.
    await git(['checkout', '--theirs', '--', ...conflicted]);
    await git(['add', '-A']);
    await git(['commit', '-qm', 'merge a']);
    await sync('--full');
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    await sync();
    expect((await git(['status', '--porcelain'])).out.trim().split('\n').filter(Boolean).every((l) => !l.includes('.curate/journal') && !l.includes('.curate/lock'))).toBe(true);
  });

  it('a state cache kept across runs (curate watch) with runs of another process in between: each run maps exactly what changed, and the tree is fresh', async () => {
    const cache = createStateCache();
    await medigySync(sim, dir, { stateCache: cache });
    const [low, high] = await farApart();
    retitle(low, 'Edited for the cron run');
    // A run without the cache (cron, another process) rewrites that shard.
    expect((await medigySync(sim, dir)).counts.workPackages.mapped).toBe(1);
    retitle(high, 'Edited for the watcher');
    const watched = await medigySync(sim, dir, { stateCache: cache, onlyIds: [high] });
    expect(watched.errors).toEqual([]);
    expect(watched.warnings).toEqual([]);
    const next = await medigySync(sim, dir, { stateCache: cache });
    // A stale cached shard would show the cron run's edit as unsynced and map it again.
    expect(next.counts.workPackages.mapped).toBe(0);
    expect(next.touchedFiles.filter((f) => !f.startsWith('.curate/'))).toEqual([]);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });
});

describe('the state read lazily: a run reads the shards it needs (format 4 summaries)', () => {
  const quietShards = async (): Promise<Map<number, number[]>> => {
    const quiet = await shardsNoWalkReads(dir);
    expect(quiet.size, 'the fixture leaves shards no walk reads').toBeGreaterThan(0);
    return quiet;
  };

  it('a no-change run reads no shard whose rows the walk did not return; an edit reads its own shard', async () => {
    await medigySync(sim, dir);
    const quiet = await quietShards();
    const events: SyncEvent[] = [];
    const r = await medigySync(sim, dir, { onEvent: (e) => events.push(e) });
    expect(r.errors).toEqual([]);
    expect(r.touchedFiles).toEqual([]);
    expect(r.counts.workPackages.skipped).toBe(r.counts.workPackages.listed);
    expect(r.state.shards).toBe((await readdir(path.join(dir, '.curate', 'work-packages'))).length);
    expect(r.state.shardsRead).toBeLessThanOrEqual(r.state.shards - quiet.size);
    // Those kept on their shard's summary say so (the CLI's memory policy counts them as no garbage).
    const bySummary = new Set(events.flatMap((e) => (e.type === 'keptShard' ? e.ids : [])));
    const quietIds = [...quiet.values()].flat();
    expect(quietIds.length).toBeGreaterThan(0);
    for (const id of quietIds) expect(bySummary.has(id)).toBe(true);
    // An edit in one of those shards: that shard is read (and rewritten), the result is a fresh sync's.
    const [shard, ids] = [...quiet][0]!;
    retitle(ids[0]!, 'Edited in a shard no walk had read');
    const edited = await medigySync(sim, dir);
    expect(edited.errors).toEqual([]);
    expect(edited.counts.workPackages.mapped).toBe(1);
    expect(edited.touchedFiles).toContain(shardFile(shard));
    expect(edited.state.shardsRead).toBeGreaterThanOrEqual(1);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    expect((await readStateJson(dir)).workPackages).toEqual((await freshState()).workPackages);
  });

  it('the run after a run with changes reads no shard: the rows its walk returns again are decided from the record of recent rows', async () => {
    await medigySync(sim, dir);
    const [low, high] = await farApart();
    retitle(low, 'Edited before a cron run');
    retitle(high, 'Edited before a cron run, too');
    const edited = await medigySync(sim, dir);
    expect(edited.errors).toEqual([]);
    expect(edited.counts.workPackages.mapped).toBe(2);
    const recorded = Object.values((await readStateJson(dir)).sources).flatMap((s) => Object.keys(s.recent?.rows ?? {}).map(Number));
    expect(recorded).toEqual(expect.arrayContaining([low, high]));
    // The changes walk starts `overlapSeconds` before the watermark: both rows come back,
    // equal to their record, so neither shard is read; nor is any other.
    const events: SyncEvent[] = [];
    const again = await medigySync(sim, dir, { onEvent: (e) => events.push(e) });
    expect(again.errors).toEqual([]);
    expect(events.filter((e) => e.type === 'page').length).toBeGreaterThan(0);
    expect(again.counts.workPackages.mapped).toBe(0);
    expect(again.state.shardsRead).toBe(0);
    expect(again.touchedFiles).toEqual([]);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a record of more rows than the run holds undigested at once (80 new work packages): every one recorded, the next run reads no shard', async () => {
    await medigySync(sim, dir);
    const [low] = await farApart();
    const added = Array.from({ length: 80 }, (_, i) => {
      const id = createWorkPackage(sim, low, { subject: `Added in bulk ${i}` });
      // Its own Clean URL (the medigy page's path), or every copy would claim the template's.
      sim.updateWorkPackage(id, (wp) => void (wp.customField1 = `https://example.org/bulk-${i}`));
      return id;
    });
    const created = await medigySync(sim, dir);
    expect(created.errors).toEqual([]);
    expect(created.counts.workPackages.mapped).toBe(80);
    const rows = Object.values((await readStateJson(dir)).sources).flatMap((s) => Object.entries(s.recent?.rows ?? {}));
    for (const id of added) {
      const wp = sim.dataset.workPackages.get(id)!;
      expect(rows.find(([rid]) => Number(rid) === id)?.[1].split(' ').slice(0, 2)).toEqual([wp.updatedAt, String(wp.lockVersion)]);
    }
    const again = await medigySync(sim, dir);
    expect(again.counts.workPackages.mapped).toBe(0);
    expect(again.state.shardsRead).toBe(0);
    expect(again.touchedFiles).toEqual([]);
  });

  it('a source with more rows inside the overlap than a record holds stores none, and its next run reads their shards as before', async () => {
    await medigySync(sim, dir);
    const [low, high] = await farApart();
    retitle(low, 'Edited in a bulk change');
    retitle(high, 'Edited in a bulk change, too');
    // Records of no row: each edited row is one more than its source's record may hold.
    const edited = await medigySync(sim, dir, { recentRows: 0 });
    expect(edited.counts.workPackages.mapped).toBe(2);
    const sources = (await readStateJson(dir)).sources;
    const holding = Object.entries(sources).filter(([, s]) => s.recent && (low in s.recent.rows || high in s.recent.rows));
    expect(holding, 'no record holds the edited rows').toEqual([]);
    const again = await medigySync(sim, dir, { recentRows: 0 });
    expect(again.errors).toEqual([]);
    expect(again.counts.workPackages.mapped).toBe(0);
    expect(again.state.shardsRead).toBeGreaterThanOrEqual(2);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a targeted run (curate watch) reads the shard of the work package it is asked about, not the whole state, and leaves a fresh tree', async () => {
    await medigySync(sim, dir);
    const [, high] = await farApart();
    retitle(high, 'Edited, then a webhook');
    const events: SyncEvent[] = [];
    const r = await medigySync(sim, dir, { onlyIds: [high], onEvent: (e) => events.push(e) });
    expect(r.errors).toEqual([]);
    expect(r.counts.workPackages.mapped).toBe(1);
    expect(r.state.shards).toBeGreaterThan(1);
    // Its own shard; the medigy profile shows no other work package's facts, and the new
    // page's path is named in no other shard's summary.
    expect(events.flatMap((e) => (e.type === 'stateRead' ? [e.shard] : []))).toEqual([shardOf(high)]);
    expect(r.state.shardsRead).toBe(1);
    // Deleted on the server, then a webhook: its shard is read to remove its files.
    const [low] = await farApart();
    expect(shardOf(low)).not.toBe(shardOf(high));
    const lowFiles = Object.keys((await readStateJson(dir)).workPackages[String(low)]!.files);
    sim.deleteWorkPackage(low);
    const gone = await medigySync(sim, dir, { onlyIds: [low] });
    expect(gone.errors).toEqual([]);
    expect(gone.state.shardsRead).toBe(1);
    expect(gone.counts.total.delete).toBe(lowFiles.length);
    const next = await medigySync(sim, dir);
    expect(next.counts.workPackages.mapped).toBe(0);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    expect((await readStateJson(dir)).workPackages).toEqual((await freshState()).workPackages);
  });

  it('a shard read for an edit is kept as text: only the entries the run looks at are parsed, and the shard written is the fresh one', async () => {
    await medigySync(sim, dir);
    const state = await readStateJson(dir);
    const byShard = new Map<number, number[]>();
    for (const id of Object.keys(state.workPackages).map(Number)) byShard.set(shardOf(id), [...(byShard.get(shardOf(id)) ?? []), id]);
    // One edit in each of the two fullest shards.
    const fullest = [...byShard].sort((a, b) => b[1].length - a[1].length).slice(0, 2);
    for (const [, ids] of fullest) retitle(ids[Math.floor(ids.length / 2)]!, `Edited ${ids.length}`);
    const events: SyncEvent[] = [];
    const r = await medigySync(sim, dir, { onEvent: (e) => events.push(e) });
    expect(r.errors).toEqual([]);
    expect(r.counts.workPackages.mapped).toBe(2);
    const read = [...byShard].filter(([shard]) => r.touchedFiles.includes(shardFile(shard)) || fullest.some(([s]) => s === shard));
    const inRead = read.reduce((n, [, ids]) => n + ids.length, 0);
    // Parsed: the rows the walks returned (compared with their entries), nothing else.
    const walkRows = events.reduce((n, e) => n + (e.type === 'page' ? e.workPackages : 0), 0);
    expect(r.state.shardsRead).toBeGreaterThanOrEqual(2);
    expect(r.state.entriesParsed).toBeLessThanOrEqual(walkRows);
    expect(inRead, 'the read shards hold many more entries than the run looked at').toBeGreaterThan(2 * walkRows);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    const fresh = await tempDir('curate-fresh-');
    try {
      await medigySync(sim, fresh.dir);
      for (const [shard] of fullest) expect(await readFile(path.join(dir, shardFile(shard)), 'utf8')).toBe(await readFile(path.join(fresh.dir, shardFile(shard)), 'utf8'));
      const summaries = async (root: string): Promise<unknown> => (JSON.parse(await readFile(path.join(root, '.curate', 'manifest.json'), 'utf8')) as { shards: unknown }).shards;
      expect(await summaries(dir)).toEqual(await summaries(fresh.dir));
    } finally {
      await fresh.cleanup();
    }
  });

  it.each([
    ['its text let go of, read again to be written', 0],
    ['its text held (found by the file\'s stamp when the shard is written)', undefined],
  ] as [string, number | undefined][])('a shard edited by hand while a run holds it (%s): the run starts again reading everything, and converges', async (_how, stateTextBytes) => {
    await medigySync(sim, dir);
    const [low, high] = await farApart();
    retitle(low, 'Edited, low shard');
    retitle(high, 'Edited, high shard');
    const shards = [shardFile(shardOf(low)), shardFile(shardOf(high))];
    let edited = 0;
    const phases: string[] = [];
    const r = await medigySync(sim, dir, {
      // 0: no shard text kept beyond the two last used, so writing the state may read them
      // again; the default budget holds every text of this small state.
      ...(stateTextBytes === undefined ? {} : { stateTextBytes }),
      onEvent: (e) => {
        if (e.type !== 'phase') return;
        phases.push(e.phase);
        if (e.phase !== 'apply' || edited++) return;
        // A hand edit (a new file, other bytes) after the run read both shards.
        for (const f of shards) {
          const abs = path.join(dir, f);
          writeFileSync(`${abs}.tmp`, `${readFileSync(abs, 'utf8')}\n`);
          renameSync(`${abs}.tmp`, abs);
        }
      },
    });
    expect(r.errors).toEqual([]);
    // Started again (a second resolve), reading the state whole: torn, every work package read.
    expect(phases.filter((p) => p === 'resolve').length).toBe(2);
    expect(r.warnings.some((w) => w.includes('does not agree with itself'))).toBe(true);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    expect((await readStateJson(dir)).workPackages).toEqual((await freshState()).workPackages);
    // The run after maps nothing and touches no page (after a walk of everything, its
    // watermark may still move to the newest row, as after any full walk).
    const next = await medigySync(sim, dir);
    expect(next.counts.workPackages.mapped).toBe(0);
    expect(next.touchedFiles.filter((f) => !f.startsWith('.curate/'))).toEqual([]);
  });

  it('a page deleted by hand in a shard the run does not read is written again (checked by its name hash)', async () => {
    await medigySync(sim, dir);
    const quiet = await quietShards();
    const id = [...quiet.values()][0]![0]!;
    const page = Object.keys((await readStateJson(dir)).workPackages[String(id)]!.files).find((p) => p.endsWith('.md'))!;
    await rm(path.join(dir, page));
    const r = await medigySync(sim, dir);
    expect(r.errors).toEqual([]);
    expect(r.plan.files.filter((f) => f.action !== 'unchanged').map((f) => [f.path, f.action])).toEqual([[page, 'create']]);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a path an edited page wants, owned in a shard the run does not read, is the same collision as in a fresh sync', async () => {
    // The news variant names its files after the Clean URL (customField1). The fixture's two
    // news work packages are in shards every walk reads, so a third one, old and unedited,
    // is made in shard 2, which none does.
    await medigySync(sim, dir);
    const [template] = Object.entries((await readStateJson(dir)).workPackages).filter(([, w]) => w.source === 'news').map(([id]) => Number(id));
    // Added as a restore would (the simulator's edits stamp updatedAt with its clock).
    const owner = 2500;
    const copy = structuredClone(sim.dataset.workPackages.get(template!)!);
    sim.addWorkPackage({ ...copy, id: owner, subject: 'Quiet news', customField1: 'https://example.org/quiet-news', updatedAt: '2020-06-01T00:00:00.000Z', lockVersion: 1, _links: { ...copy._links, self: { href: `/api/v3/work_packages/${owner}`, title: 'Quiet news' }, attachments: { href: `/api/v3/work_packages/${owner}/attachments` } } });
    await medigySync(sim, dir);
    const quiet = await quietShards();
    expect(quiet.get(shardOf(owner))).toContain(owner);
    const taker = Object.entries((await readStateJson(dir)).workPackages).map(([id, w]) => [Number(id), w.source] as const).find(([id, source]) => source === 'news' && shardOf(id) !== shardOf(owner))![0];
    sim.updateWorkPackage(taker, (wp) => {
      wp.customField1 = 'https://example.org/quiet-news';
      wp.lockVersion = Number(wp.lockVersion) + 1;
      wp.updatedAt = new Date(Date.parse(String(wp.updatedAt)) + 60_000).toISOString();
    });
    const r = await medigySync(sim, dir);
    expect(r.errors.map((e) => [e.kind, e.workPackageId])).toEqual([['collision', Math.max(owner, taker)]]);
    const fresh = await tempDir('curate-fresh-');
    try {
      const f = await medigySync(sim, fresh.dir);
      expect(f.errors.map((e) => [e.kind, e.workPackageId])).toEqual([['collision', Math.max(owner, taker)]]);
      expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual(same);
    } finally {
      await fresh.cleanup();
    }
  });

  it('a shard edited by hand (same size) is caught when a run reads it: that run starts again reading everything, and converges', async () => {
    await medigySync(sim, dir);
    const quiet = await quietShards();
    const [shard, ids] = [...quiet][0]!;
    const file = path.join(dir, shardFile(shard));
    const text = await readFile(file, 'utf8');
    // Same bytes count: only the digest tells.
    const edited = text.replace(/"lockVersion": (\d)/, (_m, d: string) => `"lockVersion": ${(Number(d) + 1) % 10}`);
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    // A run that does not read that shard does not see it.
    expect((await medigySync(sim, dir)).warnings).toEqual([]);
    retitle(ids[0]!, 'Edited, so its shard is read');
    const r = await medigySync(sim, dir);
    expect(r.errors).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(new RegExp(`does not agree with itself \\(${shardFile(shard).replace(/[.]/g, '\\.')} changed\\); reading every work package again`));
    expect(r.counts.workPackages.mapped).toBe(r.counts.workPackages.listed);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a targeted run (curate watch) that reads a shard edited by hand (same size) starts again as an ordinary run, and converges', async () => {
    await medigySync(sim, dir);
    const [, high] = await farApart();
    const file = path.join(dir, shardFile(shardOf(high)));
    const text = await readFile(file, 'utf8');
    const edited = text.replace(/"lockVersion": (\d)/, (_m, d: string) => `"lockVersion": ${(Number(d) + 1) % 10}`);
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    retitle(high, 'Edited, then a webhook, on a torn state');
    const r = await medigySync(sim, dir, { onlyIds: [high] });
    expect(r.errors).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(new RegExp(`does not agree with itself \\(${shardFile(shardOf(high)).replace(/[.]/g, '\\.')} changed\\); reading every work package again`));
    expect(r.counts.workPackages.mapped).toBe(r.counts.workPackages.listed);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    expect((await readStateJson(dir)).workPackages).toEqual((await freshState()).workPackages);
  });

  it('a shard whose size differs from its summary, or a missing shard, is seen before anything is read', async () => {
    await medigySync(sim, dir);
    const [shard] = [...(await quietShards()).keys()];
    const file = path.join(dir, shardFile(shard!));
    await writeFile(file, `${await readFile(file, 'utf8')}\n`);
    const r = await medigySync(sim, dir);
    expect(r.warnings.join('\n')).toMatch(/does not agree with itself/);
    expect(r.state.shardsRead).toBe(r.state.shards);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    await rm(file);
    const again = await medigySync(sim, dir);
    expect(again.warnings.join('\n')).toMatch(new RegExp(`${shardFile(shard!).replace(/[.]/g, '\\.')} is missing`));
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('state of format 3 (digests only) is upgraded by the next run, which writes manifest.json alone; the run after reads lazily', async () => {
    await medigySync(sim, dir);
    const top = path.join(dir, '.curate', 'manifest.json');
    const v4 = JSON.parse(await readFile(top, 'utf8')) as { version: number; shards: Record<string, { digest: string }> };
    const v4Text = await readFile(top, 'utf8');
    const v3 = { ...v4, version: 3, shards: Object.fromEntries(Object.entries(v4.shards).map(([k, v]) => [k, v.digest])) };
    await writeFile(top, JSON.stringify(v3, null, 2));
    const r = await medigySync(sim, dir);
    expect(r.errors).toEqual([]);
    expect(r.counts.workPackages.mapped).toBe(0);
    expect(r.touchedFiles).toEqual(['.curate/manifest.json']);
    expect(r.state.shardsRead).toBe(r.state.shards);
    expect(await readFile(top, 'utf8')).toBe(v4Text);
    const next = await medigySync(sim, dir);
    expect(next.touchedFiles).toEqual([]);
    expect(next.state.shardsRead).toBeLessThan(next.state.shards);
  });
});

async function freshState(): Promise<Manifest> {
  const fresh = await tempDir('curate-fresh-');
  try {
    await medigySync(sim, fresh.dir);
    return await readStateJson(fresh.dir);
  } finally {
    await fresh.cleanup();
  }
}
