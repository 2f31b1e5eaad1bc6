// Tests find the shared corpus relative to the checkout (../shared, see helpers/env.ts),
// never at an absolute path: CI and other developers clone somewhere else.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/env.js';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|js|mjs)$/.test(e.name) ? [path.join(dir, e.name)] : []));
}

// Built from parts so that this file does not match itself.
const WORKPLACE = `/${'work'}/`;

it('no test, script or source hard-codes the location of a checkout or of the shared data', () => {
  const offenders = ['test', 'scripts', 'src'].flatMap((d) => files(path.join(ROOT, d))).filter((f) => readFileSync(f, 'utf8').includes(WORKPLACE));
  expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
});
