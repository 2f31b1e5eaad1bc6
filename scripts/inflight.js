// Requests in flight during one cold sync, from the simulator's own request log (each
// record has startMs/endMs): how close curate keeps the server to its concurrency.
//   npm run build && node scripts/inflight.js [N=3000] [concurrency=8]
// Prints wall time, curate's phase timings, the mean number of API requests in flight,
// that mean per second of the run, and request durations by route as the server saw them.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { generateDataset, startSimulator } = await import(path.join(root, 'dist', 'simulator', 'index.js'));
const n = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 8);

const sim = await startSimulator({ dataset: generateDataset({ workPackages: n, seed: 1 }), apiKey: 'k', latencyMs: 20, perElementMs: 2, maxPageSize: 1000 });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'curate-inflight-'));
try {
  const cfg = yaml.load(await readFile(path.join(root, 'fixtures', 'medigy', 'curate.config.yaml'), 'utf8'));
  cfg.openproject = { ...cfg.openproject, pageSize: 1000, concurrency };
  await writeFile(path.join(tmp, 'curate.config.yaml'), yaml.dump(cfg));
  const t0 = performance.now();
  const args = [path.join(root, 'bin', 'curate.js'), 'sync', '--config', path.join(tmp, 'curate.config.yaml'), '--out', path.join(tmp, 'out'), '--now', '2021-02-19T00:00:00Z', '--json'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: 'k', CI: '1' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  const t1 = performance.now();
  const recs = sim.log().filter((r) => r.origin === 'api');
  let busy = 0;
  for (const r of recs) busy += (r.endMs ?? t1) - r.startMs;
  const first = Math.min(...recs.map((r) => r.startMs));
  const last = Math.max(...recs.map((r) => r.endMs ?? t1));
  console.log(`N=${n} c=${concurrency}: wall ${(t1 - t0).toFixed(0)} ms; first request at +${(first - t0).toFixed(0)} ms; exit ${(t1 - last).toFixed(0)} ms after the last response; ${recs.length} API requests; mean in flight ${(busy / (last - first)).toFixed(2)}; curate timings ${JSON.stringify(JSON.parse(out).timings)}`);
  const seconds = Math.ceil((last - t0) / 1000);
  const perSecond = new Array(seconds).fill(0);
  for (const r of recs) {
    const s = r.startMs - t0;
    const e = (r.endMs ?? t1) - t0;
    for (let k = Math.floor(s / 1000); k <= Math.floor(e / 1000) && k < seconds; k++) perSecond[k] += Math.max(0, Math.min(e, (k + 1) * 1000) - Math.max(s, k * 1000)) / 1000;
  }
  console.log(`in flight, per second: ${perSecond.map((x) => x.toFixed(1)).join(' ')}`);
  const byRoute = new Map();
  for (const r of recs) byRoute.set(r.route, [...(byRoute.get(r.route) ?? []), (r.endMs ?? t1) - r.startMs]);
  for (const [route, ms] of byRoute) {
    ms.sort((a, b) => a - b);
    console.log(`${route}: ${ms.length} requests, median ${ms[ms.length >> 1].toFixed(1)} ms, p90 ${ms[Math.floor(ms.length * 0.9)].toFixed(1)} ms`);
  }
} finally {
  await sim.close();
  await rm(tmp, { recursive: true, force: true });
}
