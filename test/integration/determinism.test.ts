// Same data in, same bytes out, whatever the order the work arrives in: two fresh syncs of
// one dataset, whose requests answer in different orders (a seeded random delay on every
// call, another request concurrency, another page size), must write the same files and
// the same state, `.curate/` included. The outcome of a run depends on the work packages
// processed beside each other only through rules that say how (the lower id keeps a path,
// a page shows other work packages' final facts): nothing may depend on which answer came
// first. In-process, on the in-memory client (test/helpers/fake-client.ts) over the medigy
// fixture dataset (fixtures/medigy/dataset: the old pipeline's real data), with some
// downloads failing so that the state also records item errors (`retry`, held watermarks).
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProfile } from '../../src/mapping/profiles/index.js';
import type { OpenProjectClient } from '../../src/openproject/types.js';
import { runSync } from '../../src/sync/index.js';
import { Store } from '../../src/simulator/store.js';
import type { SourceSpec } from '../../src/types.js';
import { diffTrees, LEGACY_NOW, medigyConfig, tempDir, treeHashes } from '../helpers/env.js';
import type { Dataset } from '../../src/simulator/index.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { DEFAULT_PROFILE_SOURCES } from '../helpers/model-world.js';
import { freshFixtureDataset } from '../helpers/sync-harness.js';

/**
 * Every call that returns a promise answers after a random 0–11 ms (seeded), so concurrent
 * calls finish in a shuffled order; the downloads of the attachments in `failing` fail
 * (their work packages become item errors, retried next run: the state records them too).
 */
function shuffled(client: OpenProjectClient, seed: number, failing: ReadonlySet<number>): OpenProjectClient {
  let s = seed;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return new Proxy(client, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        if (key === 'downloadAttachment' && failing.has((args[0] as { id: number }).id)) return Promise.reject(new Error('HTTP 500 (a download that fails in every run)'));
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (!(out instanceof Promise)) return out;
        const wait = Math.floor(next() * 12);
        return out.then((value) => new Promise((resolve) => setTimeout(() => resolve(value), wait)));
      };
    },
  });
}

interface Variant {
  seed: number;
  concurrency: number;
  pageSize: number;
}

const VARIANTS: Variant[] = [
  { seed: 1, concurrency: 8, pageSize: 1000 },
  { seed: 2, concurrency: 1, pageSize: 7 },
  { seed: 3, concurrency: 4, pageSize: 3 },
];

const FAILING_EVERY = 3;

/** Every third attachment's download fails: several work packages of several sources fail. */
const failingOf = (ids: Iterable<number>): Set<number> => new Set([...ids].sort((a, b) => a - b).filter((_, i) => i % FAILING_EVERY === 1));

async function syncInto(dir: string, dataset: Dataset, profile: 'medigy' | 'default', v: Variant, clock: () => Date, failing: ReadonlySet<number>): Promise<string[]> {
  const client = shuffled(createFakeClient(dataset, { pageSize: v.pageSize, clock }), v.seed, failing);
  let sources: SourceSpec[];
  let options: unknown = {};
  if (profile === 'medigy') ({ sources, options } = await medigyConfig());
  else sources = structuredClone(DEFAULT_PROFILE_SOURCES);
  const report = await runSync({ outputRoot: dir, sources, profile: createProfile(profile, options), client, now: LEGACY_NOW, clock, concurrency: v.concurrency });
  return report.errors.map((e) => `${e.kind} #${e.workPackageId}: ${e.message}`);
}

async function freshSync(profile: 'medigy' | 'default', v: Variant): Promise<{ tree: Map<string, string>; errors: string[]; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('curate-determinism-');
  const clock = (): Date => new Date('2026-12-06T12:00:00Z');
  const dataset = await freshFixtureDataset();
  const errors = await syncInto(dir, dataset, profile, v, clock, failingOf(dataset.attachments.keys()));
  return { tree: await treeHashes(dir, { includeState: true }), errors, cleanup };
}

function expectSame(runs: { tree: Map<string, string>; errors: string[] }[]): void {
  const [first, ...rest] = runs;
  expect(first!.tree.size).toBeGreaterThan(20);
  expect([...first!.tree.keys()].some((p) => p.startsWith('.curate/work-packages/'))).toBe(true);
  expect(first!.errors.length).toBeGreaterThanOrEqual(2);
  for (const other of rest) {
    expect(diffTrees(other.tree, first!.tree)).toEqual({ missing: [], extra: [], different: [] });
    expect([...other.errors].sort()).toEqual([...first!.errors].sort());
  }
}

describe('a fresh sync gives the same bytes whatever order its answers arrive in', () => {
  for (const profile of ['medigy', 'default'] as const) {
    it(`${profile} profile: three orders (seeded delays, concurrency 8 / 1 / 4, pages of 1,000 / 7 / 3), one tree and one state`, async () => {
      const runs = [];
      try {
        for (const v of VARIANTS) runs.push(await freshSync(profile, v));
        expectSame(runs);
      } finally {
        await Promise.all(runs.map((r) => r.cleanup()));
      }
    });
  }

  // The same after edits: one synced folder copied three times, the server edited (subjects,
  // a bulk edit of one instant, deletions, an attachment added), then an incremental sync of
  // each copy in another order. The next state (watermarks, the `recent` record, retry lists,
  // shard summaries) is a function of the data, not of the order the answers came in.
  it('medigy profile: after edits on the server, three incremental syncs of one folder in three orders give one tree and one state', async () => {
    const { dir, cleanup } = await tempDir('curate-determinism-');
    try {
      let serverMs = Date.parse('2026-12-06T12:00:00Z');
      const server = (): Date => new Date(serverMs);
      const machine = (): Date => new Date(serverMs + 30_000);
      const dataset = await freshFixtureDataset();
      const failing = failingOf(dataset.attachments.keys());
      await syncInto(path.join(dir, 'base'), dataset, 'medigy', VARIANTS[0]!, machine, failing);
      const before = await treeHashes(path.join(dir, 'base'), { includeState: true });
      serverMs += 600_000;
      const store = new Store(dataset, server);
      const ids = [...dataset.workPackages.keys()].sort((a, b) => a - b);
      for (const id of ids.filter((_, i) => i % 9 === 2)) {
        store.updateWorkPackage(id, (wp) => void (wp.subject = `${String(wp.subject)} (edited)`));
        serverMs += 1_000;
      }
      store.bulkUpdate(ids.filter((_, i) => i % 11 === 5), (wp) => void (wp.subject = `${String(wp.subject)} (bulk)`));
      serverMs += 1_000;
      for (const id of ids.filter((_, i) => i % 13 === 7)) store.deleteWorkPackage(id);
      store.addAttachment(ids[4]!, { fileName: 'notes.pdf' }, Buffer.from('%PDF-1.4 determinism\n'));
      serverMs += 60_000;
      const runs = [];
      for (const [k, v] of VARIANTS.entries()) {
        const copy = path.join(dir, `run-${k}`);
        await cp(path.join(dir, 'base'), copy, { recursive: true });
        const errors = await syncInto(copy, dataset, 'medigy', v, machine, failing);
        runs.push({ tree: await treeHashes(copy, { includeState: true }), errors });
      }
      expectSame(runs);
      // The edits reached the pages and the state (not a run that changed nothing).
      const changed = diffTrees(runs[0]!.tree, before);
      expect(changed.missing.length + changed.extra.length + changed.different.length).toBeGreaterThan(10);
      expect(changed.different).toContain('.curate/manifest.json');
    } finally {
      await cleanup();
    }
  });
});
