// The CLI's memory policy: when it asks V8 for a full collection.
import { describe, expect, it } from 'vitest';
import { COLLECT_EVERY, COLLECT_EVERY_BYTES, KEPT_WEIGHT, memoryPolicy } from '../../src/cli/memory.js';
import type { SyncEvent } from '../../src/sync/index.js';

const wp = (skipped: boolean): SyncEvent => ({ type: 'workPackage', source: 's', id: 1, skipped });

const MB = 1024 * 1024;

describe('memory policy', () => {
  it('collects after every COLLECT_EVERY mapped work packages; skipped (kept) ones count KEPT_WEIGHT', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++);
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

  it('writes count a quarter; phases collect only after a large fetch', () => {
    let calls = 0;
    const small = memoryPolicy(() => calls++);
    for (let i = 0; i < 10; i++) small(wp(false));
    small({ type: 'phase', phase: 'plan' });
    small({ type: 'phase', phase: 'apply' });
    expect(calls).toBe(0); // a small run never pays for a collection
    for (let i = 0; i < 4 * COLLECT_EVERY - 40; i++) small({ type: 'write', path: 'a.md', action: 'create' });
    expect(calls).toBe(1);

    let big = 0;
    const large = memoryPolicy(() => big++);
    for (let i = 0; i < COLLECT_EVERY; i++) large(wp(false));
    expect(big).toBe(1);
    large({ type: 'phase', phase: 'plan' });
    large({ type: 'phase', phase: 'apply' });
    large({ type: 'phase', phase: 'done' });
    expect(big).toBe(3);
  });

  it('downloads trigger a collection every COLLECT_EVERY_BYTES; any collection restarts both counts', () => {
    let calls = 0;
    const on = memoryPolicy(() => calls++);
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

  it("writing the state's shards collects once the heap grew by half its live size (and 24 MiB) since the last collection", () => {
    /** A policy over a fake heap: `used` grows as the test says; a collection brings it down to `live`. */
    const heap = (used: number, live: number) => {
      const h = { used, calls: 0, on: (_: SyncEvent): void => undefined };
      h.on = memoryPolicy(
        () => {
          h.calls++;
          h.used = live;
        },
        () => h.used,
      );
      return h;
    };
    const shard = (n: number): SyncEvent => ({ type: 'stateShard', shard: n, bytes: 1_000_000 });
    // A small live heap (a cold sync's: its entries wait on disk), 4 MB of garbage a shard.
    const small = heap(100 * MB, 80 * MB);
    small.on(shard(0)); // no collection yet: the first one measures the live heap
    expect(small.calls).toBe(1);
    let n = 1;
    for (; small.calls === 1 && n < 100; n++) {
      small.used += 4 * MB;
      small.on(shard(n));
    }
    expect(n - 1).toBe(11); // 80 → 124 MB: past 1.5 × 80 and 24 MiB more
    // A large live heap (every entry read: a 1 % run at 100,000), 2 MB of garbage a shard:
    // after a collection that left 300 MB live, the next is due past 450 MB (75 shards), not
    // every four shards as a fixed count would (a 1 % run at 100,000 was 2.4 s slower).
    const big = heap(320 * MB, 300 * MB);
    big.on(shard(0));
    expect(big.calls).toBe(1);
    for (n = 1; n <= 75; n++) {
      big.used += 2 * MB;
      big.on(shard(n));
    }
    expect(big.calls).toBe(1);
    big.used += 2 * MB;
    big.on(shard(76));
    expect(big.calls).toBe(2);
  });

  it('the real collector can be obtained at run time', () => {
    expect(() => memoryPolicy()(wp(false))).not.toThrow();
  });
});
