// The CLI's memory policy: when it asks V8 for a full collection.
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, COLLECT_EVERY, COLLECT_EVERY_BYTES, GARBAGE_BYTES, KEPT_WEIGHT, memoryPolicy } from '../../src/cli/memory.js';
import type { SyncEvent } from '../../src/sync/index.js';

/** A heap that never grows: the count rules alone (the garbage rule has its own case). */
const noGarbage = (): number => 0;
const wp = (skipped: boolean): SyncEvent => ({ type: 'workPackage', source: 's', id: 1, skipped });

describe('memory policy', () => {
  it('collects after every COLLECT_EVERY mapped work packages; skipped (kept) ones count KEPT_WEIGHT', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++, noGarbage);
    const keptPerCollection = Math.round(COLLECT_EVERY / KEPT_WEIGHT);
    for (let i = 0; i < keptPerCollection - 10; i++) on(wp(true));
    expect(calls).toBe(0);
    for (let i = 0; i < 10; i++) on(wp(true));
    expect(calls).toBe(1); // a no-change sync of tens of thousands collects now and then
    for (let i = 0; i < 2 * COLLECT_EVERY - 1; i++) on(wp(false));
    expect(calls).toBe(2);
    on(wp(false));
    expect(calls).toBe(3);
  });

  it('work packages kept with their shard on its summary (no entry read) count nothing', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++, noGarbage);
    // A no-change sync of 100,000 keeps most of them that way: no collection for those.
    for (let shard = 0; shard < 1000; shard++) on({ type: 'keptShard', source: 's', shard, ids: Array.from({ length: 100 }, (_, i) => shard * 100 + i) });
    expect(calls).toBe(0);
    // Kept one by one (their shard read, their files looked up), they count KEPT_WEIGHT again.
    for (let i = 0; i < Math.round(COLLECT_EVERY / KEPT_WEIGHT); i++) on(wp(true));
    expect(calls).toBe(1);
  });

  it('writes count a quarter; phases collect only after a large fetch', () => {
    let calls = 0;
    const small = memoryPolicy(() => calls++, noGarbage);
    for (let i = 0; i < 10; i++) small(wp(false));
    small({ type: 'phase', phase: 'plan' });
    small({ type: 'phase', phase: 'apply' });
    expect(calls).toBe(0); // a small run never pays for a collection
    for (let i = 0; i < 4 * COLLECT_EVERY - 40; i++) small({ type: 'write', path: 'a.md', action: 'create' });
    expect(calls).toBe(1);

    let big = 0;
    const large = memoryPolicy(() => big++, noGarbage);
    for (let i = 0; i < COLLECT_EVERY; i++) large(wp(false));
    expect(big).toBe(1);
    large({ type: 'phase', phase: 'plan' });
    large({ type: 'phase', phase: 'apply' });
    expect(big).toBe(3);
    // And once it is done: apply's garbage goes before the run cleans up and reports.
    large({ type: 'phase', phase: 'done' });
    expect(big).toBe(4);
  });

  it('one policy for many runs (curate watch): a small run after a large one does not collect before planning and applying, nor when done', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++, noGarbage);
    const run = (mapped: number): void => {
      for (const phase of ['resolve', 'list'] as const) on({ type: 'phase', phase });
      for (let i = 0; i < mapped; i++) on(wp(false));
      for (const phase of ['plan', 'apply', 'done'] as const) on({ type: 'phase', phase });
    };
    run(COLLECT_EVERY); // the watcher's first sync: a collection at COLLECT_EVERY, then before plan and apply, and when done
    expect(calls).toBe(4);
    for (let i = 0; i < 20; i++) run(1); // twenty targeted syncs of one work package each
    expect(calls).toBe(4);
    run(COLLECT_EVERY); // a large run later collects as the first did
    expect(calls).toBe(8);
  });

  it('downloads trigger a collection every COLLECT_EVERY_BYTES; any collection restarts both counts', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++, noGarbage);
    const dl = (bytes: number): SyncEvent => ({ type: 'download', attachmentId: 1, bytes });
    on(dl(COLLECT_EVERY_BYTES - 1));
    expect(calls).toBe(0);
    on(dl(1));
    expect(calls).toBe(1);
    // Work packages mapped before that collection no longer count toward the next one.
    for (let i = 0; i < COLLECT_EVERY - 1; i++) on(wp(false));
    on(dl(COLLECT_EVERY_BYTES / 2));
    expect(calls).toBe(1);
    on(wp(false));
    expect(calls).toBe(2);
    on(dl(COLLECT_EVERY_BYTES / 2)); // the bytes counted before the last collection are forgotten
    expect(calls).toBe(2);
  });

  /** A policy over an injected heap whose collections leave `live` bytes in use. */
  function garbageRig(live: number): { on: (e: SyncEvent) => void; calls: () => number; setHeap: (bytes: number) => void } {
    let heap = 50e6;
    let calls = 0;
    const on = memoryPolicy(
      () => {
        calls += 1;
        heap = live;
      },
      () => heap,
    );
    return { on, calls: () => calls, setHeap: (bytes) => void (heap = bytes) };
  }
  // Kept on its shard's summary: counts nothing toward the count rules, and is no large allocation.
  const kept: SyncEvent = { type: 'keptShard', source: 's', shard: 0, ids: [1] };

  it('garbage beyond GARBAGE_BYTES over what was live after the last collection is collected, whatever made it', () => {
    // A collection frees all but 60 MB (what is live).
    const { on, calls, setHeap } = garbageRig(60e6);
    // Under the bound: no collection, however many events.
    setHeap(50e6 + GARBAGE_BYTES - 1);
    for (let i = 0; i < 10 * CHECK_EVERY; i++) on(kept);
    expect(calls()).toBe(0);
    // Over it: collected at the next check (every CHECK_EVERY events), and the bound counts from the live heap after it.
    setHeap(50e6 + GARBAGE_BYTES + 1);
    for (let i = 0; i < CHECK_EVERY; i++) on(kept);
    expect(calls()).toBe(1);
    setHeap(60e6 + GARBAGE_BYTES - 1);
    for (let i = 0; i < 10 * CHECK_EVERY; i++) on(kept);
    expect(calls()).toBe(1);
    setHeap(60e6 + GARBAGE_BYTES + 1);
    for (let i = 0; i < CHECK_EVERY; i++) on(kept);
    expect(calls()).toBe(2);
  });

  it.each([
    ['a shard of the state read', { type: 'stateRead', shard: 3, bytes: 1_000_000 }],
    ['a page of rows', { type: 'page', source: 's', offset: 1, total: 1, workPackages: 1 }],
    ['a shard of the state written', { type: 'stateShard', shard: 3, bytes: 1_000_000, mapped: 0 }],
  ] as [string, SyncEvent][])('%s is checked at once, not after CHECK_EVERY events', (_name, large) => {
    const { on, calls, setHeap } = garbageRig(50e6);
    setHeap(50e6 + GARBAGE_BYTES + 1);
    on(kept);
    expect(calls()).toBe(0);
    on(large);
    expect(calls()).toBe(1);
  });

  it("writing the state's shards counts the entries this run mapped, half a work package each", () => {
    // Shards of no bytes: the count rule alone (their bytes count too: next test).
    const shard = (n: number, mapped: number): SyncEvent => ({ type: 'stateShard', shard: n, bytes: 0, mapped });
    // A cold sync: every entry of every shard was mapped: one collection per two shards.
    let calls = 0;
    const cold = memoryPolicy(() => calls++, noGarbage);
    cold(shard(0, 1000));
    expect(calls).toBe(0);
    cold(shard(1, 1000));
    expect(calls).toBe(1);
    for (let n = 2; n < 12; n++) cold(shard(n, 1000));
    expect(calls).toBe(6);
    // 1 % at 100,000: ten mapped entries in each of 100 shards (a live heap of every entry
    // read, where a collection costs ~0.2 s): none (one per four shards made that run 2.4 s slower).
    let few = 0;
    const changed = memoryPolicy(() => few++, noGarbage);
    for (let n = 0; n < 100; n++) changed(shard(n, 10));
    expect(few).toBe(0);
  });

  it("a written shard's bytes count as garbage the heap's figure does not show (Buffers), toward GARBAGE_BYTES", () => {
    // 1 % at 100,000: 100 shards of ~1 MB, ten mapped entries each, the heap not growing:
    // a collection each time the shards written since the last one pass GARBAGE_BYTES.
    let calls = 0;
    const on = memoryPolicy(() => calls++, noGarbage);
    const perShard = 1_000_000;
    const every = Math.floor(GARBAGE_BYTES / perShard) + 1;
    for (let n = 0; n < every - 1; n++) on({ type: 'stateShard', shard: n, bytes: perShard, mapped: 10 });
    expect(calls).toBe(0);
    on({ type: 'stateShard', shard: every, bytes: perShard, mapped: 10 });
    expect(calls).toBe(1);
    for (let n = every + 1; n < 100; n++) on({ type: 'stateShard', shard: n, bytes: perShard, mapped: 10 });
    expect(calls).toBe(Math.floor(100 / every));
  });

  it('the real collector can be obtained at run time', () => {
    expect(() => memoryPolicy()(wp(false))).not.toThrow();
  });
});
