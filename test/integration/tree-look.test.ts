// A mapped work package's paths are looked at while the run still collects (src/sync/tree.ts
// `createTreeLook`, fed by the mapper), not only in the plan phase after the last request:
// a subject edit renames a page, and by the time the run enters its plan phase the look at
// its paths has begun (lstat, observed). The site that results equals a fresh sync's.
import fsPromises from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator } from '../helpers/sync-harness.js';
import { readStateJson } from '../helpers/state.js';

describe('the tree looked at ahead of the plan', () => {
  it("the look at a renamed page's new and old paths begins before the plan phase", async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const fresh = await tempDir();
    const real = fsPromises.lstat;
    const looked = new Set<string>();
    let beforePlan: Set<string> | null = null;
    try {
      await medigySync(sim, dir);
      const state = await readStateJson(dir);
      const [id, entry] = Object.entries(state.workPackages).find(([, e]) => e.source === 'chronic-care-management')!;
      const oldPage = Object.keys(entry.files).find((p) => p.endsWith('.md'))!;
      sim.updateWorkPackage(Number(id), (w) => void (w.subject = `${String(w.subject)} renamed`));
      fsPromises.lstat = ((p: Parameters<typeof real>[0], ...rest: unknown[]) => {
        if (String(p).startsWith(dir)) looked.add(path.relative(dir, String(p)).split(path.sep).join('/'));
        return (real as (...a: unknown[]) => ReturnType<typeof real>)(p, ...rest);
      }) as typeof real;
      syncBuiltinESMExports();
      const r = await medigySync(sim, dir, {
        onEvent: (e) => {
          if (e.type === 'phase' && e.phase === 'plan') beforePlan = new Set(looked);
        },
      });
      const after = await readStateJson(dir);
      const newPage = Object.keys(after.workPackages[id]!.files).find((p) => p.endsWith('.md'))!;
      expect(newPage).not.toBe(oldPage);
      expect(r.counts.total).toMatchObject({ create: expect.any(Number), delete: expect.any(Number) });
      // The look begins as the work package is mapped (its first step, the top folder's lstat,
      // is taken at once); nothing else looks at content paths before the plan phase.
      const seen = [...beforePlan!];
      expect(seen.length).toBeGreaterThan(0);
      for (const p of seen) expect([newPage, oldPage].some((page) => page === p || page.startsWith(`${p}/`)), p).toBe(true);
      // And the plan took those looks: both pages were looked at in the run.
      expect(looked.has(newPage) && looked.has(oldPage)).toBe(true);
      await medigySync(sim, fresh.dir, { full: true });
      expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual({ missing: [], extra: [], different: [] });
    } finally {
      fsPromises.lstat = real;
      syncBuiltinESMExports();
      await sim.close();
      await cleanup();
      await fresh.cleanup();
    }
  });
});
