#!/usr/bin/env node
// Run the OpenProject simulator by hand (or from the demo):
//   node dist/simulator/cli.js [--dataset DIR | --generate N] [--port 8080] [--api-key KEY]
// It serves until SIGINT/SIGTERM. The key is never printed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { generateDataset } from './generate.js';
import { startSimulator } from './server.js';
import type { Lenience } from './types.js';

const LENIENCES: readonly Lenience[] = ['filter-values', 'date-operators', 'select-shape', 'custom-field-union', 'subprojects', 'bearer-any'];

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const int =
  (min: number) =>
  (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return n;
  };

const program = new Command('curate-simulator')
  .description('A loopback OpenProject API v3 simulator serving a dataset (DATASET.md format) on 127.0.0.1')
  .option('--dataset <dir>', 'dataset folder', path.join(packageRoot, 'fixtures', 'medigy', 'dataset'))
  .option('--generate <n>', 'serve a synthetic dataset of N work packages instead', int(0))
  .option('--seed <n>', 'seed for --generate and for rate-based faults', int(0), 1)
  .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', int(0), 8080)
  .option('--api-key <key>', 'require this API key (Basic user "apikey"; as a Bearer token only with the "opapi-" prefix)')
  .option('--redirect-downloads', 'answer /content with a 302 to a second origin, like S3 storage')
  .option('--latency-ms <ms>', 'fixed delay per API request', int(0), 0)
  .option('--per-element-ms <ms>', 'extra delay per work package rendered in a list', int(0), 0)
  .option('--max-page-size <n>', 'apiv3_max_page_size', int(1), 1000)
  .option('--signed-url-ttl <s>', 'lifetime of signed storage URLs in seconds (with --redirect-downloads)', int(1))
  .option('--timestamp-digits <n>', 'render timestamps with N fractional digits (default: as the dataset holds them)', int(0))
  .option('--virus-scanning', 'new attachments stay pending (403) until scanned, like Setting.antivirus_scan_mode')
  .option('--refuse-select', 'answer any select= on work package lists with 400 InvalidQuery (a server that does not take select)')
  .option('--lenient <list>', `comma-separated old leniencies: ${LENIENCES.join(', ')}`, (raw: string) => {
    const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = names.filter((n) => !(LENIENCES as readonly string[]).includes(n));
    if (bad.length) throw new InvalidArgumentError(`unknown: ${bad.join(', ')} (known: ${LENIENCES.join(', ')})`);
    return names as Lenience[];
  })
  .parse();

const o = program.opts<{
  dataset: string;
  generate?: number;
  seed: number;
  port: number;
  apiKey?: string;
  redirectDownloads?: boolean;
  latencyMs: number;
  perElementMs: number;
  maxPageSize: number;
  signedUrlTtl?: number;
  timestampDigits?: number;
  virusScanning?: boolean;
  refuseSelect?: boolean;
  lenient?: Lenience[];
}>();

try {
  const sim = await startSimulator({
    dataset: o.generate !== undefined ? generateDataset({ workPackages: o.generate, seed: o.seed }) : path.resolve(o.dataset),
    port: o.port,
    seed: o.seed,
    ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }),
    downloads: o.redirectDownloads ? 'redirect' : 'inline',
    latencyMs: o.latencyMs,
    perElementMs: o.perElementMs,
    maxPageSize: o.maxPageSize,
    ...(o.signedUrlTtl === undefined ? {} : { signedUrlTtlSeconds: o.signedUrlTtl }),
    ...(o.timestampDigits === undefined ? {} : { timestampDigits: o.timestampDigits }),
    virusScanning: o.virusScanning === true,
    refuseSelect: o.refuseSelect === true,
    lenient: o.lenient ?? [],
  });
  const what = o.generate !== undefined ? `synthetic dataset, ${o.generate} work packages, seed ${o.seed}` : path.resolve(o.dataset);
  console.log(`OpenProject simulator listening on ${sim.url} (API at ${sim.url}/api/v3; ${sim.dataset.workPackages.size} work packages, ${sim.dataset.attachments.size} attachments from ${what})`);
  if (o.redirectDownloads) console.log(`Downloads redirect to the storage origin ${sim.storageUrl}`);
  console.log(`Try: OPENPROJECT_URL=${sim.url}${o.apiKey === undefined ? '' : ' OPENPROJECT_API_KEY=<the key you chose>'} curate sync --config ${path.join(packageRoot, 'fixtures', 'medigy', 'curate.config.yaml')} --out /tmp/curate-site`);
  console.log('Stop with Ctrl-C.');
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') console.error(`curate-simulator: port ${o.port} on 127.0.0.1 is in use; pick another with --port (0 = any free port)`);
  else if (err.code === 'ENOENT') console.error(`curate-simulator: no dataset at ${path.resolve(o.dataset)} (${err.message})`);
  else console.error(`curate-simulator: ${err.message}`);
  process.exit(1);
}
