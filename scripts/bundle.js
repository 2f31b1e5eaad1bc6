#!/usr/bin/env node
// Second build step (after tsc): the CLI as a few ES modules in dist/bundle/, with its
// dependencies inside. A sync started from dist/cli/main.js resolves, reads and compiles
// ~200 modules before its first request (zod alone is 95 files, 64 of them locales it
// never uses; undici's index loads its mocks, caches and web APIs); cron, `curate watch`'s
// reloads and every test that runs the binary pay that at each start. The bundle holds
// only what the CLI reaches (src/zod.ts and src/openproject/undici-core.ts import those
// two by part, so zod's unused locales and undici's index stay out; test/cli/install.test.ts
// checks), one file per lazily loaded command or profile (`--splitting`), and starts
// measurably faster (docs/performance.md).
// It is built from tsc's output, so it runs exactly the code the library and the tests
// type-check. bin/curate.js imports it; dist/index.js (the library) is unchanged.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
// Two levels below the package root, like dist/cli/: src/cli/version.ts reads
// ../../package.json from its own location.
const outdir = path.join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [path.join(root, 'dist', 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (undici, commander, js-yaml, gray-matter) call require() for Node's
  // builtins; in an ES module that needs a require of its own. src/mapping/text/lazy-require.ts
  // loads tldts and unidecode by name at first use: those stay in node_modules.
  banner: { js: "import { createRequire as __curateRequire } from 'node:module';\nconst require = __curateRequire(import.meta.url);" },
  legalComments: 'eof',
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) process.exit(1);
