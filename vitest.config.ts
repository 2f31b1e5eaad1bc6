import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Three projects, one run (`npm test` runs them all; `vitest run --project unit` one of them):
// - unit: pure code and small fixtures, no server, no child process: short timeouts, so a
//   unit test that starts to wait on something fails at once instead of slowing the suite.
// - integration: the engine and the client in process, over HTTP against the simulator on
//   127.0.0.1 (or the in-memory fake client, test/helpers/fake-client.ts, where HTTP is not
//   what a test is about).
// - e2e: the built binary (bin/curate.js) as a user runs it: on a pseudo-terminal, as
//   `curate watch`, under cron's environment, packed by npm, with Hugo and Chromium.
// Unit-folder files that run git (a child process per case): with the integration tests,
// whose timeouts allow for a loaded machine.
const RUNS_GIT = ['test/unit/cli-git.test.ts', 'test/unit/plan-patch.test.ts'];

const E2E = [
  'test/cli/**/*.test.ts',
  'test/integration/client-cli.test.ts',
  'test/integration/hugo.test.ts',
  'test/integration/hugo-corpus.test.ts',
  'test/integration/init-default.test.ts',
  'test/integration/init-prompts.test.ts',
  'test/integration/medigy-e2e.test.ts',
  'test/integration/signal-phases.test.ts',
  'test/integration/watch.test.ts',
  'test/integration/watch-publish.test.ts',
];

// The files that take longest, longest first (wall seconds in a fresh clone's `npm test` with
// a busy loop per core, 2026-12-07). Vitest orders files by the durations of earlier runs,
// which a fresh clone (CI) does not have, and otherwise by size: a short file can be a slow
// one (soak, the model test, disk-state), and one of those started last kept one worker
// busy for seconds after the other had finished. Started first, the short files fill the
// end instead. Any file not listed keeps vitest's order after these.
const SLOWEST_FIRST = [
  'test/integration/invariant-regressions.test.ts', // 34.9
  'test/integration/soak.test.ts', // 17.4
  'test/integration/watch.test.ts', // 17.1
  'test/integration/faults.test.ts', // 16.0
  'test/cli/install.test.ts', // 15.5
  'test/cli/recipes.test.ts', // 14.9
  'test/integration/state-shards.test.ts', // 13.8
  'test/cli/terminal.test.ts', // 13.5
  'test/integration/sync-engine.test.ts', // 12.3
  'test/integration/invariant.model.test.ts', // 11.9
  'test/cli/conventions.test.ts', // 11.8
  'test/cli/publish.test.ts', // 10.9
  'test/integration/engine-closure.test.ts', // 10.7
  'test/integration/engine-invariant.test.ts', // 10.4
  'test/cli/cli.test.ts', // 8.1
  'test/integration/engine-facts.test.ts', // 7.2
  'test/unit/disk-state.test.ts', // 7.1
  'test/integration/client-faults.test.ts', // 6.8
  'test/integration/signal-phases.test.ts', // 6.8
  'test/cli/download-cache.test.ts', // 6.3
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? SLOWEST_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i, r: rank(f) })).sort((a, b) => a.r - b.r || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    pool: 'forks',
    // Test files restore what they change (env, timers, fs seams, listeners, servers and
    // child processes they start), so a worker runs them one after another without
    // re-importing vitest and the modules for each file: that import was ~35 CPU seconds.
    isolate: false,
    // Most of an integration or e2e test's time is spent waiting on loopback servers and
    // child processes, so even a 2-core machine runs two files at once (vitest's default
    // there is one).
    maxWorkers: Math.max(2, availableParallelism()),
    sequence: { sequencer: SlowestFirst },
    // Each worker transformed every TypeScript module it imported on its own; with the
    // cache (node_modules/.experimental-vitest-cache, keyed by each file's content and the
    // configuration, removed by `npm ci`) the second worker reads what the first wrote,
    // even on a fresh clone: a quiet `vitest run` there took 167.6 and 169.4 CPU-s against
    // 174.1 and 180.4 without (two pairs, docs/performance.md, sixteenth session).
    // `vitest --clearCache` empties it.
    experimental: { fsModuleCache: true },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: RUNS_GIT, testTimeout: 10_000, hookTimeout: 10_000 },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts', ...RUNS_GIT], exclude: E2E, testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: { name: 'e2e', include: E2E, testTimeout: 60_000, hookTimeout: 60_000 },
      },
    ],
  },
});
