// `npm run fuzz:sync -- [--seed N] [--runs N] [--minutes M] [--max-steps N] [--profile medigy|default]
// [--without kinds] [--skip violations] [--sync plain=5,abort=2,fault=2,during=3,cli=1,signal=1]
// [--dataset fixture|small] [--workers N] [--timings] [--no-shrink] [--verbose]`
//
// Random histories of server edits, clock and config changes, interruptions and faults,
// interleaved with syncs, each checked against a fresh sync (issue 12's invariant, with
// issue 19's event kinds; the checks are described in test/helpers/model-world.ts). Prints
// the seed first, and for a failure the shrunk history in the form
// test/integration/invariant-regressions.test.ts takes. `--without now,config` leaves step
// kinds out (`rename:option`, `edit:skew`: one kind of rename or edit), `--skip compare`
// counts histories that hit a known violation kind as passing, to look for other failures
// past a known one.
//
// Speed: `--dataset small` runs on a deterministic subset of the fixture (every project and
// source, pages still crossed with the small page sizes); `--workers N` runs N processes,
// worker i with seed + i and its share of the runs (each prints its own replay line);
// `--timings` prints where the time went (per history, incremental runs, CLI runs, oracle).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DEFAULT_SYNC_WEIGHTS, formatHistory, historyArb, type HistoryOptions, type ProfileName, type StepKind, type SyncWeights } from '../test/helpers/model-steps.js';
import { InvariantViolation, runHistory, worldTimings, type ViolationKind, type WorldOptions } from '../test/helpers/model-world.js';

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

const argv = process.argv.slice(2);
const a = args(argv);
const seed = a.has('seed') ? Number(a.get('seed')) : Math.floor(Math.random() * 2 ** 31);
const runs = Number(a.get('runs') ?? 1000);
const minutes = Number(a.get('minutes') ?? 5);
const verbose = a.has('verbose');
const workers = Number(a.get('workers') ?? 1);

/** The options other than seed, runs and workers: what a replay line must repeat (the weights, the profile, the dataset…). */
const rest = argv.filter((x, i) => !/^--(seed|runs|workers)(=|$)/.test(x) && !(i > 0 && /^--(seed|runs|workers)$/.test(argv[i - 1]!)));
const replayRest = rest.length ? ` ${rest.join(' ')}` : '';

if (workers > 1) {
  // N processes, worker i with seed + i: one core each, the same options otherwise.
  const share = Math.ceil(runs / workers);
  console.log(`fuzz:sync ${workers} workers, seeds ${seed}..${seed + workers - 1}, ${share} histories each (replay one: npm run fuzz:sync -- --seed S --runs ${share} ${rest.join(' ')})`);
  const started = Date.now();
  let histories = 0;
  const count = (line: string): void => {
    const m = /: (\d+) histories passed in|FAILED after (\d+) histories/.exec(line);
    if (m) histories += Number(m[1] ?? m[2]);
  };
  const codes = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...rest, '--seed', String(seed + i), '--runs', String(share)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) {
            count(l);
            console.log(`[w${i}] ${l}`);
          }
        });
        child.on('close', (code) => {
          if (buf) {
            count(buf);
            console.log(`[w${i}] ${buf}`);
          }
          resolve(code ?? 1);
        });
      }),
    ),
  );
  console.log(`fuzz:sync ${workers} workers (seeds ${seed}..${seed + workers - 1}) done in ${Math.round((Date.now() - started) / 1000)} s: ${histories} histories in all; ${codes.filter((c) => c === 0).length} workers passed, ${codes.filter((c) => c !== 0).length} failed`);
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}

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
const dataset = (a.get('dataset') ?? 'fixture') as NonNullable<WorldOptions['dataset']>;
if (dataset !== 'fixture' && dataset !== 'small') throw new Error('--dataset: fixture or small');

console.log(`fuzz:sync seed ${seed}, up to ${runs} histories or ${minutes} min, dataset ${dataset} (replay: npm run fuzz:sync -- --seed ${seed} --runs ${runs}${replayRest})`);
const started = Date.now();
let ran = 0;
const durations: number[] = [];
const skipped = new Map<string, number>();
const property = fc.asyncProperty(historyArb(options), async (h) => {
  ran += 1;
  const t = performance.now();
  try {
    await runHistory(h.setup, h.steps, { dataset, ...(verbose ? { log: (l: string) => console.log(l) } : {}) });
  } catch (e) {
    if (e instanceof InvariantViolation && skip.has(e.kind)) {
      skipped.set(e.kind, (skipped.get(e.kind) ?? 0) + 1);
      return;
    }
    throw e;
  } finally {
    durations.push(performance.now() - t);
  }
});
// Shrinking re-runs whole histories (hundreds of them, minutes): `--no-shrink` reports the first failing history as it is.
const result = await fc.check(property, { seed, numRuns: runs, interruptAfterTimeLimit: minutes * 60_000, markInterruptAsFailure: false, ...(a.has('no-shrink') ? { endOnFailure: true } : {}) });
const secs = Math.round((Date.now() - started) / 1000);
const skippedText = skipped.size ? `; counted as passing (--skip): ${[...skipped].map(([k, n]) => `${k} ×${n}`).join(', ')}` : '';
if (a.has('timings') && durations.length) {
  const sorted = [...durations].sort((x, y) => x - y);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000;
  const total = durations.reduce((x, y) => x + y, 0);
  const t = worldTimings;
  const pct = (ms: number): string => `${((100 * ms) / total).toFixed(0)}%`;
  console.log(`timings: ${durations.length} histories, ${(total / 1000 / durations.length).toFixed(2)} s mean, p50 ${q(0.5).toFixed(2)} s, p90 ${q(0.9).toFixed(2)} s, max ${q(1).toFixed(2)} s`);
  console.log(
    `  incremental runs ${t.incrementalRuns} (${pct(t.incremental)}), CLI runs ${t.cliRuns} (${pct(t.cli)}), fresh-sync oracle ${t.oracleRuns} run + ${t.oracleHits} cached (${pct(t.oracle)}), tree hashing ${pct(t.trees)}, world setup ${pct(t.create)}, teardown ${pct(t.close)}`,
  );
}
if (!result.failed) {
  console.log(`fuzz:sync seed ${seed}: ${result.numRuns} histories passed in ${secs} s (${ran} runs including shrinking)${result.interrupted ? ', stopped by the time limit' : ''}${skippedText}`);
  process.exit(0);
}
const [history] = result.counterexample ?? [];
console.log(`\nfuzz:sync seed ${seed}: FAILED after ${result.numRuns} histories, ${result.numShrinks} shrinks (${ran} runs including shrinking), ${secs} s${skippedText}`);
console.log(`replay: npm run fuzz:sync -- --seed ${seed} --runs ${runs}${replayRest}  (fast-check path ${result.counterexamplePath})`);
if (history) console.log(`\nshrunk history:\n${formatHistory(history)}`);
console.log(`\n${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}`);
process.exit(1);
