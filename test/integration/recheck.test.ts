// recheck.ts: once every row is mapped, each source with a work package mapped this run is
// walked again from when the run began reading rows; a mapped row that changed meanwhile
// goes on the retry list. The histories that need it (an attachment added or removed
// between a row's read and its attachments', then a restore) are in
// invariant-regressions.test.ts; these check the engine's side on the in-memory client
// (test/helpers/fake-client.ts), whose server clock is fixed here.
import { describe, expect, it } from 'vitest';
import type { OpenProjectClient } from '../../src/openproject/types.js';
import { cloneDataset } from '../../src/simulator/hooks.js';
import { diffTrees, FIXTURE_EXPECTED, tempDir, treeHashes } from '../helpers/env.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { readStateJson } from '../helpers/state.js';
import { freshFixtureDataset, medigySync, startFixtureSimulator } from '../helpers/sync-harness.js';

const SERVER_NOW = new Date('2021-03-01T00:00:00Z');
const same = { missing: [], extra: [], different: [] };

/** The fake client over the fixture; `touch` moves #2958's updatedAt (as an attachment added or removed does) right after its attachments are read. */
async function fixtureClient(): Promise<{ client: OpenProjectClient; touch: (yes: boolean) => void; failChanges: (yes: boolean) => void; changesWalks: () => number }> {
  const data = cloneDataset(await freshFixtureDataset());
  const inner = createFakeClient(data, { clock: () => SERVER_NOW });
  let touch = false;
  let fail = false;
  let walks = 0;
  const client = Object.create(inner) as OpenProjectClient;
  client.listAttachments = async (id) => {
    const out = await inner.listAttachments(id);
    if (id === 2958 && touch) {
      touch = false;
      data.workPackages.get(2958)!.updatedAt = new Date(SERVER_NOW.getTime() + 1000).toISOString();
    }
    return out;
  };
  client.listChanges = (q, since) => {
    walks += 1;
    if (fail) {
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('503 Service Unavailable (test)')) }),
      };
    }
    return inner.listChanges(q, since);
  };
  return { client, touch: (yes) => (touch = yes), failChanges: (yes) => (fail = yes), changesWalks: () => walks };
}

/** A run's folder and the fake client over the fixture; `sync` runs the engine there through it. */
async function withFixture(test: (f: Awaited<ReturnType<typeof fixtureClient>>, dir: string, sync: (extra?: Parameters<typeof medigySync>[2]) => ReturnType<typeof medigySync>) => Promise<void>): Promise<void> {
  const sim = await startFixtureSimulator(); // medigySync's signature; the fake client answers
  const out = await tempDir();
  try {
    const f = await fixtureClient();
    await test(f, out.dir, (extra = {}) => medigySync(sim, out.dir, { client: f.client, ...extra }));
  } finally {
    await sim.close();
    await out.cleanup();
  }
}

describe('recheck: the rows mapped, walked again once mapped', () => {
  it('a row touched after it was read goes on its source\'s retry list, the pages are written as mapped; a run that maps nothing walks nothing again', () =>
    withFixture(async (f, dir, sync) => {
      f.touch(true);
      const first = await sync();
      expect(first.errors).toEqual([]);
      expect(first.warnings.filter((w) => w.includes('changed while this run mapped them'))).toEqual([
        'source "chronic-care-management": 1 work package(s) changed while this run mapped them (#2958); the next run reads them again',
      ]);
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
      const retry = Object.fromEntries(Object.entries((await readStateJson(dir)).sources).map(([name, s]) => [name, s.retry]));
      expect(Object.values(retry).flat()).toEqual([2958]);
      // One walk per source that had a work package mapped: each of the seven.
      expect(f.changesWalks()).toBe(Object.keys(retry).length);

      // The next run maps #2958 again (nothing else changed): the retry list empties.
      const before = f.changesWalks();
      const second = await sync();
      expect(second.errors).toEqual([]);
      expect(second.counts.workPackages.mapped).toBe(1);
      expect(Object.values((await readStateJson(dir)).sources).flatMap((s) => s.retry)).toEqual([]);

      // A run that maps nothing walks no source a second time. Since `before`: the second run's
      // incremental walk of each source plus the second walk of #2958's source alone, then the
      // third run's incremental walks only.
      const third = await sync();
      expect(third.counts.workPackages.mapped).toBe(0);
      expect(f.changesWalks() - before).toBe(2 * Object.keys(retry).length + 1);
    }));

  it('a dry run does not walk a second time: what it would find goes only into a state it does not write', () =>
    withFixture(async (f, _dir, sync) => {
      // A first sync as a dry run maps everything, and walks everything with the full listing, not the changes walk.
      const dry = await sync({ dryRun: true });
      expect(dry.errors).toEqual([]);
      expect(dry.counts.workPackages.mapped).toBeGreaterThan(30);
      expect(f.changesWalks()).toBe(0);
    }));

  it('when the second walk fails, the source gets an item error naming it and keeps no new watermark; the pages are written', () =>
    withFixture(async (f, dir, sync) => {
      f.failChanges(true);
      const report = await sync();
      expect(report.errors.length).toBeGreaterThan(0);
      for (const e of report.errors) {
        expect(e.kind).toBe('source');
        expect(e.message).toMatch(/^source "[^"]+": its rows could not be read again to find edits made while this run mapped them \(its pages are written as mapped; its watermark stays where it was\): .*503 Service Unavailable \(test\)/);
      }
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
      for (const e of report.errors) expect((await readStateJson(dir)).sources[e.source!]?.watermark ?? null).toBeNull();
    }));
});
