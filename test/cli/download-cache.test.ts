// A dry run and the real run after it download each attachment once; so do a run stopped
// with Ctrl-C and the next one. The kept downloads are checked (md5 and size) before use:
// a corrupted entry is downloaded again, and the tree is always the fresh-sync tree. The
// real CLI against the simulator; the cache in a temp folder ($CURATE_CACHE_DIR).
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { BIN, FIXTURE_DATASET, FIXTURE_EXPECTED, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';

const KEY = 'opapi-cache-key-9d2f';
const NOW = '2021-02-19T00:00:00Z';
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
});
afterAll(async () => {
  await sim.close();
});
const downloads = (): number => (sim.counts().byRoute.content ?? 0);
const entries = async (cache: string): Promise<string[]> => (await readdir(cache, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));

/** The fresh-sync tree: the fixtures' expected output (medigy-e2e checks the binary writes exactly it from this dataset, config and --now). */
const fresh = (): Promise<Map<string, string>> => treeHashes(FIXTURE_EXPECTED);
/** The attachments a run downloaded (each id once, however often it was asked for). */
const downloadedIds = (s: Simulator): Set<string> => new Set(s.log().filter((l) => l.route === 'content').map((l) => /\/attachments\/(\d+)\/content/.exec(l.path)![1]!));

describe('downloads kept between runs', () => {
  it('dry run, then the real run: every attachment is downloaded once; a corrupted entry is downloaded again; the cache is emptied once applied', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = path.join(dir, 'cache');
      const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY, CURATE_CACHE_DIR: cache };
      const out = path.join(dir, 'site');
      const args = ['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW];
      sim.resetCounts();
      const dry = await runCli([...args, '--dry-run'], { env });
      expect(dry.code).toBe(2);
      const downloaded = downloads();
      expect(downloaded).toBeGreaterThan(10);
      const kept = await entries(cache);
      expect(kept).toHaveLength(downloaded);
      expect(await readdir(out).catch(() => [])).toEqual([]); // the dry run wrote nothing under the root

      // One entry corrupted on disk (same size): its md5 no longer matches, so it is downloaded again.
      const bad = kept.sort()[0]!;
      const bytes = await readFile(bad);
      bytes[0] = bytes[0]! ^ 0xff;
      await writeFile(bad, bytes);
      sim.resetCounts();
      const real = await runCli(args, { env });
      expect(real.code, real.stderr).toBe(0);
      expect(downloads()).toBe(1);
      expect(await treeHashes(out)).toEqual(await fresh());
      expect(await entries(cache)).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('Ctrl-C during a real run: what was downloaded is not downloaded again by the next run', async () => {
    const { dir, cleanup } = await tempDir();
    const slow = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, latencyMs: 60 });
    try {
      const cache = path.join(dir, 'cache');
      const env = { PATH: process.env.PATH, OPENPROJECT_URL: slow.url, OPENPROJECT_API_KEY: KEY, CURATE_CACHE_DIR: cache };
      const out = path.join(dir, 'site');
      const args = [BIN, 'sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--concurrency', '2'];
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      // Interrupted once a few downloads are done and kept (each request is answered after 60 ms).
      const kept = async (): Promise<number> => (await entries(cache).catch(() => [] as string[])).filter((f) => !path.basename(f).startsWith('.tmp-')).length;
      while ((await kept()) < 3) {
        if (child.exitCode !== null) throw new Error('the sync ended before it was interrupted');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      const before = slow.counts().byRoute.content ?? 0;
      const interrupted = downloadedIds(slow);
      const keptAfterInterrupt = await kept();
      expect(keptAfterInterrupt).toBeGreaterThanOrEqual(3);
      slow.resetCounts();
      const again = await runCli(args.slice(1), { env });
      expect(again.code, again.stderr).toBe(0);
      const second = slow.counts().byRoute.content ?? 0;
      // A cold run's downloads (no cache), to compare with: every attachment either run
      // asked for (the two together wrote the whole tree; each id counted once).
      const cold = new Set([...interrupted, ...downloadedIds(slow)]).size;
      expect(cold).toBeGreaterThan(10);
      // What was kept is not downloaded again: together, at most the cold run's downloads plus those cut off in flight.
      expect(second).toBeLessThanOrEqual(cold - keptAfterInterrupt);
      expect(before + second).toBeLessThanOrEqual(cold + 4);
      expect(await treeHashes(out)).toEqual(await fresh());
    } finally {
      await slow.close();
      await cleanup();
    }
  }, 90_000);
});
