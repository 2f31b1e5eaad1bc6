// Issue 20, defect 10: `##N` / `###N` show another work package's type, status and subject
// (OpenProject's static rendering, opf/openproject@0e0ef73ce1b4a25b2d8df462828be643c2d24f06:
// lib/open_project/text_formatting/matchers/link_handlers/work_packages.rb with
// helpers/static_macro_label.rb). A page now depends on another work package's data: each
// case changes that data between runs (or during one) and checks that the incremental tree
// equals the tree a fresh sync writes, through the real simulator on 127.0.0.1 and the
// real engine (and once the real CLI).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { readManifest } from '../../src/output/manifest.js';
import { createWorkPackage, moveWorkPackage, renameStatus, renameType } from '../../src/simulator/hooks.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { SyncOptions, SyncReport } from '../../src/sync/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { ROOT, runCli, tempDir } from '../helpers/env.js';
import { DEFAULT_PROFILE_SOURCES } from '../helpers/model-world.js';
import { describeAs, expectFreshTree, retitle, withClockedSim } from '../helpers/clocked-sim.js';
import { medigySync, testClient } from '../helpers/sync-harness.js';

type Extra = Partial<SyncOptions>;
const BASE = 'https://op.example';
const profile = (): Extra => ({ sources: structuredClone(DEFAULT_PROFILE_SOURCES), profile: createProfile('default', { openprojectUrl: BASE }) });
/** The audit on this run (every source walked, outside targets read again). */
const AUDIT = { auditIntervalMs: 0 } as Extra;

// Fixture ids (fixtures/medigy/dataset): 380 is news (Curated Content); 3843 and 457 are
// communities; 4582 is a Bug of the pandemic project, which no source syncs.
const PAGE = 380;
const OTHER_SOURCE = 3843;
const OUTSIDE = 4582;
const NOWHERE = 99_999;
const pagePath = (dir: string, id = PAGE): string => path.join(dir, 'news', String(id), 'index.md');


const expectFresh = (sim: Simulator, dir: string, extra: Extra = {}): Promise<void> => expectFreshTree(dir, (fresh) => medigySync(sim, fresh, { ...profile(), ...extra }));

async function syncOk(sim: Simulator, dir: string, extra: Extra = {}): Promise<SyncReport> {
  const r = await medigySync(sim, dir, { ...profile(), ...extra });
  expect(r.errors).toEqual([]);
  return r;
}

const body = async (dir: string, id = PAGE): Promise<string> => (await readFile(pagePath(dir, id), 'utf8')).split('\n---\n').slice(1).join('\n---\n');

const withSim = withClockedSim;

