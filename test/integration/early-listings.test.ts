// Id listings asked for before the server's names answer (src/sync/early-listings.ts): the
// run after a sync starts each source's listing with the query it recorded, and uses it only
// when the names confirm that query. A config edit or a renamed type changes the query: the
// early listing is dropped and the source listed again, and the tree is a fresh sync's.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LISTING_HINT_FILE } from '../../src/output/listing-hint.js';
import { renameType } from '../../src/simulator/hooks.js';
import type { Simulator } from '../../src/simulator/index.js';
import { diffTrees, medigyConfig, tempDir, treeHashes } from '../helpers/env.js';
import { freshMedigyTree, medigySync, startFixtureSimulator, testClient } from '../helpers/sync-harness.js';

let sim: Simulator;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  sim = await startFixtureSimulator();
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await sim.close();
  await cleanup();
});

const same = { missing: [], extra: [], different: [] };
/** The requests of the last run, in the order they arrived. */
const order = (): { route: string; path: string }[] => [...sim.log()].sort((a, b) => a.startMs - b.startMs).map((r) => ({ route: r.route, path: decodeURIComponent(r.path) }));
/**
 * The type list is held until a work package list is asked for: only a listing that does not
 * wait for the names ends the hold (else the run retries it until it gives up). Without it a
 * local server answers the names before the early listings start, and the order is a race.
 */
function holdTypesUntilListing(): void {
  sim.inject({ kind: 'stall', route: ['types'], stallMs: 30_000, rate: 1 });
  sim.onListPage(() => {
    sim.clearFaults();
    sim.endStalls();
  });
}
const typeFilter = (p: string): string | undefined => /"type":\{"operator":"=","values":\[([^\]]*)\]/.exec(p)?.[1];

describe('early id listings', () => {
  it('the run after a sync lists before the names answer (before the schemas, which wait for them); the first run after the names', async () => {
    expect((await medigySync(sim, dir)).errors).toEqual([]);
    const first = order();
    expect(first.findIndex((r) => r.route === 'work_packages')).toBeGreaterThan(first.findIndex((r) => r.route === 'schemas'));
    expect(JSON.parse(await readFile(path.join(dir, LISTING_HINT_FILE), 'utf8'))).toMatchObject({ version: 1, authorsAnswered: true });
    sim.resetCounts();
    holdTypesUntilListing();
    const again = await medigySync(sim, dir);
    sim.onListPage(null);
    expect(again.errors).toEqual([]);
    const second = order().filter((r) => r.route !== 'storage');
    expect(second.findIndex((r) => r.route === 'work_packages')).toBeLessThan(second.findIndex((r) => r.route === 'schemas'));
    // Each source listed once: no listing asked twice.
    const listings = second.filter((r) => r.route === 'work_packages' && r.path.includes('elements/id') && r.path.includes('offset=1&'));
    expect(listings).toHaveLength((await medigyConfig()).sources.length);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a source whose types changed in the config: its early listing is dropped, the new query listed, the tree a fresh sync\'s', async () => {
    const { sources } = await medigyConfig();
    expect((await medigySync(sim, dir, { sources })).errors).toEqual([]);
    // The first source no longer syncs "Curated News": its query loses that type's id.
    const edited = sources.map((s, i) => (i === 0 ? { ...s, types: s.types.filter((t) => t !== 'Curated News') } : s));
    sim.resetCounts();
    const report = await medigySync(sim, dir, { sources: edited });
    expect(report.errors).toEqual([]);
    // Only that the source is mapped again: the dropped listing is no warning and no error.
    expect(report.warnings).toEqual([expect.stringMatching(/^source "chronic-care-management": its configuration, .* changed since the last sync; mapping all of its work packages again$/)]);
    const firstPages = order().filter((r) => r.route === 'work_packages' && r.path.includes('elements/id') && r.path.includes(`"project":{"operator":"=","values":["`) && r.path.includes('offset=1&'));
    const typesAsked = new Set(firstPages.map((r) => typeFilter(r.path)));
    const news = sim.dataset.instance.types.find((t) => t.name === 'Curated News')!.id;
    // The old query may have gone out (then dropped), the new one certainly did.
    expect([...typesAsked].some((t) => t !== undefined && !t.split(',').includes(`"${news}"`))).toBe(true);
    const fresh = await tempDir('curate-fresh-');
    try {
      expect((await medigySync(sim, fresh.dir, { sources: edited })).errors).toEqual([]);
      expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual(same);
    } finally {
      await fresh.cleanup();
    }
    // The hint now holds the new query: the next run's early listing is used.
    sim.resetCounts();
    holdTypesUntilListing();
    expect((await medigySync(sim, dir, { sources: edited })).errors).toEqual([]);
    sim.onListPage(null);
    const next = order().filter((r) => r.route !== 'storage');
    expect(next.findIndex((r) => r.route === 'work_packages')).toBeLessThan(next.findIndex((r) => r.route === 'schemas'));
  });

  it('types renamed on the server: the config\'s name now resolves to another type, the early listing is not used', async () => {
    expect((await medigySync(sim, dir)).errors).toEqual([]);
    // "Curated News" becomes "Old News", and the Bug type (unsynced) takes its name: the
    // community sources' query now asks for Bugs instead (the fixture's Pandemic Community has two).
    const types = sim.dataset.instance.types;
    renameType(sim, Number(types.find((t) => t.name === 'Curated News')!.id), 'Old News');
    renameType(sim, Number(types.find((t) => t.name === 'Bug')!.id), 'Curated News');
    sim.resetCounts();
    const report = await medigySync(sim, dir);
    expect(report.errors).toEqual([]);
    expect(diffTrees(await treeHashes(dir), await freshMedigyTree(sim))).toEqual(same);
  });

  it('a dropped listing sends nothing more: aborted before its first request, or after its first page', async () => {
    const client = testClient(sim);
    try {
      const early = new AbortController();
      const asked = client.listWorkPackageIds({ projectIds: [], typeIds: [], statusIds: [] }, { withAuthors: true, signal: early.signal });
      early.abort(new Error('dropped'));
      await expect(asked).rejects.toThrow('dropped');
      expect(sim.counts().byRoute.work_packages ?? 0).toBe(0);
      // Pages of 2 (the fixture's 36 work packages): dropped once the first page is in.
      const paged = await startFixtureSimulator({ maxPageSize: 2 });
      const small = testClient(paged, { pageSize: 2 });
      try {
        const later = new AbortController();
        paged.onListPage(() => later.abort(new Error('dropped later')));
        await expect(small.listWorkPackageIds({ projectIds: [], typeIds: [], statusIds: [] }, { withAuthors: true, signal: later.signal })).rejects.toThrow('dropped later');
        const sent = paged.counts().byRoute.work_packages ?? 0;
        await new Promise((r) => setTimeout(r, 50));
        expect(paged.counts().byRoute.work_packages ?? 0).toBe(sent);
        expect(sent).toBeLessThan(18);
      } finally {
        await small.close();
        await paged.close();
      }
    } finally {
      await client.close();
    }
  });
});
