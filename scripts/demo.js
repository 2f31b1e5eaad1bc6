#!/usr/bin/env node
// `npm run demo [-- SITE_DIR]`: what a new site gets, with no OpenProject and no network.
// Against the bundled simulator it runs `curate init` (the `default` profile, every
// project and type) into SITE_DIR/curate.config.yaml (default ./demo-site), then
// `curate sync`, and prints where to look. Running it again shows an incremental sync
// with nothing to do. The legacy Medigy output is `npm run demo:medigy`.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { curate, exists, hugoSite, sectionPages, shown, startDemoSimulator } from './demo-lib.js';

const site = path.resolve(process.argv[2] ?? 'demo-site');
const config = path.join(site, 'curate.config.yaml');
const { sim, env } = await startDemoSimulator();
let code = 0;
try {
  await hugoSite(site);
  if (!(await exists(config))) {
    console.log(`\n$ curate init --yes --out ${shown(config)}`);
    code = await curate(['init', '--url', sim.url, '--yes', '--out', config, '--root', 'content'], env);
  }
  if (code === 0) {
    console.log(`\n$ curate sync --config ${shown(config)}`);
    code = await curate(['sync', '--config', config], env);
    // Section titles: the project names the sources sync (the site's own files, not curate's).
    const { sources } = yaml.load(await readFile(config, 'utf8'));
    const projects = new Map(sim.dataset.instance.projects.map((p) => [p.identifier, p.name]));
    await sectionPages(path.join(site, 'content'), sources.map((s) => ({ ...s, title: projects.get(s.projects?.[0]) })));
  }
} finally {
  await sim.close();
}
console.log('');
console.log(`Configuration (what \`curate init\` writes)  ${shown(config)}`);
console.log(`Content (the default profile: one page bundle per work package)  ${shown(path.join(site, 'content'))}/`);
console.log(`Look at it with  hugo server -s ${shown(site)}   (if Hugo is installed)`);
console.log('Run `npm run demo` again: the second sync is incremental and changes nothing. The Medigy profile: `npm run demo:medigy`.');
process.exit(code);
