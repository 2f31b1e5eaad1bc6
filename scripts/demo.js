#!/usr/bin/env node
// `npm run demo`: a complete curate run with no OpenProject, no key and no network.
// It starts the bundled OpenProject simulator on 127.0.0.1 with the fixtures dataset,
// runs the real CLI (`curate sync`) against it into ./demo-site/content, and prints
// where to look. Running it again shows an incremental sync with nothing to do.
import { spawn } from 'node:child_process';
import { cp, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const site = path.join(root, 'demo-site');

async function exists(p) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

if (!(await exists(path.join(root, 'dist', 'simulator', 'index.js')))) {
  console.error('dist/ is missing: run `npm ci` (it builds) or `npm run build` first.');
  process.exit(1);
}

const { startSimulator } = await import(path.join(root, 'dist', 'simulator', 'index.js'));

// A throwaway key, to show that curate authenticates the way a real instance wants.
const apiKey = 'demo-key-not-a-secret';
const sim = await startSimulator({ dataset: path.join(root, 'fixtures', 'medigy', 'dataset'), apiKey });
console.log(`OpenProject simulator listening on ${sim.url} (fixtures dataset)`);

// A minimal Hugo site around the content so `hugo server -s demo-site` works at once.
await mkdir(site, { recursive: true });
if (!(await exists(path.join(site, 'hugo.toml')))) {
  await cp(path.join(root, 'fixtures', 'hugo-site'), site, { recursive: true });
}

const args = [
  path.join(root, 'bin', 'curate.js'),
  'sync',
  '--config',
  path.join(root, 'fixtures', 'medigy', 'curate.config.yaml'),
  '--out',
  path.join(site, 'content'),
  // The legacy corpus was generated on this day; pinning it keeps event buckets stable.
  '--now',
  '2021-02-19T00:00:00Z',
];
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, {
    stdio: 'inherit',
    env: { ...process.env, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: apiKey, OPENPROJECT_TOKEN: '' },
  });
  child.on('exit', (c, signal) => resolve(signal ? 1 : (c ?? 1)));
});
const counts = sim.counts();
await sim.close();

console.log('');
console.log(`curate sync exited with status ${code}; the simulator answered ${counts.total} requests.`);
console.log(`Content written to   ${path.relative(process.cwd(), path.join(site, 'content')) || '.'}/`);
console.log(`Sync state (manifest) ${path.relative(process.cwd(), path.join(site, 'content', '.curate', 'manifest.json'))}`);
console.log('Look at it with      hugo server -s demo-site   (if Hugo is installed)');
console.log('Run `npm run demo` again: the second sync is incremental and changes nothing.');
process.exit(code === 0 ? 0 : code);