describe('issue 20 defect 10: ##N / ###N show the target (type, status, subject), kept right by the engine', () => {
  it('shows what OpenProject shows, for a target in another source, one outside every source and one that does not exist', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ##${OTHER_SOURCE}, ###${OUTSIDE} and ##${NOWHERE}.`);
      clock.tick();
      await syncOk(sim, dir);
      const subject = String(sim.dataset.workPackages.get(OTHER_SOURCE)!.subject);
      const text = await body(dir);
      expect(text).toContain(`[Curated Content #${OTHER_SOURCE}: ${subject}](../../communities/${OTHER_SOURCE}/)`);
      expect(text).toContain(`[In progress Bug #${OUTSIDE}: Update favicon for the events listing](${BASE}/work_packages/${OUTSIDE})`);
      // Not visible or gone: the bare label, not linked (static_html_rendering_spec.rb, "inaccessible work package").
      expect(text).toMatch(new RegExp(`and #${NOWHERE}\\.`));
      expect(text).not.toContain('##');
      const m = await readManifest(dir, 'default');
      expect(m!.targets).toEqual({
        [OTHER_SOURCE]: { subject, type: 3, status: 1 },
        [OUTSIDE]: { subject: 'Update favicon for the events listing', type: 1, status: 2, outside: true },
        [NOWHERE]: null,
      });
      expect(m!.targetsReadAt).toBeDefined();
    });
  });

  it('a target renamed in another source: the dependent page, itself unchanged, is mapped again on the next incremental run', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ##${OTHER_SOURCE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      retitle(sim, OTHER_SOURCE, 'A renamed target');
      clock.tick();
      await syncOk(sim, dir);
      expect(await body(dir)).toContain(`[Curated Content #${OTHER_SOURCE}: A renamed target](../../communities/${OTHER_SOURCE}/)`);
      await expectFresh(sim, dir);
    });
  });

  it('a targeted sync (curate watch) of the renamed target brings its dependents up to date in the same run', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ##${OTHER_SOURCE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      retitle(sim, OTHER_SOURCE, 'Renamed, then a webhook');
      clock.tick();
      const r = await syncOk(sim, dir, { onlyIds: [OTHER_SOURCE] });
      expect(r.counts.workPackages.mapped).toBe(2);
      expect(await body(dir)).toContain(`[Curated Content #${OTHER_SOURCE}: Renamed, then a webhook](../../communities/${OTHER_SOURCE}/)`);
      await expectFresh(sim, dir);
    });
  });

  it('the target\'s type and status renamed: the pages showing them change on the next run, without a request more', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ###${OUTSIDE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      const noChange = await syncOk(sim, dir);
      renameType(sim, 1, 'Defect');
      renameStatus(sim, 2, 'Under way');
      clock.tick();
      const renamed = await syncOk(sim, dir);
      expect(await body(dir)).toContain(`[Under way Defect #${OUTSIDE}: Update favicon for the events listing](${BASE}/work_packages/${OUTSIDE})`);
      // The names come from the type and status lists every run reads. (A renamed status
      // that pages show re-maps their source, whose listing is then one request more, and
      // each source with a page mapped is walked a second time once mapped: recheck.ts.)
      const sources = Object.keys(renamed.counts.bySource).length;
      expect(renamed.requests.byRoute.work_packages ?? 0).toBeLessThanOrEqual((noChange.requests.byRoute.work_packages ?? 0) + 1 + sources);
      await expectFresh(sim, dir);
    });
  });

  it('a target created in another source in the same run, after its dependent was mapped: the page shows it at the end of that run', async () => {
    // One request at a time and one row per page: the news walk (listed first) maps the page
    // while the communities walk is still paging towards the new row, its newest.
    await withSim(
      async (sim, dir, clock) => {
        const sources = [DEFAULT_PROFILE_SOURCES[1]!, DEFAULT_PROFILE_SOURCES[0]!, DEFAULT_PROFILE_SOURCES[2]!];
        const client = testClient(sim, { concurrency: 1, pageSize: 1 });
        try {
          const extra: Extra = { client, sources: structuredClone(sources), concurrency: 1 };
          await syncOk(sim, dir, extra);
          clock.tick();
          const target = Math.max(...sim.dataset.workPackages.keys()) + 1;
          describeAs(sim, PAGE, `Read ##${target} and ###${target}.`);
          clock.tick();
          for (const id of [3041, 3092, 3266, 3322]) retitle(sim, id, `Edited ${id}`);
          clock.tick();
          createWorkPackage(sim, OTHER_SOURCE, { id: target, subject: 'Created in the same run' });
          clock.tick();
          await syncOk(sim, dir, extra);
          const text = await body(dir);
          expect(text).toContain(`[Curated Content #${target}: Created in the same run](../../communities/${target}/)`);
          expect(text).toContain(`[New Curated Content #${target}: Created in the same run](../../communities/${target}/)`);
          await expectFresh(sim, dir, { sources: structuredClone(sources) });
        } finally {
          await client.close();
        }
      },
      { maxPageSize: 1 },
    );
  });

  it('a target moved out of every source, then deleted: the page follows (outside: its facts read by id; gone: the bare label)', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ###${OTHER_SOURCE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      moveWorkPackage(sim, OTHER_SOURCE, { typeId: 12 });
      clock.tick();
      await syncOk(sim, dir);
      const subject = String(sim.dataset.workPackages.get(OTHER_SOURCE)!.subject);
      expect(await body(dir)).toContain(`[New Task #${OTHER_SOURCE}: ${subject}](${BASE}/work_packages/${OTHER_SOURCE})`);
      await expectFresh(sim, dir);
      clock.tick();
      sim.deleteWorkPackage(OTHER_SOURCE);
      clock.tick();
      // Outside every source it has no change signal: its deletion reaches the page at the audit.
      await syncOk(sim, dir, AUDIT);
      expect(await body(dir)).toMatch(new RegExp(`See #${OTHER_SOURCE}\\.`));
      await expectFresh(sim, dir);
    });
  });

  it('a target synced by another source that is deleted: the page shows the bare label on the next run', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ##${OTHER_SOURCE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      sim.deleteWorkPackage(OTHER_SOURCE);
      clock.tick();
      await syncOk(sim, dir);
      expect(await body(dir)).toMatch(new RegExp(`See #${OTHER_SOURCE}\\.`));
      await expectFresh(sim, dir);
    });
  });

  it('a target outside every source: read once in bulk, then no request until the audit, which brings its new subject', async () => {
    await withSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See ##${OUTSIDE}, ##4591 and ##${NOWHERE}.`);
      clock.tick();
      const first = await syncOk(sim, dir);
      clock.tick();
      const second = await syncOk(sim, dir);
      clock.tick();
      const third = await syncOk(sim, dir);
      // The third run changed nothing and asked the same as the second.
      expect(third.requests.total).toBe(second.requests.total);
      expect(third.counts.workPackages.mapped).toBe(0);
      expect(first.requests.total).toBeGreaterThan(0);
      retitle(sim, OUTSIDE, 'Renamed outside');
      clock.tick();
      // No signal for it: the page keeps what it showed (the documented bound) …
      const plain = await syncOk(sim, dir);
      expect(plain.requests.total).toBe(second.requests.total);
      expect(await body(dir)).not.toContain('Renamed outside');
      // … until the audit reads the outside targets again (one request for all three).
      await syncOk(sim, dir, AUDIT);
      expect(await body(dir)).toContain(`[Bug #${OUTSIDE}: Renamed outside](${BASE}/work_packages/${OUTSIDE})`);
      await expectFresh(sim, dir);
    });
  });

  it('a no-change default-profile sync with references to synced targets makes no request more than one without', async () => {
    await withSim(async (sim, dir, clock) => {
      await syncOk(sim, dir);
      clock.tick();
      const before = (await syncOk(sim, dir)).requests.total;
      describeAs(sim, PAGE, `See ##${OTHER_SOURCE}, ###457 and ##136.`);
      describeAs(sim, 457, `Back to ###${PAGE}.`);
      clock.tick();
      await syncOk(sim, dir);
      clock.tick();
      const after = await syncOk(sim, dir);
      expect(after.counts.workPackages.mapped).toBe(0);
      expect(after.requests.total).toBe(before);
    });
  });

  it('through the real CLI: a renamed target reaches its dependents on the next plain sync, which a dry run then finds complete', async () => {
    // The corpus's texts 1052 (Cats V Dogs, `##1052`) and 1053 (`###1052`).
    const corpus = path.join(ROOT, 'fixtures/default/corpus');
    const apiKey = 'engine-facts-key-not-a-secret';
    const sim = await startSimulator({ dataset: path.join(corpus, 'dataset'), apiKey });
    const { dir, cleanup } = await tempDir();
    try {
      const sync = (...more: string[]): ReturnType<typeof runCli> =>
        runCli(['sync', '--config', path.join(corpus, 'curate.config.yaml'), '--out', dir, '--json', ...more], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: apiKey } });
      expect((await sync()).code).toBe(0);
      const page = (id: number): Promise<string> => readFile(path.join(dir, 'texts', String(id), 'index.md'), 'utf8');
      expect(await page(1053)).toContain('[New Task #1052: Cats V Dogs](../1052/)');
      retitle(sim, 1052, 'Dogs V Cats');
      const r = await sync();
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { changes: { path: string }[] };
      expect(report.changes.map((c) => c.path).sort()).toEqual(['texts/1052/index.md', 'texts/1053/index.md']);
      expect(await page(1053)).toContain('[New Task #1052: Dogs V Cats](../1052/)');
      expect(await page(1052)).toContain('see [Task #1052: Dogs V Cats](../1052/) for details');
      expect((await sync('--dry-run')).code).toBe(0);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
