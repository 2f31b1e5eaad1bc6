// The fixture simulator with a server clock the test moves (engine tests whose histories
// depend on `updatedAt`, the overlap window and the audit), and the edits they make.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import type { SyncReport } from '../../src/sync/index.js';
import { diffTrees, tempDir } from './env.js';
import { treeWithoutRememberedAliases } from './model-world.js';
import { startFixtureSimulator } from './sync-harness.js';

export const HOUR = 3_600_000;

export interface Clock {
  ms: number;
  /** Move the server clock on (default: an hour, far past the overlap window). */
  tick(ms?: number): void;
}

/** Runs `fn` with a fixture simulator whose clock starts at 2021-03-01 and a fresh temp dir; both are gone after. */
export async function withClockedSim<T>(fn: (sim: Simulator, dir: string, clock: Clock) => Promise<T>, options: { maxPageSize?: number } = {}): Promise<T> {
  const clock: Clock = {
    ms: Date.parse('2021-03-01T00:00:00Z'),
    tick(ms = HOUR) {
      this.ms += ms;
    },
  };
  const sim = await startFixtureSimulator({ clock: () => new Date(clock.ms), ...options });
  const { dir, cleanup } = await tempDir();
  try {
    return await fn(sim, dir, clock);
  } finally {
    sim.onListPage(null);
    await sim.close();
    await cleanup();
  }
}

/** A new subject (the server stamps updatedAt with its clock). */
export const retitle = (sim: Simulator, id: number, subject: string): void =>
  sim.updateWorkPackage(id, (wp) => {
    wp.subject = subject;
  });

/** A new markdown description. */
export const describeAs = (sim: Simulator, id: number, raw: string): void =>
  sim.updateWorkPackage(id, (wp) => {
    wp.description = { format: 'markdown', raw, html: `<p>${raw}</p>` };
  });

/**
 * The tree an incremental history left in `dir` equals what `fresh` (a fresh sync into an
 * empty folder) writes, the default profile's remembered aliases left out; the first
 * differing file is shown in full on failure.
 */
export async function expectFreshTree(dir: string, fresh: (freshDir: string) => Promise<SyncReport>): Promise<void> {
  const { dir: freshDir, cleanup } = await tempDir('curate-fresh-');
  try {
    expect((await fresh(freshDir)).errors).toEqual([]);
    const d = diffTrees(await treeWithoutRememberedAliases(dir), await treeWithoutRememberedAliases(freshDir));
    if (d.different.length) expect({ file: d.different[0], incremental: await readFile(path.join(dir, d.different[0]!), 'utf8'), fresh: await readFile(path.join(freshDir, d.different[0]!), 'utf8') }).toBeNull();
    expect(d).toEqual({ missing: [], extra: [], different: [] });
  } finally {
    await cleanup();
  }
}
