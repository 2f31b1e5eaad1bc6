// Memory policy of the curate process (not of the library: a program embedding runSync
// keeps its own). A long sync's live heap stays around 50 MB, but V8 lets garbage grow
// to two or three times the live size before a full collection, and that slack, not the
// data, set the peak RSS of a 10,000-work-package sync (~240 MB against ~165 MB flat).
// A full collection after every 1,000 mapped work packages costs ~50 ms each (under 1 %
// of such a run) and keeps the peak near the live size. Small runs never trigger it.
import v8 from 'node:v8';
import vm from 'node:vm';
import type { SyncEvent } from '../sync/index.js';

export const COLLECT_EVERY = 1000;
/**
 * What a kept (unchanged) work package counts toward COLLECT_EVERY: it makes far less
 * garbage than a mapped one (its entry read, its files looked up), but a no-change sync of
 * 30,000 work packages made enough of it to grow the heap to ~170 MB (live: ~75 MB) with no
 * collection at all; at a tenth it triggers about one per 10,000. Those kept with their
 * whole shard on the shard's summary (one `keptShard` event: no entry read, no file looked
 * up one by one) count nothing. A no-change sync keeps most work packages that way: at
 * 30,000 it asked for two collections it did not need (0.76 → 0.71 s, same peak RSS), at
 * 100,000 for ten (1.44 → 1.15 s; peak RSS 176 → 187 MB, under 200). A sync with 1 %
 * changed reads every shard, so it keeps its collections (without them: 226 against 202 MB
 * at 30,000). (docs/performance.md, sixth session.)
 */
export const KEPT_WEIGHT = 0.1;
/**
 * Downloaded bytes after which a full collection runs too. Each socket read's buffer stays
 * allocated until a collection finds the Buffer around it dead; early in a cold sync such
 * buffers of files already written piled up to ~60 MB (ArrayBuffers) before the first
 * work-package-count collection, and the allocator kept that memory for the rest of the
 * run. Measured at 10,000 work packages: peak RSS 221–240 MB with no byte rule or a
 * 48 MiB one, 192 MB with 16 MiB (~44 collections, ~2 s of CPU on an otherwise half-idle
 * main thread). A young-generation collection did not free them.
 */
export const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;
/**
 * Garbage (heap in use beyond what was live after the last collection) the process may
 * hold, checked every CHECK_EVERY events, and at every event that follows a large
 * allocation (a shard of the state read or written, a page of rows): the counts above bound
 * it for the runs they were measured on, this bounds it for any other (docs/performance.md,
 * seventh to ninth sessions). Checked every 16 events only, a dry run at 100,000 read 16
 * shards between two checks and held 57 MB of garbage, not 32; and writing the state,
 * checked so, let the shards' texts (~0.5 MB each, freed only by a full collection) pile
 * up to 95 MB. 24 MB rather than 32: with 1 % changed at 100,000 (every shard read, 60 MB
 * live) the peak fell from 199 to 182 MB for ~10 % more time (three alternated runs each);
 * at 30,000 the time did not change.
 */
export const GARBAGE_BYTES = 24 * 1024 * 1024;
export const CHECK_EVERY = 16;

type Gc = () => void;
let gc: Gc | null | undefined;

