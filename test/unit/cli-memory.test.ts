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
    const shard = (n: number): SyncEvent => ({ type: 'stateShard', shard: n, bytes: 1_000_000 });
    // A small live heap (a cold sync's: its entries wait on disk), 4 MB of garbage a shard.
    let calls = 0;
    let used = 100 * MB;
    const on = memoryPolicy(
      () => {
        calls++;
        used = 80 * MB;
      },
      () => used,
    );
    on(shard(0)); // no collection yet: the first one measures the live heap
    expect(calls).toBe(1);
    let n = 1;
    for (; calls === 1; n++) {
      used += 4 * MB;
      on(shard(n));
    }
    expect(n - 1).toBe(11); // 80 → 124 MB: past 1.5 × 80 and 24 MiB more
    // A large live heap (every entry read: a 1 % run at 100,000), 2 MB of garbage a shard:
    // after a collection that left 300 MB live, the next is due past 450 MB (75 shards), not
    // every four shards as a fixed count would (a 1 % run at 100,000 was 2.4 s slower).
    let bigCalls = 0;
    let bigUsed = 320 * MB;
    const big = memoryPolicy(
      () => {
        bigCalls++;
        bigUsed = 300 * MB;
      },
      () => bigUsed,
    );
    big(shard(0));
    expect(bigCalls).toBe(1);
    for (n = 1; n <= 75; n++) {
      bigUsed += 2 * MB;
      big(shard(n));
    }
    expect(bigCalls).toBe(1);
    bigUsed += 2 * MB;
    big(shard(76));
    expect(bigCalls).toBe(2);
  });

  it('the real collector can be obtained at run time', () => {
    expect(() => memoryPolicy()(wp(false))).not.toThrow();
  });
});
