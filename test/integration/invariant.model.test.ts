// Issue 12's invariant as a model-based, randomized test: random histories of server
// edits, clock and config changes, curate upgrades, hand-written files, interruptions
// (abort, SIGKILL of the real binary), faults and edits during a sync, and (issue 19)
// renames, Date headers, restores, bulk updates, links, stale watchers and blockers, interleaved with
// incremental syncs, each checked against a fresh sync into an empty folder (the checks:
// test/helpers/model-world.ts). A bounded number of histories with a fixed seed, so CI is
// reproducible and quick; `npm run fuzz:sync` runs thousands with a random seed and shrinks
// what it finds. A failure prints the history: paste it into invariant-regressions.test.ts.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { formatHistory, historyArb } from '../helpers/model-steps.js';
import { runHistory } from '../helpers/model-world.js';

const SEED = 20261126;
const RUNS = 12;

describe('sync invariant (model-based)', () => {
  it(`${RUNS} random histories (seed ${SEED}): every sync that exits 0 equals a fresh sync, and no run touches what it must not`, async () => {
    await fc.assert(
      fc.asyncProperty(historyArb({ maxSteps: 10 }), (h) => runHistory(h.setup, h.steps)),
      // No shrinking here (it can take minutes): the fuzz script shrinks; CI only needs the seed and the history.
      { seed: SEED, numRuns: RUNS, endOnFailure: true, reporter: (r) => {
        if (!r.failed) return;
        const [h] = r.counterexample ?? [];
        throw new Error(`history ${r.numRuns} of seed ${SEED} breaks the invariant (replay: npm run fuzz:sync -- --seed ${SEED} --runs ${RUNS})\n${h ? formatHistory(h) : ''}\n${r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)}`);
      } },
    );
  }, 120_000);
});
