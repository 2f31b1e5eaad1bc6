// Issue 19 failure 8: a folder where an owned page file belongs (or a file where an owned
// folder belongs). Before: while the work package was unchanged the run said "unchanged"
// with the page missing; once it changed, every run failed as a whole and no other edit
// landed. Now: an item error naming the work package and the path, the rest syncs, nothing
// in the way is touched, and once it is moved away the next run writes the page.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import type { SyncReport } from '../../src/sync/index.js';
import { diffTrees, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator } from '../helpers/sync-harness.js';

const same = { missing: [], extra: [], different: [] };

/** Two work packages with a markdown page each, in different folders. */
function twoPages(first: SyncReport): { victim: { id: number; page: string }; other: { id: number; page: string } } {
  const pages = first.plan.files.filter((f) => f.path.endsWith('.md'));
  const victim = pages[0]!;
  const other = pages.find((f) => path.posix.dirname(f.path) !== path.posix.dirname(victim.path))!;
  return { victim: { id: victim.workPackageId, page: victim.path }, other: { id: other.workPackageId, page: other.path } };
}

async function freshTree(sim: Simulator): Promise<Map<string, string>> {
  const { dir, cleanup } = await tempDir();
  try {
    await medigySync(sim, dir);
    return await treeHashes(dir);
  } finally {
    await cleanup();
  }
}

describe('a folder where a page file belongs (issue 19 #8)', () => {
  it('unchanged work package: the run notices the missing page and reports an item error naming it and the path; the rest syncs', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const first = await medigySync(sim, dir);
      const { victim, other } = twoPages(first);
      await rm(path.join(dir, victim.page));
      await mkdir(path.join(dir, victim.page, 'inside'), { recursive: true });
      await writeFile(path.join(dir, victim.page, 'inside', 'notes.txt'), 'mine\n');
      sim.updateWorkPackage(other.id, (w) => void (w.subject = 'Other edit lands'));

      const r = await medigySync(sim, dir);
      expect(r.errors.map((e) => e.workPackageId)).toEqual([victim.id]);
      expect(r.errors[0]!.message).toContain(`#${victim.id}`);
      expect(r.errors[0]!.message).toContain(victim.page);
      expect(r.errors[0]!.message).toMatch(/a folder stands there, not a file/);
      // Nothing in the way was touched; the other edit landed.
      expect(await readFile(path.join(dir, victim.page, 'inside', 'notes.txt'), 'utf8')).toBe('mine\n');
      expect(r.touchedFiles.some((p) => p !== '.curate/manifest.json')).toBe(true);
      expect(await readFile(path.join(dir, r.plan.files.find((f) => f.workPackageId === other.id && f.path.endsWith('.md'))!.path), 'utf8')).toContain('Other edit lands');

      // Again, and after the work package changed: still an item error, never the whole run.
      sim.updateWorkPackage(victim.id, (w) => void ((w.description as { raw: string }).raw = 'Victim edited (its page path stays)'));
      const again = await medigySync(sim, dir);
      expect(again.errors.map((e) => e.workPackageId)).toEqual([victim.id]);

      // Moved away: the next run writes the page; the tree is a fresh sync's.
      await rm(path.join(dir, victim.page), { recursive: true });
      const healed = await medigySync(sim, dir);
      expect(healed.errors).toEqual([]);
      expect((await stat(path.join(dir, victim.page))).isFile()).toBe(true);
      expect(diffTrees(await treeHashes(dir), await freshTree(sim))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('changed work package from the start: an item error, and an edit of another work package lands', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const first = await medigySync(sim, dir);
      const { victim, other } = twoPages(first);
      await rm(path.join(dir, victim.page));
      await mkdir(path.join(dir, victim.page));
      sim.updateWorkPackage(victim.id, (w) => void ((w.description as { raw: string }).raw = 'Victim edited (its page path stays)'));
      sim.updateWorkPackage(other.id, (w) => void (w.subject = 'Other edit lands'));
      const r = await medigySync(sim, dir);
      expect(r.errors.map((e) => e.workPackageId)).toEqual([victim.id]);
      expect(r.errors[0]!.message).toContain(victim.page);
      expect(r.counts.total.update + r.counts.total.create).toBeGreaterThan(0);
      await rm(path.join(dir, victim.page), { recursive: true });
      expect((await medigySync(sim, dir)).errors).toEqual([]);
      expect(diffTrees(await treeHashes(dir), await freshTree(sim))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a file where an owned folder belongs: the work packages with files in it are item errors naming the folder; the rest syncs', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const first = await medigySync(sim, dir);
      const { victim, other } = twoPages(first);
      const folder = path.posix.dirname(victim.page);
      const inFolder = new Set(first.plan.files.filter((f) => path.posix.dirname(f.path) === folder).map((f) => f.workPackageId));
      await rm(path.join(dir, folder), { recursive: true });
      await writeFile(path.join(dir, folder), 'a file, where curate keeps a folder\n');
      sim.updateWorkPackage(other.id, (w) => void (w.subject = 'Other edit lands'));
      const r = await medigySync(sim, dir);
      expect(new Set(r.errors.map((e) => e.workPackageId))).toEqual(inFolder);
      for (const e of r.errors) {
        expect(e.message).toContain(`#${e.workPackageId}`);
        expect(e.message).toContain(`${folder} is a file where a folder belongs`);
      }
      expect(await readFile(path.join(dir, folder), 'utf8')).toBe('a file, where curate keeps a folder\n');
      expect(await readFile(path.join(dir, r.plan.files.find((f) => f.workPackageId === other.id && f.path.endsWith('.md'))!.path), 'utf8')).toContain('Other edit lands');

      await rm(path.join(dir, folder));
      expect((await medigySync(sim, dir)).errors).toEqual([]);
      expect(diffTrees(await treeHashes(dir), await freshTree(sim))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
