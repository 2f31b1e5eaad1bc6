// Folder stamps on a real site (src/output/folder-stamps.ts, src/sync/folder-trust.ts): a
// run that found every owned file of a folder, long enough after the folder last changed,
// records its stamp; the next run takes that folder as unchanged instead of listing it, and
// lists it again once anything in it changed. The engine over HTTP against the simulator.
import { existsSync } from 'node:fs';
import fsPromises, { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FOLDER_STAMPS_FILE } from '../../src/output/folder-stamps.js';
import { diffTrees, git, tempDir, treeHashes } from '../helpers/env.js';
import { freshMedigyTree, medigySync, startFixtureSimulator, testClient } from '../helpers/sync-harness.js';
import { readStateJson } from '../helpers/state.js';

const same = { missing: [], extra: [], different: [] };
// Wide enough for this machine's file-time tick (≤ 10 ms), far below the default 2 s; and
// every folder of the fixture site stamped (they hold 2 to 11 files; the default is 64).
const MARGIN = 25;
const STAMPS = { folderStampMarginMs: MARGIN, folderStampMinFiles: 1 };

/**
 * Calls `before` with each path under `dir` that `fs/promises`' `call` (opendir, open) is
 * given, awaited before the real call, for the modules that import it by name too, until
 * the returned function restores it.
 */
function watchFs(call: 'opendir' | 'open', dir: string, before: (at: string) => unknown): () => void {
  const real = fsPromises[call] as (...args: unknown[]) => Promise<unknown>;
  (fsPromises as Record<typeof call, unknown>)[call] = async (...args: unknown[]) => {
    if (String(args[0]).startsWith(dir)) await before(String(args[0]));
    return real(...args);
  };
  syncBuiltinESMExports();
  return () => {
    (fsPromises as Record<typeof call, unknown>)[call] = real;
    syncBuiltinESMExports();
  };
}

/** The folders under `dir` that hold files, `.curate/` aside (relative, sorted). */
async function contentFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(dir, e.parentPath);
    if (e.isFile() && !rel.startsWith('.curate') && !out.includes(rel)) out.push(rel);
  }
  return out.sort();
}