/** V8's collector, exposed at run time (a new context sees `gc` once the flag is set). */
export function collector(): Gc | null {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn: unknown = vm.runInNewContext('gc');
      gc = typeof fn === 'function' ? (fn as Gc) : null;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/**
 * An onEvent hook: a full collection after every COLLECT_EVERY mapped work packages (a
 * write counts a quarter, a kept work package a tenth) or COLLECT_EVERY_BYTES downloaded,
 * whichever comes first, and before planning and applying in a run that mapped at least
 * COLLECT_EVERY (a no-change run does not pay for those two: its heap is mostly the state),
 * and once it is done: what apply, the state's write and the listing of the folders it
 * wrote left behind is garbage that outlived young collections, and at 100,000 work
 * packages it grew the heap by ~9 MB while the run cleaned up and reported.
 * One hook may serve many runs (`curate watch`).
 */
export function memoryPolicy(fullCollection: () => void = () => collector()?.(), heapUsed: () => number = () => v8.getHeapStatistics().used_heap_size): (e: SyncEvent) => void {
  // Counted in twentieths of a mapped work package, so the sums are exact integers.
  const limit = COLLECT_EVERY * 20;
  let mapped = 0;
  let sinceCollect = 0;
  let downloaded = 0;
  let events = 0;
  /**
   * Bytes of state shards written since the last collection. Writing one leaves Buffers
   * outside the heap (its bytes read again, the pieces written), which the heap's figure
   * does not show: with them left out, 1 % changed at 100,000 (every shard written)
   * peaked at 195–208 MB; counted, at 166–182 MB (two runs each; 170–184 MB before shards
   * were written as bytes).
   */
  let shardBytes = 0;
  /** The heap in use after the last collection (what was live then). */
  let base = heapUsed();
  const collect = (): void => {
    sinceCollect = 0;
    downloaded = 0;
    shardBytes = 0;
    fullCollection();
    base = heapUsed();
  };
  return (e) => {
    // Whatever made it, garbage beyond GARBAGE_BYTES is collected: a run that maps few work
    // packages slowly (1 % changed at 100,000: 1,000 in ~4 s) promoted ~220 KB of garbage
    // for each, 220 MB of heap, before the counts above asked for a collection.
    const large = e.type === 'stateRead' || e.type === 'page' || e.type === 'stateShard';
    if (e.type === 'stateShard') shardBytes += e.bytes;
    if ((++events % CHECK_EVERY === 0 || large) && heapUsed() - base + shardBytes > GARBAGE_BYTES) {
      collect();
      return;
    }
    if (e.type === 'workPackage') {
      // (Those kept with their shard on its summary come as one `keptShard` event: they count nothing.)
      const weight = e.skipped ? Math.round(KEPT_WEIGHT * 20) : 20;
      if (!e.skipped) mapped += 20;
      sinceCollect += weight;
      if (sinceCollect >= limit) collect();
    } else if (e.type === 'write') {
      // Applying 20,000 files makes garbage too; a write costs about a quarter of a work package.
      sinceCollect += 5;
      if (sinceCollect >= limit) collect();
    } else if (e.type === 'stateShard') {
      // Writing the state: each entry this run mapped is read back from the run's spill and
      // parsed, garbage that outlives young collections (a cold sync of 30,000 peaked there,
      // heap 172 MB used, RSS 297 MB, with no collection). Counted as half a mapped work
      // package: a cold sync collects once per two shards, while a run that changed a few
      // work packages in every shard (1 % at 100,000: ~10 a shard, a live heap of every entry
      // read, where a full collection costs ~0.2 s) collects for none. Once per four shards,
      // the garbage of four made the peak of a cold sync of 100,000 once its plan phase no
      // longer did: 281 against 267 MB, for ~3 s more of its ~200 (docs/performance.md,
      // twenty-first session).
      sinceCollect += 10 * e.mapped;
      if (sinceCollect >= limit) collect();
    } else if (e.type === 'download') {
      downloaded += e.bytes;
      if (downloaded >= COLLECT_EVERY_BYTES) collect();
    } else if (e.type === 'phase' && e.phase === 'resolve') {
      // A run begins: `mapped` is this run's. `curate watch` keeps one policy for all its
      // runs; counted since the watcher started, its first sync's work packages made every
      // later targeted sync (one work package) pay two full collections, ~60 ms of a
      // webhook's ~280 ms at 10,000 (docs/performance.md, tenth session).
      mapped = 0;
    } else if (e.type === 'phase' && (e.phase === 'plan' || e.phase === 'apply' || e.phase === 'done') && mapped >= limit) collect();
  };
}
