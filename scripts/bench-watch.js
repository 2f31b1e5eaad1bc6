#!/usr/bin/env node
// `npm run bench:watch`: webhook-to-file latency of `curate watch`, and the watcher's idle
// cost. The simulator (10,000 work packages, 20 ms per request + 2 ms per work package
// rendered in a list, as `npm run bench`) runs in THIS process and sends OpenProject-style
// signed webhooks; the watcher is the real binary in its own process, so the RSS and CPU
// it reports (GET /metrics) are its own. Not a test: it prints figures.
//
//   node scripts/bench-watch.js [--n 10000] [--samples 40] [--idle-seconds 10]
//
// Latency = from the edit on the server (the webhook leaves at once; OpenProject would
// first wait for its journal aggregation time, see docs/webhooks.md) until the work
// package's markdown file on disk holds the edit. It includes the watcher's ~300 ms
// debounce by design. Samples are sequential, 600 ms apart, so each is its own sync.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LATENCY_MS = 20;
const PER_ELEMENT_MS = 2;
const API_KEY = 'bench-key-not-a-secret';
const SECRET = 'bench-webhook-secret-not-a-secret';
const NOW = '2021-02-19T00:00:00Z';

const { values: flags } = parseArgs({ options: { n: { type: 'string' }, samples: { type: 'string' }, 'idle-seconds': { type: 'string' } } });
const n = Number(flags.n ?? 10000);
const samples = Number(flags.samples ?? 40);
const idleSeconds = Number(flags['idle-seconds'] ?? 10);
if (![n, samples, idleSeconds].every((v) => Number.isInteger(v) && v > 0)) fail('--n, --samples and --idle-seconds take positive integers');
if (!existsSync(path.join(root, 'dist', 'simulator', 'index.js'))) fail('dist/ is missing: run `npm run build` first');
const { generateDataset, startSimulator } = await import(path.join(root, 'dist', 'simulator', 'index.js'));

function fail(msg) {
  console.error(`bench-watch: ${msg}`);
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = (url) =>
  new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
const metric = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const dataset = generateDataset({ workPackages: n, seed: 1 });
const sim = await startSimulator({ dataset, apiKey: API_KEY, latencyMs: LATENCY_MS, perElementMs: PER_ELEMENT_MS, cacheListings: true });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'curate-bench-watch-'));
let child;
try {
  const cfg = yaml.load(await readFile(path.join(root, 'fixtures', 'medigy', 'curate.config.yaml'), 'utf8'));
  const configPath = path.join(tmp, 'curate.config.yaml');
  await writeFile(configPath, yaml.dump(cfg));
  const out = path.join(tmp, 'content');
  child = spawn(process.execPath, [path.join(root, 'bin', 'curate.js'), 'watch', '--json', '--config', configPath, '--out', out, '--now', NOW, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: API_KEY, OPENPROJECT_TOKEN: '', OPENPROJECT_WEBHOOK_SECRET: SECRET, NO_COLOR: '1', CI: '1' },
  });
  const lines = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  child.on('exit', (code) => code !== 0 && code !== null && fail(`the watcher exited ${code}`));
  const started = performance.now();
  let url;
  while (!(url = lines.find((l) => l.event === 'listening')?.url)) await sleep(20);
  while ((await get(`${url}/healthz`)).status !== 200) await sleep(100);
  const coldMs = performance.now() - started;
  console.log(`curate watch bench: ${n} work packages, ${LATENCY_MS} ms per request + ${PER_ELEMENT_MS} ms per listed work package, ${samples} samples`);
  console.log(`first reconciliation (cold sync into an empty folder): ${(coldMs / 1000).toFixed(1)} s`);

  // The state as curate reads it (manifest.json and its shards of work packages).
  const { readManifest } = await import(path.join(root, 'dist', 'output', 'manifest.js'));
  const manifest = await readManifest(out);
  const owned = Object.entries(manifest.workPackages)
    .map(([id, w]) => ({ id: Number(id), md: Object.keys(w.files).find((f) => f.endsWith('.md')) }))
    .filter((x) => x.md);
  sim.webhooks.configure({ url: `${url}/webhook`, secret: SECRET });
  const latencies = [];
  for (let i = 0; i < samples; i++) {
    const target = owned[(i * 7919) % owned.length];
    const marker = `bench-watch-marker-${i}-${Date.now()}`;
    const file = path.join(out, target.md);
    const t0 = performance.now();
    sim.updateWorkPackage(target.id, (wp) => {
      const d = wp.description ?? { raw: '', html: '' };
      wp.description = { format: 'markdown', raw: `${d.raw ?? ''}<p>${marker}</p>`, html: `${d.html ?? ''}<p>${marker}</p>` };
    });
    for (;;) {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text.includes(marker)) break;
      if (performance.now() - t0 > 60_000) fail(`work package #${target.id}: the edit did not reach ${target.md} within 60 s`);
      await sleep(2);
    }
    latencies.push(performance.now() - t0);
    await sleep(600);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const ms = (v) => `${Math.round(v)} ms`;
  console.log(`webhook-to-file latency: p50 ${ms(pct(sorted, 50))}, p95 ${ms(pct(sorted, 95))}, max ${ms(sorted.at(-1))} (target p95 < 250 ms, issue 22: ${pct(sorted, 95) < 250 ? 'met' : 'NOT met'})`);
  const targeted = lines.filter((l) => l.event === 'sync' && l.kind === 'targeted' && l.outcome === 'ok');
  if (targeted.length) {
    const reqs = targeted.map((l) => l.requests).sort((a, b) => a - b);
    const durations = targeted.map((l) => l.ms).sort((a, b) => a - b);
    console.log(`targeted syncs: ${targeted.length}, duration p50 ${durations[Math.floor(durations.length / 2)]} ms, requests per sync p50 ${reqs[Math.floor(reqs.length / 2)]}`);
  }

  await sleep(2000);
  const m0 = (await get(`${url}/metrics`)).body;
  const t0 = performance.now();
  await sleep(idleSeconds * 1000);
  const m1 = (await get(`${url}/metrics`)).body;
  const cpuPct = ((metric(m1, 'process_cpu_seconds_total') - metric(m0, 'process_cpu_seconds_total')) / ((performance.now() - t0) / 1000)) * 100;
  console.log(`idle watcher: RSS ${(metric(m1, 'process_resident_memory_bytes') / 1e6).toFixed(1)} MB, CPU ${cpuPct.toFixed(2)} % of one core over ${idleSeconds} s`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
} finally {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await sim.close();
  await rm(tmp, { recursive: true, force: true });
}
