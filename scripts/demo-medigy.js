#!/usr/bin/env node
// `npm run demo:medigy [-- SITE_DIR]`: the `medigy` profile, which reproduces the legacy
// Medigy pipeline byte for byte, with its shipped configuration
// (fixtures/medigy/curate.config.yaml), into SITE_DIR/content (default ./demo-site-medigy).
import path from 'node:path';
import { curate, hugoSite, root, shown, startDemoSimulator } from './demo-lib.js';

const site = path.resolve(process.argv[2] ?? 'demo-site-medigy');
const config = path.join(root, 'fixtures', 'medigy', 'curate.config.yaml');
const { sim, env } = await startDemoSimulator();
let code;
try {
  await hugoSite(site, { unsafe: true });
  // The legacy corpus was generated on this day; pinning it keeps event buckets stable.
  const args = ['sync', '--config', config, '--out', path.join(site, 'content'), '--now', '2021-02-19T00:00:00Z'];
  console.log(`\n$ curate ${args.map((a) => (a.startsWith('/') ? shown(a) : a)).join(' ')}`);
  code = await curate(args, env);
} finally {
  await sim.close();
}
console.log('');
console.log(`Content written to    ${shown(path.join(site, 'content'))}/`);
console.log(`Sync state (manifest) ${shown(path.join(site, 'content', '.curate', 'manifest.json'))}`);
console.log(`Look at it with       hugo server -s ${shown(site)}   (if Hugo is installed)`);
process.exit(code);
