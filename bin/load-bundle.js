// Runs the bundled CLI (dist/bundle/curate.cjs, built by scripts/bundle.js) with V8's code
// cache (dist/bundle/curate.cjs.cache, made by scripts/code-cache.js at build time).
//
// Why: a process that starts curate spends most of its first ~100 ms compiling the
// bundle's functions as it first calls them; cron, `curate watch`'s reloads and every test
// that runs the binary pay it at each start. With the cache V8 reads that compiled code
// instead: a no-change sync of the fixture took 135 against 166 ms of CPU
// (docs/performance.md, nineteenth session). Node 20 gives ES modules no code cache (its
// `module.enableCompileCache` is Node 22), hence one CommonJS script run through
// `vm.Script`, which takes one.
//
// The cache is only ever read here, never written at run time (an installed package may be
// read-only, and code read from a folder others can write would be theirs to run). It is
// used only when it was made from these exact bytes (its header holds their CRC-32) and V8
// accepts it (same V8, same flags: hence the flags first); otherwise the bundle is compiled
// as usual, which is only slower.
import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { crc32 } from 'node:zlib';
import { setProcessV8Flags } from '../dist/cli/v8-flags.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bundle');
export const BUNDLE = path.join(dir, 'curate.cjs');
export const CODE_CACHE = `${BUNDLE}.cache`;
const MAGIC = 'curate-code-cache-1\n';
const HEADER = MAGIC.length + 4;

/** The cache file's bytes for V8's cached `data`, made from the bundle `source`. */
export function codeCacheFile(source, data) {
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, 'latin1');
  header.writeUInt32BE(crc32(source), MAGIC.length);
  return Buffer.concat([header, data]);
}

/** V8's cached data for the bundle `source`, or undefined when there is none made from it. */
function readCodeCache(source) {
  let file;
  try {
    file = readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
  if (file.length <= HEADER || file.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  return file.readUInt32BE(MAGIC.length) === crc32(source) ? file.subarray(HEADER) : undefined;
}

/**
 * Compiles the bundle (with the cache when it fits) and runs it: the CLI starts on
 * process.argv. Returns the script (scripts/code-cache.js makes the cache from it) and
 * whether V8 took the cache.
 */
export function runBundle() {
  setProcessV8Flags();
  const source = readFileSync(BUNDLE);
  const cachedData = readCodeCache(source);
  // scripts/bundle.js writes ASCII only (V8 then holds the script as one byte a character):
  // decoded as such, three times faster than as UTF-8.
  const text = source.toString(isAscii(source) ? 'latin1' : 'utf8');
  const script = new vm.Script(Module.wrap(text), { filename: BUNDLE, cachedData });
  const cached = cachedData !== undefined && !script.cachedDataRejected;
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dir);
  return { script, source, cached };
}
