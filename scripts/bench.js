#!/usr/bin/env node
// `npm run bench`: curate against the bundled OpenProject simulator with a latency model
// close to a real instance (20 ms per request + 2 ms per fully rendered work package in a
// list page). The simulator runs in THIS process; curate runs as a separate process so its
// peak RSS is its own. Every scenario is compared with a lower bound computed in the same
// run: simulator service time spread over the concurrency + bytes / measured loopback
// throughput. See docs/performance.md.
//
//   node scripts/bench.js [--n 1000,10000] [--concurrency 8[,16…]] [--page-size 1000]
//                         [--json FILE] [--smoke] [--no-micro] [--cpu-prof DIR]
//                         [--no-listing-cache]
//
// The simulator answers a listing's later pages from the rows its first page filtered
// (SimulatorOptions.cacheListings), as a database would; --no-listing-cache makes it scan
// every work package per page again (~20 ms of its CPU per page at 30,000, which the
// lower bound does not model and which competes with curate on a 2-core machine).
// --smoke (CI): N=500, exits 1 ONLY on ratio/count regressions measured in the same run,
// never on absolute times.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { measureLoopback } from './bench-lib/loopback.js';
import { installMeter } from './bench-lib/meter.js';
import { runMicro } from './bench-lib/micro.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LATENCY_MS = 20;
const PER_ELEMENT_MS = 2;
const API_KEY = 'bench-key-not-a-secret';
const NOW = '2021-02-19T00:00:00Z';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string' },
    concurrency: { type: 'string' },
    'page-size': { type: 'string' },
    json: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'no-micro': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'loopback-mb': { type: 'string' },
    // The simulator scanning every work package for each listing page, as before the cache.
    'no-listing-cache': { type: 'boolean', default: false },
  },
});
const smoke = flags.smoke;
const list = (s, d) => (s ? s.split(',').map((x) => Number(x.trim())) : d);
const sizes = list(flags.n, smoke ? [500] : [1000, 10000]);
const concurrencies = list(flags.concurrency, [8]);
const pageSize = Number(flags['page-size'] ?? 1000);
for (const v of [...sizes, ...concurrencies, pageSize]) if (!Number.isInteger(v) || v < 1) fail(`bad numeric flag value: ${v}`);

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(1);
}

if (!existsSync(path.join(root, 'dist', 'simulator', 'index.js'))) fail('dist/ is missing: run `npm run build` first');
const { generateDataset, startSimulator } = await import(path.join(root, 'dist', 'simulator', 'index.js'));

// ---------------------------------------------------------------------------------------
// helpers

/**
 * path → size, mtime, ctime and inode of every file under dir (including curate's state
 * folder): any write changes the ctime (a rename-into-place the inode too), so a file that
 * curate touched shows, without reading it. Reading and hashing every file (2.1 GB at
 * 30,000) left this process freeing those buffers while the next run was timed: the
 * no-change run after it took ~100 ms longer (docs/performance.md, twenty-eighth session).
 */
async function snapshot(dir) {
  const out = new Map();
  const walk = async (d) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const st = await stat(p, { bigint: true });
        out.set(path.relative(dir, p), `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`);
      }
    }
  };
  await walk(dir);
  return out;
}

function diffSnapshots(before, after) {
  const changed = [];
  for (const [k, v] of after) if (before.get(k) !== v) changed.push(k);
  for (const k of before.keys()) if (!after.has(k)) changed.push(k);
  return changed;
}

/** Peak RSS of a child without help from it: VmHWM polled from /proc (Linux only). */
function pollHwm(pid) {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited or not Linux */
    }
  };
  read();
  const timer = setInterval(read, 20);
  return { stop: () => (clearInterval(timer), peak) };
}

