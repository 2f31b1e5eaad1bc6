// `npm run fuzz:sync -- [--seed N] [--runs N] [--minutes M] [--max-steps N] [--profile medigy|default]
// [--without kinds] [--skip violations] [--sync plain=5,abort=2,fault=2,during=3,cli=1,signal=1] [--verbose]`
//
// Random histories of server edits, clock and config changes, interruptions and faults,
// interleaved with syncs, each checked against a fresh sync (issue 12's invariant; the
// checks are described in test/helpers/model-world.ts). Prints the seed first, and for a
// failure the shrunk history in the form test/integration/invariant-regressions.test.ts
// takes. `--without now,config` leaves step kinds out, `--skip compare` counts histories
// that hit a known violation kind as passing, to look for other failures past a known one.
import fc from 'fast-check';
import { DEFAULT_SYNC_WEIGHTS, formatHistory, historyArb, type HistoryOptions, type ProfileName, type StepKind, type SyncWeights } from '../test/helpers/model-steps.js';
import { InvariantViolation, runHistory, type ViolationKind } from '../test/helpers/model-world.js';

function args(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) out.set(k, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out.set(k, argv[++i]!);
    else out.set(k, 'true');
  }
  return out;
}

const a = args(process.argv.slice(2));
const seed = a.has('seed') ? Number(a.get('seed')) : Math.floor(Math.random() * 2 ** 31);
const runs = Number(a.get('runs') ?? 1000);
const minutes = Number(a.get('minutes') ?? 5);
const verbose = a.has('verbose');
const skip = new Set((a.get('skip') ?? '').split(',').filter(Boolean) as ViolationKind[]);
const weights: Partial<SyncWeights> = {};
for (const kv of (a.get('sync') ?? '').split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  if (!(k! in DEFAULT_SYNC_WEIGHTS)) throw new Error(`--sync: unknown kind ${k}`);
  weights[k as keyof SyncWeights] = Number(v);
}
const options: HistoryOptions = {
  maxSteps: Number(a.get('max-steps') ?? 14),
  without: (a.get('without') ?? '').split(',').filter(Boolean) as StepKind[],
  ...(a.has('profile') ? { profile: a.get('profile') as ProfileName } : {}),
  sync: weights,
};

console.log(`fuzz:sync seed ${seed}, up to ${runs} histories or ${minutes} min (replay: npm run fuzz:sync -- --seed ${seed} --runs ${runs})`);
const started = Date.now();
let ran = 0;
const skipped = new Map<string, number>();
const property = fc.asyncProperty(historyArb(options), async (h) => {
  ran += 1;
  try {
    await runHistory(h.setup, h.steps, verbose ? { log: (l) => console.log(l) } : {});
  } catch (e) {
    if (e instanceof InvariantViolation && skip.has(e.kind)) {
      skipped.set(e.kind, (skipped.get(e.kind) ?? 0) + 1);
      return;
    }
    throw e;
  }
});
const result = await fc.check(property, { seed, numRuns: runs, interruptAfterTimeLimit: minutes * 60_000, markInterruptAsFailure: false });
const secs = Math.round((Date.now() - started) / 1000);
const skippedText = skipped.size ? `; counted as passing (--skip): ${[...skipped].map(([k, n]) => `${k} ×${n}`).join(', ')}` : '';
if (!result.failed) {
  console.log(`fuzz:sync seed ${seed}: ${result.numRuns} histories passed in ${secs} s (${ran} runs including shrinking)${result.interrupted ? ', stopped by the time limit' : ''}${skippedText}`);
  process.exit(0);
}
const [history] = result.counterexample ?? [];
console.log(`\nfuzz:sync seed ${seed}: FAILED after ${result.numRuns} histories, ${result.numShrinks} shrinks, ${secs} s${skippedText}`);
console.log(`replay: npm run fuzz:sync -- --seed ${seed} --runs ${runs}  (fast-check path ${result.counterexamplePath})`);
if (history) console.log(`\nshrunk history:\n${formatHistory(history)}`);
console.log(`\n${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`);
process.exit(1);
