// Issue 19, failure 9: what one source's trouble may stop. A project that is archived (or no
// longer visible to the key) is that source's error, named with what to do; the other
// sources sync, and the source's files stay until the project is back.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { Simulator } from '../../src/simulator/index.js';
import { diffTrees, medigyConfig, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator } from '../helpers/sync-harness.js';

const same = { missing: [], extra: [], different: [] };

async function freshTree(sim: Simulator): Promise<Map<string, string>> {
  const { dir, cleanup } = await tempDir('curate-fresh-');
  try {
    const r = await medigySync(sim, dir);
    expect(r.errors).toEqual([]);
    return await treeHashes(dir);
  } finally {
    await cleanup();
  }
}

const archive = (sim: Simulator, identifier: string, active: boolean): void => {
  sim.dataset.instance.projects.find((p) => p.identifier === identifier)!.active = active;
};

describe('one source’s trouble is that source’s error', () => {
  it('an archived project: its source is an item error naming it and what to do, the others sync, its files stay, and it converges once restored', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const femtech = path.join(dir, 'communities-of-practice', 'femtech');
      const before = (await readdir(femtech, { recursive: true })).sort();
      expect(before.length).toBeGreaterThan(0);
      archive(sim, 'femtech', false);
      const news = [...sim.dataset.workPackages.values()].find((wp) => (wp._links.project as { title?: string }).title === 'News')!;
      sim.updateWorkPackage(news.id, (wp) => {
        wp.subject = 'Edited while femtech is archived';
      });
      const r = await medigySync(sim, dir);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.source).toBe('femtech');
      expect(r.errors[0]!.kind).toBe('source');
      expect(r.errors[0]!.workPackageId).toBeUndefined();
      expect(r.errors[0]!.message).toMatch(/source "femtech" was not synced: sources\.\d+\.projects: no project "femtech" on the server.*archived, deleted or not visible to this key.*Its files stay as they are/);
      // The others synced: the edit landed.
      expect(r.counts.workPackages.mapped).toBeGreaterThanOrEqual(1);
      expect((await readdir(femtech, { recursive: true })).sort()).toEqual(before);
      archive(sim, 'femtech', true);
      const back = await medigySync(sim, dir);
      expect(back.errors).toEqual([]);
      expect(diffTrees(await treeHashes(dir), await freshTree(sim))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('when no source resolves at all, the config (or URL, or key) is wrong as a whole: a config error', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const { sources } = await medigyConfig();
      const err = await medigySync(sim, dir, { sources: sources.map((s) => ({ ...s, projects: [`${s.projects[0]!}-typo`] })) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