async function runCurate({ sim, configPath, out, extra, cpuProfDir }) {
  const args = [];
  if (cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`);
  args.push(path.join(root, 'bin', 'curate.js'), 'sync', '--config', configPath, '--out', out, '--now', NOW, '--json', ...extra);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: API_KEY, OPENPROJECT_TOKEN: '', NO_COLOR: '1', CI: '1' },
  });
  const hwm = pollHwm(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(sig ? 128 : (c ?? 1))));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const polledRss = hwm.stop();
  let report = null;
  try {
    report = JSON.parse(stdout);
  } catch {
    /* reported below */
  }
  return { code, wallMs, report, polledRss, stderr };
}

// ---------------------------------------------------------------------------------------
// one dataset size, one concurrency: the four scenarios

async function runSize(n, concurrency, throughput, meter) {
  const dataset = generateDataset({ workPackages: n, seed: 1 });
  const attachmentCount = dataset.attachments.size;
  const sim = await startSimulator({ dataset, apiKey: API_KEY, latencyMs: LATENCY_MS, perElementMs: PER_ELEMENT_MS, maxPageSize: Math.max(pageSize, 1000), cacheListings: !flags['no-listing-cache'] });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'curate-bench-'));
  const results = [];
  try {
    const cfg = yaml.load(await readFile(path.join(root, 'fixtures', 'medigy', 'curate.config.yaml'), 'utf8'));
    cfg.openproject = { ...cfg.openproject, pageSize, concurrency };
    const configPath = path.join(tmp, 'curate.config.yaml');
    await writeFile(configPath, yaml.dump(cfg));
    const out = path.join(tmp, 'content');

    const scenario = async (name, extra = [], expectCode = 0) => {
      sim.resetCounts();
      meter.reset();
      const before = await snapshot(out);
      const cpu0 = process.cpuUsage();
      const cpuProfDir = flags['cpu-prof'] ? path.resolve(flags['cpu-prof'], `${n}-c${concurrency}-${name}`) : undefined;
      const r = await runCurate({ sim, configPath, out, extra, cpuProfDir });
      const cpu = process.cpuUsage(cpu0);
      const after = await snapshot(out);
      const counts = sim.counts();
      const served = meter.read();
      if (r.code !== expectCode || !r.report) {
        console.error(r.stderr.slice(-2000));
        throw new Error(`${name} (N=${n}): curate exited ${r.code}, expected ${expectCode}`);
      }
      const apiRequests = counts.byRoute ? Object.entries(counts.byRoute).filter(([k]) => k !== 'storage').reduce((s, [, v]) => s + v, 0) : counts.total;
      const bytes = r.report.requests?.bytes ?? served.bytes;
      // Lower bound: the simulator's own service time spread over the concurrency, plus
      // the bytes at loopback speed. Node startup and disk writes are NOT in it on purpose.
      const serviceMs = apiRequests * LATENCY_MS + served.elements * PER_ELEMENT_MS;
      const lowerBoundMs = serviceMs / concurrency + (bytes / throughput) * 1000;
      const t = r.report.counts?.total ?? {};
      const res = {
        n,
        attachments: attachmentCount,
        concurrency,
        pageSize,
        scenario: name,
        exitCode: r.code,
        wallMs: Math.round(r.wallMs),
        curateTotalMs: r.report.timings?.totalMs ?? null,
        curateTimings: r.report.timings ?? null,
        // CPU the simulator (this process) burnt serving: on a 2-core box it competes with curate.
        simulatorCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        requests: counts.total,
        byRoute: counts.byRoute,
        elementsRendered: served.elements,
        bytesDownloaded: bytes,
        bytesServed: served.bytes,
        // VmHWM is the kernel's high-water mark, so the last poll sees any earlier peak;
        // the report's own figure is taken before the report is written, so it can miss one.
        peakRssBytes: Math.max(r.report.maxRssBytes ?? 0, r.polledRss),
        peakRssSource: r.polledRss >= (r.report.maxRssBytes ?? 0) ? '/proc VmHWM poll' : 'report.maxRssBytes',
        polledRssBytes: r.polledRss,
        lowerBoundMs: Math.round(lowerBoundMs),
        ratio: r.wallMs / lowerBoundMs,
        ratioExStartup: Math.max(0, r.wallMs - startupMs) / lowerBoundMs,
        changes: { create: t.create ?? 0, update: t.update ?? 0, delete: t.delete ?? 0, rename: t.rename ?? 0 },
        filesTouched: diffSnapshots(before, after),
        listed: r.report.counts?.workPackages?.listed ?? null,
        // Content folders listed, and taken as unchanged from their stamps (src/sync/folder-trust.ts).
        foldersListed: r.report.state?.foldersListed ?? null,
        foldersTrusted: r.report.state?.foldersTrusted ?? null,
      };
      results.push(res);
      return res;
    };

    await scenario('cold');
    await scenario('warm-no-change');
    // The same again: what a cron job that finds nothing to do costs run after run. The run
    // above is the first after the cold sync, which wrote every content folder moments
    // before its end, so it lists them all (no stamp could be recorded yet: src/sync/
    // folder-trust.ts); from the run after it on, unchanged folders are not listed.
    await scenario('warm-no-change-again');
    // 1% of the work packages change: subject edited (the simulator bumps updatedAt).
    const ids = [...dataset.workPackages.keys()];
    const changedCount = Math.max(1, Math.ceil(n / 100));
    const step = Math.floor(ids.length / changedCount);
    const changed = [];
    for (let i = 0; i < changedCount; i++) changed.push(ids[i * step]);
    for (const id of changed) sim.updateWorkPackage(id, (wp) => void (wp.subject = `${wp.subject ?? ''} (edited)`));
    const changedAttachments = [...dataset.attachments.values()].filter((a) => changed.some((id) => a.meta._links.container.href === `/api/v3/work_packages/${id}`));
    const r1 = await scenario('warm-1pct-changed');
    r1.changedWorkPackages = changedCount;
    r1.changedWorkPackageAttachments = changedAttachments.length;
    r1.changedWorkPackageAttachmentBytes = changedAttachments.reduce((s, a) => s + a.meta.fileSize, 0);
    await scenario('dry-run-warm', ['--dry-run']);
  } finally {
    await sim.close();
    await rm(tmp, { recursive: true, force: true });
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// targets (issue 6). Every check is computed from figures measured in this run.

// The seven medigy sources (fixtures/medigy/curate.config.yaml) each list their own work
// packages; id pages and `updatedAt` queries are per source.
const SOURCES = 7;

function checks(results) {
  const out = [];
  const add = (scenario, n, name, pass, detail, smokeGate = false) => out.push({ scenario, n, check: name, pass, detail, smokeGate });
  for (const r of results) {
    const S = SOURCES;
    // Minimal proof that nothing changed, per source: one `updatedAt > watermark` query and
    // ceil(N_s/pageSize) id-only pages to detect deletions; plus metadata (projects, types,
    // statuses) and the sources' schemas in one bulk request (renamed custom fields, issue
    // 19). Σ ceil(N_s/p) ≤ ceil(N/p) + S - 1.
    const allowedWarm = 4 + S + Math.ceil(r.n / r.pageSize) + S - 1;
    if (r.scenario === 'cold') {
      add('cold', r.n, 'wall ≤ 1.3× lower bound', r.ratio <= 1.3, `ratio ${r.ratio.toFixed(2)}`);
      add('cold', r.n, '(wall − startup) ≤ 3× lower bound', r.ratioExStartup <= 3, `ratio ${r.ratioExStartup.toFixed(2)} (startup ${startupMs.toFixed(0)} ms)`, true);
      if (r.n >= 10000) add('cold', r.n, 'peak RSS < 200 MB', r.peakRssBytes < 200 * 2 ** 20, `${(r.peakRssBytes / 2 ** 20).toFixed(0)} MB`);
    }
    if (r.scenario === 'warm-no-change' || r.scenario === 'warm-no-change-again' || r.scenario === 'dry-run-warm') {
      const downloads = (r.byRoute.content ?? 0) + (r.byRoute.storage ?? 0) + (r.byRoute.attachment ?? 0);
      const contentWrites = r.filesTouched.filter((f) => !f.startsWith('.curate'));
      add(r.scenario, r.n, `requests ≤ ${allowedWarm} (4 + 2·sources + ceil(N/pageSize) − 1)`, r.requests <= allowedWarm, `${r.requests} requests`, true);
      add(r.scenario, r.n, 'no downloads', downloads === 0, `${downloads} download requests`, true);
      add(r.scenario, r.n, 'no content writes', contentWrites.length === 0 && r.changes.create + r.changes.update + r.changes.delete + r.changes.rename === 0, `${contentWrites.length} files touched${contentWrites.length ? ` e.g. ${contentWrites[0]}` : ''}`, true);
      if (r.scenario !== 'dry-run-warm') add(r.scenario, r.n, 'wall < 2 s', r.wallMs < 2000, `${r.wallMs} ms`);
    }
    if (r.scenario === 'warm-1pct-changed') {
      const c = r.changedWorkPackages;
      // Proportional: the warm baseline plus, per changed work package, one attachment
      // listing and at most its own attachments, and ≤ S extra list pages.
      const allowed = allowedWarm + S + c + r.changedWorkPackageAttachments;
      const downloads = r.byRoute.content ?? 0;
      add(r.scenario, r.n, `requests ≤ ${allowed} (warm + sources + changed + their attachments)`, r.requests <= allowed, `${r.requests} requests for ${c} changed`, true);
      add(r.scenario, r.n, `downloads ≤ attachments of changed WPs (${r.changedWorkPackageAttachments})`, downloads <= r.changedWorkPackageAttachments, `${downloads} downloads, ${r.bytesDownloaded} bytes`, true);
      // A subject edit moves the markdown and the images named after it: every file of a
      // changed work package (its markdown + its attachments) may be created at a new path
      // and deleted at the old one, and nothing else may change.
      const fileChanges = 2 * (c + r.changedWorkPackageAttachments);
      add(r.scenario, r.n, `file changes ≤ 2 × files of the changed WPs (${fileChanges})`, r.changes.update + r.changes.create + r.changes.delete <= fileChanges, `${r.changes.update} updated, ${r.changes.create} created, ${r.changes.delete} deleted`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------

const mb = (b) => (b / 2 ** 20).toFixed(1);
const routes = (byRoute) =>
  Object.entries(byRoute)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');

const loopMb = Number(flags['loopback-mb'] ?? (smoke ? 64 : 256));
console.log(`curate bench — node ${process.version}, ${os.cpus().length} cpu(s), latency ${LATENCY_MS} ms/request + ${PER_ELEMENT_MS} ms/element, pageSize ${pageSize}`);
const throughput = await measureLoopback(loopMb * 2 ** 20);
console.log(`loopback throughput: ${mb(throughput)} MB/s (${loopMb} MB streamed over 127.0.0.1)`);

// Fixed cost of starting the CLI (node + module loading), measured here: it is not in the
// lower bound (which models the server), so the smoke gate compares (wall − startup) with it.
async function measureStartup() {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    const code = await new Promise((resolve) => spawn(process.execPath, [path.join(root, 'bin', 'curate.js'), '--version'], { stdio: 'ignore' }).on('exit', resolve));
    if (code !== 0) fail('`curate --version` failed');
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}
const startupMs = await measureStartup();
console.log(`curate process startup (\`curate --version\`, best of 3): ${startupMs.toFixed(0)} ms`);

const meter = installMeter();
const all = [];
for (const n of sizes) {
  for (const c of concurrencies) {
    const rs = await runSize(n, c, throughput, meter);
    all.push(...rs);
    for (const r of rs) {
      console.log(
        `N=${String(r.n).padEnd(6)} c=${String(c).padEnd(3)} ${r.scenario.padEnd(20)} wall ${String(r.wallMs).padStart(6)} ms  bound ${String(r.lowerBoundMs).padStart(6)} ms  ratio ${r.ratio.toFixed(2).padStart(5)} (${r.ratioExStartup.toFixed(2)} ex-startup)  ` +
          `req ${String(r.requests).padStart(5)}  dl ${mb(r.bytesDownloaded).padStart(7)} MB  rss ${mb(r.peakRssBytes).padStart(6)} MB  [${routes(r.byRoute)}]` +
          (r.foldersListed || r.foldersTrusted ? `  folders listed ${r.foldersListed}, trusted ${r.foldersTrusted}` : ''),
      );
    }
  }
}
meter.uninstall();

let micro = null;
if (!flags['no-micro']) {
  // The shared train set beside the checkout when there is one, else the bundled fixtures.
  const train = path.join(root, '..', 'shared', 'medigy', 'train', 'dataset');
  const datasetDir = existsSync(path.join(train, 'instance.json')) ? train : path.join(root, 'fixtures', 'medigy', 'dataset');
  micro = await runMicro({ root, datasetDir, configPath: path.join(root, 'fixtures', 'medigy', 'curate.config.yaml'), minSeconds: smoke ? 1 : 3 });
  console.log(`micro: mapping + rendering ${micro.docsPerSecond.toFixed(0)} documents/s on one core (${micro.documents} documents of ${micro.dataset}, ${micro.seconds.toFixed(1)} s; ${micro.rounds.count} rounds of ≥0.5 s: min ${micro.rounds.min.toFixed(0)}, median ${micro.rounds.median.toFixed(0)}, max ${micro.rounds.max.toFixed(0)})`);
}

const results = checks(all);
if (micro) results.push({ scenario: 'micro', n: micro.documents, check: 'mapping + rendering ≥ 5000 docs/s', pass: micro.docsPerSecond >= 5000, detail: `${micro.docsPerSecond.toFixed(0)} docs/s`, smokeGate: false });
console.log('\ntargets:');
for (const c of results) console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  N=${String(c.n).padEnd(6)} ${c.scenario.padEnd(20)} ${c.check} — ${c.detail}${smoke && c.smokeGate ? ' [gate]' : ''}`);

if (flags.json) {
  await writeFile(flags.json, JSON.stringify({ node: process.version, cpus: os.cpus().length, startupMs, latencyMs: LATENCY_MS, perElementMs: PER_ELEMENT_MS, loopbackBytesPerSecond: throughput, scenarios: all, micro, checks: results }, null, 2) + '\n');
  console.log(`results written to ${flags.json}`);
}
if (smoke) {
  const failed = results.filter((c) => c.smokeGate && !c.pass);
  if (failed.length) {
    console.error(`\nsmoke: ${failed.length} regression(s)`);
    process.exit(1);
  }
  console.log('\nsmoke: no regression');
}
