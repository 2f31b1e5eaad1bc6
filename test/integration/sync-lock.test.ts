// The lock and the abort signal, in process: two runs on one root, stale locks (dead pid,
// too old), dry runs beside a live sync, aborting at a random checkpoint.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { acquireLock, STALE_LOCK_MS } from '../../src/output/lock.js';
import { diffTrees, FIXTURE_EXPECTED, tempDir, treeHashes } from '../helpers/env.js';
import { generateDataset, startSimulator } from '../../src/simulator/index.js';
import { medigySync, startFixtureSimulator, TEST_KEY, testClient } from '../helpers/sync-harness.js';

const same = { missing: [], extra: [], different: [] };

/** A pid that surely is not running: a child that already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

async function writeLock(root: string, info: { pid: number; hostname: string; startedAt: string }): Promise<void> {
  await mkdir(path.join(root, '.curate'), { recursive: true });
  await writeFile(path.join(root, '.curate', 'lock'), `${JSON.stringify(info)}\n`);
}

describe('lock', () => {
  it('two runs started together on one root: exactly one writes, the other fails at once with LockedError naming the pid', async () => {
    const sim = await startFixtureSimulator({ latencyMs: 5 });
    const { dir, cleanup } = await tempDir();
    try {
      const results = await Promise.allSettled([medigySync(sim, dir), medigySync(sim, dir)]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.reason).toBeInstanceOf(LockedError);
      expect(String(refused[0]!.reason.message)).toContain(`pid ${process.pid} on ${hostname()}, started 20`);
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
      expect((await readdir(path.join(dir, '.curate'))).sort()).toEqual(['local', 'manifest.json', 'work-packages']); // lock released
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a live lock refuses real and dry runs and is left as it was', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      // Alive, and not this process: this process's own pid in a lock it does not hold is stale.
      const info = { pid: process.ppid, hostname: hostname(), startedAt: new Date().toISOString() };
      await writeLock(dir, info);
      await expect(medigySync(sim, dir)).rejects.toThrow(LockedError);
      await expect(medigySync(sim, dir, { dryRun: true })).rejects.toThrow(/half-applied/);
      expect(JSON.parse(await readFile(path.join(dir, '.curate', 'lock'), 'utf8'))).toEqual(info);
      expect(await readdir(dir)).toEqual(['.curate']);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a lock of a dead pid on this host, or one older than the limit, is taken over with a warning', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const pid = deadPid();
      await writeLock(dir, { pid, hostname: hostname(), startedAt: new Date().toISOString() });
      const r = await medigySync(sim, dir);
      expect(r.warnings.join('\n')).toContain(`took over a stale lock left by pid ${pid}`);
      expect(r.warnings.join('\n')).toContain('is not running');
      // Another host's lock cannot be checked by pid; only its age makes it stale.
      const old = new Date(Date.now() - STALE_LOCK_MS - 60_000).toISOString();
      await writeLock(dir, { pid: 1, hostname: 'elsewhere.example', startedAt: old });
      const r2 = await medigySync(sim, dir);
      expect(r2.warnings.join('\n')).toMatch(/stale lock left by pid 1 on elsewhere\.example .*older than 12 h/);
      await writeLock(dir, { pid: 1, hostname: 'elsewhere.example', startedAt: new Date().toISOString() });
      await expect(medigySync(sim, dir)).rejects.toThrow(/pid 1 on elsewhere\.example/);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('the lock records the wall clock, not the injected one (an old --now must not look stale)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const lock = await acquireLock(dir);
      const info = JSON.parse(await readFile(path.join(dir, '.curate', 'lock'), 'utf8')) as { startedAt: string; pid: number };
      expect(Math.abs(Date.parse(info.startedAt) - Date.now())).toBeLessThan(60_000);
      expect(info.pid).toBe(process.pid);
      await expect(acquireLock(dir)).rejects.toThrow(LockedError);
      await lock.release();
      expect(await stat(path.join(dir, '.curate', 'lock')).catch(() => null)).toBeNull();
    } finally {
      await cleanup();
    }
  });
});

describe('dry run beside a real run', () => {
  it('a real sync that applies changes while a dry run reads makes the dry run fail instead of mixing two states', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const wp = [...sim.dataset.workPackages.values()].sort((x, y) => x.id - y.id)[0]!;
      sim.updateWorkPackage(wp.id, (w) => {
        w.subject = `${String(w.subject)} (edited while a dry run reads)`;
      });
      // The dry run's client lets the real run apply everything before it answers its first request.
      const real = testClient(sim);
      const slow = testClient(sim);
      let realRun: Promise<unknown> | null = null;
      const gated = new Proxy(slow, {
        get(target, prop, receiver) {
          if (prop === 'listProjects') {
            return async () => {
              realRun ??= medigySync(sim, dir, { client: real });
              await realRun;
              return target.listProjects();
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      await expect(medigySync(sim, dir, { dryRun: true, client: gated })).rejects.toThrow(/applied changes .* while the dry run was reading/);
      expect(realRun).not.toBeNull();
      // With nothing running, the same dry run succeeds and sees the applied state: no changes.
      const quiet = await medigySync(sim, dir, { dryRun: true, client: slow });
      await quiet.dispose();
      expect(quiet.counts.total).toMatchObject({ create: 0, update: 0, delete: 0 });
      await real.close();
      await slow.close();
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});

describe('abort signal', () => {
  it('an abort while listing is paused (over 1,000 work packages waiting) ends the run with its reason, no unhandled rejection', async () => {
    // 3,000 synthetic work packages, most in one source, 20 ms per request: after its page 2
    // about 2,000 wait to be processed, so that listing is paused for room when the abort
    // clears the queue. The aborted tasks of a source that stops early must not surface as
    // unhandled rejections (vitest fails the run on those).
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 3000, seed: 3 }), apiKey: TEST_KEY, latencyMs: 20 });
    const { dir, cleanup } = await tempDir();
    try {
      const controller = new AbortController();
      let pages = 0;
      const run = medigySync(sim, dir, {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'page' && e.offset === 2 && ++pages === 1) setTimeout(() => controller.abort(new Error('stop while paused')), 300);
        },
      });
      // A hang is counted from the abort: getting there (3,000 work packages listed and
      // queued) is what a busy machine slows, and counting it as hanging (a 20 s bound from
      // the start) made the test fail under load with nothing hung.
      const aborted = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
      const hung = aborted.then(() => new Promise((r) => setTimeout(() => r('hung: no end 10 s after the abort'), 10_000).unref()));
      const outcome = await Promise.race([run.then(() => 'finished', (e: Error) => e.message), hung]);
      expect(outcome).toBe('stop while paused');
      expect(await stat(path.join(dir, '.curate', 'lock')).catch(() => null)).toBeNull();
    } finally {
      await sim.close();
      await cleanup();
    }
  }, 60_000);

  it('aborting mid-run stops it, releases the lock, leaves only complete files, and the next run converges', async () => {
    const sim = await startFixtureSimulator({ latencyMs: 2 });
    const { dir, cleanup } = await tempDir();
    try {
      const expected = await treeHashes(FIXTURE_EXPECTED);
      for (const after of [3, 40]) {
        const controller = new AbortController();
        let downloads = 0;
        const run = medigySync(sim, dir, {
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'download' && ++downloads === after) controller.abort(new Error('stop here'));
          },
        });
        await expect(run).rejects.toThrow('stop here');
        for (const [rel, hash] of await treeHashes(dir)) expect(expected.get(rel), rel).toBe(hash);
        expect(await stat(path.join(dir, '.curate', 'lock')).catch(() => null)).toBeNull();
      }
      await medigySync(sim, dir);
      expect(diffTrees(await treeHashes(dir), expected)).toEqual(same);
      expect((await readdir(path.join(dir, '.curate'))).sort()).toEqual(['local', 'manifest.json', 'work-packages']);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
