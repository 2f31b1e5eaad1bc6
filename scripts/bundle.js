#!/usr/bin/env node
// Second build step (after tsc): the CLI as one CommonJS script, dist/bundle/curate.cjs, with
// its dependencies inside; then its V8 code cache (scripts/code-cache.js). A sync started
// from dist/cli/main.js resolves, reads and compiles ~200 modules before its first request
// (zod alone is 95 files, 64 of them locales it never uses; undici's index loads its mocks,
// caches and web APIs); cron, `curate watch`'s reloads and every test that runs the binary
// pay that at each start. The bundle holds only what the CLI reaches (src/zod.ts and
// src/openproject/undici-core.ts import those two by part, so zod's unused locales and
// undici's index stay out; test/cli/install.test.ts checks). Lazily loaded commands and
// profiles stay lazy inside it: esbuild wraps each such module in a function that runs on
// its first import. One CommonJS script rather than ES module chunks because Node 20 gives
// only scripts a code cache (bin/load-bundle.js).
// It is built from tsc's output, so it runs exactly the code the library and the tests
// type-check. bin/curate.js runs it; dist/index.js (the library) is unchanged.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
// Two levels below the package root, like dist/cli/: src/cli/version.ts reads
// ../../package.json from its own location.
const outdir = path.join(root, 'dist', 'bundle');
const outfile = path.join(outdir, 'curate.cjs');
const result = await build({
  entryPoints: [path.join(root, 'dist', 'cli', 'main.js')],
  outfile,
  write: false,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // src/cli/version.ts finds package.json and src/mapping/text/lazy-require.ts finds tldts
  // and unidecode (which stay in node_modules, loaded by name at first use) from their
  // module's URL: in the script, the script's own (dist/bundle/ is two levels below the
  // package root, like dist/cli/).
  define: { 'import.meta.url': '__curateScriptUrl' },
  plugins: [lazyBuiltins()],
  // Strict mode first: a directive only counts before any statement, and the banner comes
  // before esbuild's own "use strict" (the ES modules this is built from are strict).
  banner: { js: "'use strict';\nconst __curateScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'eof',
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0 || result.outputFiles.length !== 1) process.exit(1);

/**
 * Two of Node's own modules the bundle requires at start-up but a sync never uses, loaded
 * only when a property of theirs is first read: `node:child_process` (commander's
 * executable subcommands; `curate sync --git-commit`, through src/cli/git.ts) and
 * `node:http2` (undici's HTTP/2 client, which curate does not enable; undici reads its
 * `constants` when it loads, so those are copied here from this Node, the rest is lazy).
 * Node compiles each of its modules on first require: the two took ~6 ms of the ~25 ms
 * the modules took to set up before a sync's first request, and that request went out
 * ~8 ms sooner without them (docs/performance.md, twenty-sixth session). The stand-in has
 * the module's own export names (read from this Node), each a getter, so esbuild's
 * interop copies (`__toESM`) stay lazy too.
 */
function lazyBuiltins() {
  /** Each stand-in's module → the exports copied into it as they are (the rest are getters). */
  const LAZY = { 'node:child_process': [], 'node:http2': ['constants'] };
  const names = Object.keys(LAZY).map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) =>
        // The stand-in's own require is the real module.
        args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' },
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
        const real = createRequire(import.meta.url)(args.path);
        const lines = [`let real;`, `const load = () => (real ??= require(${JSON.stringify(args.path)}));`];
        for (const key of Object.keys(real)) {
          lines.push(
            LAZY[args.path].includes(key)
              ? `exports[${JSON.stringify(key)}] = ${JSON.stringify(real[key])};`
              : `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => load()[${JSON.stringify(key)}] });`,
          );
        }
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}
// esbuild escapes non-ASCII characters in strings and names but leaves them in comments and
// regular expression literals (`/[.!?…]/`). One such character makes V8 hold the whole
// script as a two-byte string: 5.2 MB instead of 2.6. `\uXXXX` means the same character in
// both places (a surrogate pair in a `u` regular expression is one code point).
const ascii = result.outputFiles[0].text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const bytes = Buffer.from(ascii, 'latin1');
const { cacheTaken, makeCodeCache } = await import('./code-cache.js');
// `npm test` builds again right after `npm ci` built: the same bundle keeps its cache when
// V8 still takes it, which saves the cache's runs (~1 s).
let built = null;
try {
  built = readFileSync(outfile);
} catch {
  // not built yet
}
if (!built?.equals(bytes) || !(await cacheTaken())) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(outfile, bytes);
  await makeCodeCache();
}
// Nothing else belongs there (an older build's files: ES module chunks).
for (const name of readdirSync(outdir)) {
  if (name !== 'curate.cjs' && name !== 'curate.cjs.cache') rmSync(path.join(outdir, name), { recursive: true, force: true });
}
