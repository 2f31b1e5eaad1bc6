// Issue 5, faults: at a 10% rate of each fault kind a sync converges to exactly the
// fault-free tree; when faults outlast the retries the run reports the item, keeps its
// last good files and retries it next time. Every output is grepped for the API key.
import { describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../src/simulator/index.js';
import { diffTrees, FIXTURE_EXPECTED, tempDir, treeHashes } from '../helpers/env.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { everythingWritten, medigySync, startFixtureSimulator, TEST_KEY, testClient } from '../helpers/sync-harness.js';

const FAULTS: [string, FaultSpec][] = [
  ['500', { kind: 'status', status: 500, rate: 0.1 }],
  ['502', { kind: 'status', status: 502, rate: 0.1 }],
  ['503 + Retry-After', { kind: 'status', status: 503, retryAfter: 0, rate: 0.1 }],
  ['504', { kind: 'status', status: 504, rate: 0.1 }],
  ['429 + Retry-After', { kind: 'status', status: 429, retryAfter: 0, rate: 0.1 }],
  ['429 + RateLimit-Reset', { kind: 'status', status: 429, rateLimitReset: 0, rate: 0.1 }],
  ['connection reset', { kind: 'reset', rate: 0.1 }],
  ['stall past the timeout', { kind: 'stall', stallMs: 3000, rate: 0.1 }],
  ['truncated download', { kind: 'truncate', route: ['content', 'storage'], rate: 0.1 }],
  ['corrupted download', { kind: 'corrupt', route: ['content', 'storage'], rate: 0.1 }],
  ['HTML page instead of JSON', { kind: 'html', route: ['work_packages', 'attachments', 'projects', 'types', 'statuses'], rate: 0.1 }],
  ['truncated JSON', { kind: 'invalid-json', route: ['work_packages', 'attachments'], rate: 0.1 }],
];

describe('fault matrix: each fault at 10% still converges to the fault-free tree', () => {
  const expected = treeHashes(FIXTURE_EXPECTED);
  it.each(FAULTS)('%s', async (_name, fault) => {
    for (const downloads of ['inline', 'redirect'] as const) {
      const sim = await startFixtureSimulator({ downloads, seed: 7 });
      const { dir, cleanup } = await tempDir();
      const said: string[] = [];
      try {
        sim.inject(fault);
        const report = await medigySync(sim, dir, { said, client: testClient(sim, { timeoutMs: 400 }, said) });
        expect(report.errors).toEqual([]);
        expect(diffTrees(await treeHashes(dir), await expected)).toEqual({ missing: [], extra: [], different: [] });
        // The fault really happened and was retried (the seeded RNG makes this deterministic in practice).
        expect(report.requests.retries).toBeGreaterThan(0);
        const everything = said.join('\n') + (await everythingWritten(dir, report));
        expect(everything).not.toContain(TEST_KEY);
        // Credentials never went to the storage origin.
        expect(sim.log().filter((l) => l.origin === 'storage' && l.authorization)).toEqual([]);
      } finally {
        await sim.close();
        await cleanup();
      }
    }
  });

  it('work packages changing between page requests: the next sync converges', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const fresh = await tempDir();
    try {
      const ids = [...sim.dataset.workPackages.keys()].sort((a, b) => a - b);
      let flips = 0;
      sim.onListPage(() => {
        // Every list request edits a work package, as a busy editor would.
        const id = ids[flips++ % ids.length]!;
        sim.updateWorkPackage(id, (wp) => {
          (wp.description as { raw: string }).raw += ` (edit ${flips})`;
        });
      });
      const client = testClient(sim, { pageSize: 5 });
      await medigySync(sim, dir, { client });
      sim.onListPage(null);
      await medigySync(sim, dir, { client });
      await client.close();
      await medigySync(sim, fresh.dir, { full: true, client: createFakeClient(sim.dataset) }); // the oracle, in memory
      expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual({ missing: [], extra: [], different: [] });
    } finally {
      await sim.close();
      await cleanup();
      await fresh.cleanup();
    }
  });
});

describe('faults that outlast the retries', () => {
  it('report the item, keep its last good files, hold its watermark and retry it next run', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const said: string[] = [];
    try {
      await medigySync(sim, dir);
      const before = await treeHashes(dir);
      const manifestBefore = JSON.parse((await everythingWritten(dir)) || '{}');
      // Edit one news work package, and make its attachment listing fail for good.
      const victim = [...sim.dataset.workPackages.values()].find((wp) => (wp._links.project as { title?: string }).title === 'News' && (wp._links.type as { title?: string }).title === 'Curated Content')!;
      sim.updateWorkPackage(victim.id, (wp) => {
        (wp.description as { raw: string }).raw = 'Edited while the server was failing.';
      });
      sim.inject({ kind: 'status', status: 503, route: 'attachments', match: ({ path }) => path.includes(`/work_packages/${victim.id}/`), times: 1000 });
      const report = await medigySync(sim, dir, { said, client: testClient(sim, { retries: 2 }, said) });
      expect(report.errors.map((e) => e.workPackageId)).toEqual([victim.id]);
      expect(report.errors[0]!.message).toMatch(/503/);
      expect(await treeHashes(dir)).toEqual(before); // the last good files stay
      const manifest = JSON.parse(await everythingWritten(dir));
      expect(manifest.sources.news.retry).toEqual([victim.id]);
      expect(manifest.sources.news.watermark).toBe(manifestBefore.sources.news.watermark);
      expect(said.join('\n')).not.toContain(TEST_KEY);

      sim.clearFaults();
      const again = await medigySync(sim, dir);
      expect(again.errors).toEqual([]);
      expect(again.counts.total.update).toBe(1);
      const after = JSON.parse(await everythingWritten(dir));
      expect(after.sources.news.retry).toEqual([]);
      // The watermark is the newest updatedAt the walk received that is not in the future
      // of the server's Date or this machine's clock: the edit's, never held at the old value.
      const edited = Date.parse(sim.dataset.workPackages.get(victim.id)!.updatedAt as string);
      expect(Date.parse(after.sources.news.watermark)).toBeGreaterThanOrEqual(Math.floor(edited / 1000) * 1000);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
