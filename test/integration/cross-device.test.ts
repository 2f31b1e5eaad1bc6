// Issue 19 failure 10: a subfolder of the output root on another mount. Staging lives in
// `.curate/` under the root, and a rename across filesystems fails with EXDEV, which failed
// the whole run. Now such a target is written by a copy in its own folder, made durable and
// renamed there (still atomic), and the run succeeds with the tree a plain sync writes.
// Two ways: EXDEV injected at the fs boundary of src/output/ (always runs), and a real
// tmpfs mounted inside the output root (only where mounting is permitted, else skipped).
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fsBoundary } from '../../src/output/writer.js';
import { diffTrees, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { freshMedigyTree, medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';

const same = { missing: [], extra: [], different: [] };
const NOW = '2021-02-19T00:00:00Z';
const realRename = fsBoundary.rename;
afterEach(() => {
  fsBoundary.rename = realRename;
});

/** Every file name under `dir` (recursively) that is a temp file of curate's writer. */
async function tempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.name.startsWith('.curate-tmp-')) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe('a subfolder of the output root on another filesystem (issue 19 #10)', () => {
  it('EXDEV on every rename into news/ from outside it: the run writes everything, atomically, and converges', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const fresh = await tempDir();
    try {
      const mount = path.join(dir, 'news') + path.sep;
      let refused = 0;
      fsBoundary.rename = async (from, to) => {
        if (to.startsWith(mount) && !from.startsWith(mount)) {
          refused += 1;
          throw Object.assign(new Error(`EXDEV: cross-device link not permitted, rename '${from}' -> '${to}'`), { code: 'EXDEV', syscall: 'rename' });
        }
        return realRename(from, to);
      };
      const first = await medigySync(sim, dir);
      expect(first.errors).toEqual([]);
      expect(refused).toBeGreaterThan(0);
      await medigySync(sim, fresh.dir, { client: createFakeClient(sim.dataset) }); // the oracle, in memory
      expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual(same);
      expect(await tempFiles(dir)).toEqual([]);

      // An edit under news/ and a temp file a killed run left there: written, and swept.
      const news = first.plan.files.find((f) => f.path.startsWith('news/') && f.path.endsWith('.md'))!;
      const left = path.join(dir, path.posix.dirname(news.path), '.curate-tmp-99999-deadbeef-1');
      await writeFile(left, 'half a copy');
      sim.updateWorkPackage(news.workPackageId, (w) => void ((w.description as { raw: string }).raw = 'Edited under the other mount'));
      const second = await medigySync(sim, dir);
      expect(second.errors).toEqual([]);
      expect(second.counts.total.update + second.counts.total.create).toBeGreaterThan(0);
      expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
      expect(await tempFiles(dir)).toEqual([]);
    } finally {
      await sim.close();
      await cleanup();
      await fresh.cleanup();
    }
  });

  it('a real tmpfs mounted at news/ inside the output root (the real binary)', async (ctx) => {
    const { dir, cleanup } = await tempDir();
    const sim = await startFixtureSimulator();
    const mountPoint = path.join(dir, 'site', 'news');
    let mounted = false;
    try {
      await mkdir(mountPoint, { recursive: true });
      try {
        await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', mountPoint]);
        mounted = true;
      } catch (e) {
        console.warn(`SKIPPED (cannot mount a tmpfs here: ${(e as Error).message.split('\n')[0]}); the EXDEV fault-injection test above covers the behaviour`);
        ctx.skip();
        return;
      }
      const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY };
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', path.join(dir, 'site'), '--now', NOW], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/EXDEV/);
      const other = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', path.join(dir, 'plain'), '--now', NOW], { env });
      expect(other.code, other.stderr).toBe(0);
      expect(diffTrees(await treeHashes(path.join(dir, 'site')), await treeHashes(path.join(dir, 'plain')))).toEqual(same);
      expect((await treeHashes(mountPoint)).size).toBeGreaterThan(0);
      expect(await tempFiles(path.join(dir, 'site'))).toEqual([]);
    } finally {
      if (mounted) await promisify(execFile)('umount', [mountPoint]);
      await sim.close();
      await cleanup();
    }
  }, 60_000);
});
