import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

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

export default defineConfig({
  test: {
    pool: 'forks',
    // Test files restore what they change (env, timers, fs seams, listeners, servers and
    // child processes they start), so a worker runs them one after another without
    // re-importing vitest and the modules for each file: that import was ~35 CPU seconds.
    isolate: false,
    // Most of an integration or e2e test's time is spent waiting on loopback servers, child
    // processes and the disk, so one file more than there are cores runs at once (vitest's
    // default on 2 cores is one): `npm test` on fresh clones of one commit, a busy loop per
    // core, 2 cores: 145.6, 154.3 and 156.1 s with three workers against 167.6, 191.4 and
    // 189.0 s with two (docs/performance.md, twenty-third session).
    maxWorkers: availableParallelism() + 1,
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
