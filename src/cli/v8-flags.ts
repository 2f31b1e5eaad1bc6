// The V8 settings of the curate process, in a module of their own: the CLI sets them first
// thing when it runs unbundled (dist/cli/main.js). bin/load-bundle.js sets the same list
// before it compiles the bundled CLI, because V8 accepts a code cache only when the flags
// are those it was made with (scripts/code-cache.js makes it with these); it keeps its own
// copy (a CommonJS module cannot import this one on Node 20), which
// test/cli/install.test.ts checks against this one.
import v8 from 'node:v8';

/**
 * Two V8 settings of the curate process, set first thing (code embedding the library keeps
 * its own). Both are read by V8 when it acts on them, not only at start-up, so setting them
 * at run time works (unlike the heap size limits).
 *
 * `--liftoff-only`: undici parses HTTP with llhttp, compiled to WebAssembly. V8 compiled
 * that module's parser function a second time with its optimizing compiler (TurboFan) on a
 * background thread, and the register allocation of that one large function needed ~37 MB
 * of scratch memory (valgrind massif at the peak: V8 Zone segments under
 * Pipeline::GenerateCodeForWasmFunction), which the C allocator then kept: a sync of six
 * work packages peaked at 110 MB RSS, 74 MB with the baseline compiler's code (Liftoff)
 * only, and used less CPU (0.35 → 0.25 s). It must be set before the first request.
 *
 * `--semi-space-growth-factor=1`: the young generation starts at 1 MB a semi-space and V8
 * doubles it, up to 16 MB, while objects survive; a sync's pages of 1,000 work packages
 * made it grow to the maximum within seconds, 31 MB of the heap (two semi-spaces) for the
 * rest of the run. Not growing it keeps it at 2 MB: 26 MB less RSS a few seconds into a
 * cold sync of 30,000 (peak 195 → 181 MB, one run each). What outlives a scavenge is
 * promoted sooner: the full collections of memoryPolicy clear it where it counts, but not
 * in a run that reads and rewrites every state shard without mapping much: 1 % changed
 * at 100,000 peaked at 418.5 MB against 378.6 MB, 10.4 s against 9.1 s (cold: 319.5
 * against 339.4 MB; docs/performance.md, fifth session).
 */
export const CLI_V8_FLAGS: readonly string[] = ['--liftoff-only', '--semi-space-growth-factor=1'];

export function setProcessV8Flags(): void {
  for (const flag of CLI_V8_FLAGS) v8.setFlagsFromString(flag);
}
