// The sharded sync state through the real engine and the real CLI: an older manifest is
// upgraded without mapping anything again; shards that disagree with manifest.json (a run
// killed between the two) make the next run read everything and converge; a git merge
// that conflicts under .curate/ is resolved as docs/manifest.md says, and the site ends
// as a fresh sync would leave it.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStateCache, shardFile, shardOf } from '../../src/output/manifest.js';
import type { Simulator } from '../../src/simulator/index.js';
import { diffTrees, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { readStateJson } from '../helpers/state.js';
import { medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';

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

async function freshTree(): Promise<Map<string, string>> {
  const fresh = await tempDir('curate-fresh-');
  try {
    expect((await medigySync(sim, fresh.dir)).errors).toEqual([]);
    return await treeHashes(fresh.dir);
  } finally {
    await fresh.cleanup();
  }
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
    expect(diffTrees(await treeHashes(dir), await freshTree())).toEqual(same);
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
    expect(diffTrees(await treeHashes(dir), await freshTree())).toEqual(same);
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
    expect(diffTrees(await treeHashes(dir), await freshTree())).toEqual(same);
  });
});