describe('folder stamps', () => {
  it('a folder found whole is not listed again until something in it changes; a page lost by hand is put back', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      // The first sync had nothing to list before it wrote; it lists the folders it made once
      // they are written, and records their stamps.
      const cold = await medigySync(sim, dir, STAMPS);
      expect(cold.state).toMatchObject({ foldersListed: 0, foldersTrusted: 0 });
      const stamps = JSON.parse(await readFile(path.join(dir, FOLDER_STAMPS_FILE), 'utf8')) as { folders: Record<string, string> };
      const folders = Object.keys(stamps.folders).length;
      expect(folders).toBeGreaterThan(3);
      expect(Object.keys(stamps.folders).sort()).toEqual(await contentFolders(dir));

      const second = await medigySync(sim, dir, STAMPS);
      expect(second.state).toMatchObject({ foldersListed: 0, foldersTrusted: folders });
      // Never committed: the folder ignores itself.
      expect(await readFile(path.join(dir, '.curate', 'local', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
      await git(dir, ['init', '-q']);
      await git(dir, ['add', '-A']);
      expect((await git(dir, ['ls-files', '.curate'])).split('\n').filter((f) => f.startsWith('.curate/local'))).toEqual([]);
      await git(dir, ['rm', '-rq', '--cached', '.']);

      const third = await medigySync(sim, dir, STAMPS);
      expect(third.state).toMatchObject({ foldersListed: 0, foldersTrusted: folders });
      expect(third.counts.total).toMatchObject({ create: 0, update: 0, delete: 0 });

      // A page deleted by hand: its folder's stamp changed, so it is listed, and the page comes back.
      const state = await readStateJson(dir);
      const lost = Object.keys(Object.values(state.workPackages)[0]!.files).find((p) => p.endsWith('.md'))!;
      await unlink(path.join(dir, lost));
      const fourth = await medigySync(sim, dir, STAMPS);
      expect(fourth.state.foldersListed).toBeGreaterThanOrEqual(1);
      expect(fourth.state.foldersTrusted).toBe(folders - fourth.state.foldersListed);
      expect(existsSync(path.join(dir, lost))).toBe(true);
      expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a page lost after the first sync wrote it, before its folder was listed: that folder gets no stamp, and the next run puts the page back', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    let lost = '';
    // The filesystem's clock is read (a file made in .curate/local/) after apply and before the
    // new folders are listed: the page is deleted just before, then a clock tick is let pass,
    // so the folder changed earlier than the clock and only the listing can tell.
    const restore = watchFs('open', path.join(dir, '.curate', 'local'), async () => {
      if (lost) return;
      const state = await readStateJson(dir);
      lost = Object.keys(Object.values(state.workPackages)[0]!.files).find((p) => p.endsWith('.md'))!;
      await unlink(path.join(dir, lost));
      await sleep(MARGIN);
    });
    try {
      const cold = await medigySync(sim, dir, STAMPS);
      restore();
      expect(lost).not.toBe('');
      expect(cold.errors).toEqual([]);
      const stamps = JSON.parse(await readFile(path.join(dir, FOLDER_STAMPS_FILE), 'utf8')) as { folders: Record<string, string> };
      const lostIn = path.dirname(lost);
      expect(Object.keys(stamps.folders)).not.toContain(lostIn);
      expect(Object.keys(stamps.folders).length).toBeGreaterThan(3);

      const next = await medigySync(sim, dir, STAMPS);
      expect(next.state.foldersListed).toBe(1);
      expect(existsSync(path.join(dir, lost))).toBe(true);
      expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
    } finally {
      restore();
      await sim.close();
      await cleanup();
    }
  });

  it('stamps of another state, damaged stamps, a --full run, stamps recorded too soon after a change and small folders are not used', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      // Folders changed less than the margin before they were looked at: no stamp.
      await medigySync(sim, dir, { ...STAMPS, folderStampMarginMs: 3_600_000 });
      expect(existsSync(path.join(dir, FOLDER_STAMPS_FILE))).toBe(false);
      // Folders of fewer files than the default least (64): listed, never stamped.
      await sleep(3 * MARGIN);
      await medigySync(sim, dir, { folderStampMarginMs: MARGIN });
      expect(existsSync(path.join(dir, FOLDER_STAMPS_FILE))).toBe(false);

      await sleep(3 * MARGIN);
      const listed = (await medigySync(sim, dir, STAMPS)).state.foldersListed;
      const file = path.join(dir, FOLDER_STAMPS_FILE);
      const recorded = await readFile(file, 'utf8');
      // Recorded with another state (a manifest restored from git, or written elsewhere).
      await writeFile(file, recorded.replace(/"manifest": "[0-9a-f]+"/, `"manifest": "${'0'.repeat(64)}"`));
      expect((await medigySync(sim, dir, STAMPS)).state).toMatchObject({ foldersListed: listed, foldersTrusted: 0 });
      // Rewritten by that run for this state: trusted again.
      expect((await medigySync(sim, dir, STAMPS)).state).toMatchObject({ foldersListed: 0, foldersTrusted: listed });
      await writeFile(file, '{"version": 1, "manifest": ');
      expect((await medigySync(sim, dir, STAMPS)).state).toMatchObject({ foldersListed: listed, foldersTrusted: 0 });
      // A --full run lists what it keeps itself and uses no stamps; a dry run uses them and writes none.
      expect((await medigySync(sim, dir, { ...STAMPS, full: true })).state.foldersTrusted).toBe(0);
      await medigySync(sim, dir, STAMPS);
      const before = await readFile(file, 'utf8');
      const dry = await medigySync(sim, dir, { ...STAMPS, dryRun: true });
      expect(dry.state).toMatchObject({ foldersListed: 0, foldersTrusted: listed });
      expect(await readFile(file, 'utf8')).toBe(before);
      expect((await readdir(path.join(dir, '.curate', 'local'))).sort()).toEqual(['.gitignore', 'folder-stamps.json', 'listings.json']);
      // The temp file of a stamps write a killed run left is swept by the next real run.
      await writeFile(path.join(dir, '.curate', 'local', '.curate-tmp-1-ab-2'), '{');
      const swept = await medigySync(sim, dir, STAMPS);
      expect(swept.warnings.join('\n')).toMatch(/removed 1 leftover temporary file/);
      expect((await readdir(path.join(dir, '.curate', 'local'))).sort()).toEqual(['.gitignore', 'folder-stamps.json', 'listings.json']);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it("an ordinary run lists the content folders while the server's names are still being asked for", async () => {
    // The listings need only the state's summaries; until the names are in (projects, types,
    // statuses) a run has nothing else to do. Here the server does not answer the projects
    // until every content folder was opened (or 5 s passed): a run that lists only after the
    // names would list none before the answer.
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const opened = new Set<string>();
    let folders = 0;
    let allOpened: () => void = () => undefined;
    let restore = (): void => undefined;
    try {
      await medigySync(sim, dir);
      const listed = (await medigySync(sim, dir)).state.foldersListed;
      expect(listed).toBeGreaterThan(3);
      restore = watchFs('opendir', dir, (folder) => {
        opened.add(folder);
        if (opened.size >= listed) allOpened();
      });
      const client = testClient(sim);
      const listProjects = client.listProjects.bind(client);
      client.listProjects = async () => {
        await Promise.race([new Promise<void>((r) => (allOpened = r)), sleep(5_000, undefined, { ref: false })]);
        folders = opened.size;
        return listProjects();
      };
      try {
        const third = await medigySync(sim, dir, { client });
        expect(third.state.foldersListed).toBe(listed);
      } finally {
        await client.close();
      }
      expect(folders).toBe(listed);
    } finally {
      restore();
      await sim.close();
      await cleanup();
    }
  });

  it('a run that fails before its listings are done leaves none going on', async () => {
    // The server refuses the names at once, while the listings (eight at a time) are under
    // way: here each folder's opening waits until the run has failed. Then the folders not yet
    // begun are never opened (a large site would otherwise keep the process listing after the
    // error).
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    let calls = 0;
    let failed: () => void = () => undefined;
    const runFailed = new Promise<void>((r) => (failed = r));
    let restore = (): void => undefined;
    try {
      await medigySync(sim, dir);
      const listed = (await medigySync(sim, dir)).state.foldersListed;
      expect(listed).toBeGreaterThan(8);
      restore = watchFs('opendir', dir, () => {
        calls += 1;
        return Promise.race([runFailed, sleep(5_000, undefined, { ref: false })]);
      });
      const client = testClient(sim);
      client.listProjects = () => Promise.reject(new Error('names refused'));
      try {
        await expect(medigySync(sim, dir, { client })).rejects.toThrow('names refused');
      } finally {
        failed();
        await client.close();
      }
      // The eight under way finish now; a listing that went on would open the others.
      await sleep(300);
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThanOrEqual(8);
    } finally {
      restore();
      await sim.close();
      await cleanup();
    }
  });
});
