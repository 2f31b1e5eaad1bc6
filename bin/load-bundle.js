// Runs the bundled CLI (dist/bundle/curate.cjs, built by scripts/bundle.js) with V8's code
// cache (dist/bundle/curate.cjs.cache, made by scripts/code-cache.js at build time).
//
// Why: a process that starts curate spends most of its first ~100 ms compiling the
// bundle's functions as it first calls them; cron, `curate watch`'s reloads and every test
// that runs the binary pay it at each start. With the cache V8 reads that compiled code
// instead: a no-change sync of the fixture took 161 against 189 ms of CPU
// (docs/performance.md, nineteenth session). Node 20 gives ES modules no code cache (its
// `module.enableCompileCache` is Node 22), hence one CommonJS script run through
// `vm.Script`, which takes one.
//
// The cache is only ever read here, never written at run time (an installed package may be
// read-only, and code read from a folder others can write would be theirs to run). It is
// used only when it was made from these exact bytes (its header holds their CRC-32) and V8
// accepts it (same V8, same flags: hence the flags first); otherwise the bundle is compiled
// as usual, which is only slower.
//
// A CommonJS module (bin/package.json says so), as bin/curate.js is: Node starts a
// CommonJS entry ~4 ms sooner than an ES module one, whose loader it must set up first
// (`curate --version`: 79.2 against 83.4 ms, 20 alternated runs; docs/performance.md,
// twenty-sixth session).
'use strict';
const { isAscii } = require('node:buffer');
const { closeSync, openSync, readFileSync, readSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { crc32 } = require('node:zlib');

/**
 * The V8 settings of the curate process, set before the bundle is compiled: V8 takes a code
 * cache only under the flags it was made with. The same list as src/cli/v8-flags.ts (which
 * says why each; the unbundled CLI sets them from there, and this CommonJS module cannot
 * import that ES module on Node 20): test/cli/install.test.ts checks they agree.
 */
const V8_FLAGS = ['--liftoff-only', '--semi-space-growth-factor=1'];

const dir = path.join(__dirname, '..', 'dist', 'bundle');
const BUNDLE = path.join(dir, 'curate.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;
const MAGIC = 'curate-code-cache-1\n';
const HEADER = MAGIC.length + 4;

/** The cache file's bytes for V8's cached `data`, made from the bundle whose bytes have CRC-32 `crc`. */
function codeCacheFile(crc, data) {
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, 'latin1');
  header.writeUInt32BE(crc, MAGIC.length);
  return Buffer.concat([header, data]);
}

/** The pieces the script is read in: under glibc's 128 KB threshold for mmap (see readScript). */
const PIECE = 64 * 1024;

/**
 * The script's text and the CRC-32 of its bytes, read 64 KB at a time rather than at once.
 * glibc serves an allocation of 128 KB or more with mmap, and when such a block is freed it
 * raises its mmap threshold to that block's size for the rest of the process: after the
 * 2.6 MB buffer of the whole script was freed, every later buffer under 2.6 MB (downloads,
 * state shards) came from malloc's heap and stayed in RSS. A cold sync of 3,000 work
 * packages peaked 12 MB higher than with the ES modules before (and no higher with
 * MALLOC_MMAP_THRESHOLD_ fixed).
 */
function readScript() {
  const fd = openSync(BUNDLE, 'r');
  const piece = Buffer.allocUnsafeSlow(PIECE);
  const parts = [];
  let crc = 0;
  let ascii = true;
  try {
    for (let n = readSync(fd, piece, 0, PIECE, null); n > 0; n = readSync(fd, piece, 0, PIECE, null)) {
      const bytes = piece.subarray(0, n);
      crc = crc32(bytes, crc);
      ascii &&= isAscii(bytes);
      parts.push(bytes.toString('latin1'));
    }
  } finally {
    closeSync(fd);
  }
  // scripts/bundle.js writes ASCII only, so V8 holds the script one byte a character, and
  // decoding it as latin1 is three times faster than as UTF-8 (which is the fallback).
  return { text: ascii ? parts.join('') : readFileSync(BUNDLE, 'utf8'), crc };
}

/** The cache file, kept for the life of the process: freeing it would raise glibc's mmap threshold (readScript). */
let cacheFile;

/** V8's cached data for the bundle whose bytes have CRC-32 `crc`, or undefined when there is none made from it. */
function readCodeCache(crc) {
  try {
    cacheFile = readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
  if (cacheFile.length <= HEADER || cacheFile.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  return cacheFile.readUInt32BE(MAGIC.length) === crc ? cacheFile.subarray(HEADER) : undefined;
}

/**
 * Compiles the bundle (with the cache when it fits) and runs it: the CLI starts on
 * process.argv. Returns the script and its bytes' CRC-32 (scripts/code-cache.js makes the
 * cache from them) and whether V8 took the cache.
 */
function runBundle() {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
  const { text, crc } = readScript();
  const cachedData = readCodeCache(crc);
  const script = new vm.Script(Module.wrap(text), { filename: BUNDLE, cachedData });
  const cached = cachedData !== undefined && !script.cachedDataRejected;
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(BUNDLE), module, BUNDLE, dir);
  return { script, crc, cached };
}

module.exports = { BUNDLE, CODE_CACHE, V8_FLAGS, codeCacheFile, runBundle };
