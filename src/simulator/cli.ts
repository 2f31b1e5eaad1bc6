#!/usr/bin/env node
// Run the OpenProject simulator by hand:
//   node dist/simulator/cli.js --dataset ../shared/medigy/train/dataset --port 8080 [--api-key KEY]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { generateDataset } from './generate.js';
import { startSimulator } from './server.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const program = new Command('curate-simulator')
  .description('A loopback OpenProject API v3 simulator serving a dataset (DATASET.md format)')
  .option('--dataset <dir>', 'dataset folder', path.join(packageRoot, 'fixtures', 'medigy', 'dataset'))
  .option('--generate <n>', 'serve a synthetic dataset of N work packages instead')
  .option('--port <n>', 'port on 127.0.0.1', '8080')
  .option('--api-key <key>', 'require this API key (basic auth user "apikey", or bearer)')
  .option('--redirect-downloads', 'answer /content with a 302 to a second origin, like S3 storage')
  .option('--latency-ms <ms>', 'fixed delay per request', '0')
  .option('--per-element-ms <ms>', 'extra delay per work package rendered in a list', '0')
  .option('--max-page-size <n>', 'apiv3_max_page_size', '1000')
  .parse();
const o = program.opts();
const sim = await startSimulator({
  dataset: o.generate ? generateDataset({ workPackages: Number(o.generate) }) : path.resolve(o.dataset),
  port: Number(o.port),
  apiKey: o.apiKey,
  downloads: o.redirectDownloads ? 'redirect' : 'inline',
  latencyMs: Number(o.latencyMs),
  perElementMs: Number(o.perElementMs),
  maxPageSize: Number(o.maxPageSize),
});
console.log(`OpenProject simulator on ${sim.url} (API at ${sim.url}/api/v3), storage origin ${sim.storageUrl}`);
console.log(`Try: OPENPROJECT_URL=${sim.url}${o.apiKey ? ' OPENPROJECT_API_KEY=…' : ''} npx curate sync --config fixtures/medigy/curate.config.yaml --out /tmp/site`);
const stop = async (): Promise<void> => {
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
