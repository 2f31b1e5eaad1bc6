// eachLimited / mapLimited: bounded parallelism without a queued promise per item.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eachLimited, mapLimited } from '../../src/sync/pool.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('eachLimited', () => {
  it('runs every item once, never more than `limit` at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 3 }), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), async (delays, limit) => {
        let running = 0;
        let most = 0;
        const seen: number[] = [];
        await eachLimited(delays.keys(), limit, async (i) => {
          running += 1;
          most = Math.max(most, running);
          for (let k = 0; k < delays[i]!; k++) await tick();
          seen.push(i);
          running -= 1;
        });
        expect(seen.sort((a, b) => a - b)).toEqual([...delays.keys()]);
        expect(most).toBeLessThanOrEqual(limit);
        if (delays.length >= limit && delays.every((d) => d > 0)) expect(most).toBe(limit);
      }),
      { numRuns: 100 },
    );
  });

  it('stops handing out items at the first failure and rejects with it once the running ones settle', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = eachLimited(Array.from({ length: 100 }, (_, i) => i), 4, async (i) => {
      started.push(i);
      await tick();
      settled += 1;
      if (i === 5) throw new Error('item 5');
    });
    await expect(run).rejects.toThrow('item 5');
    // Nothing is still running when it rejects, and few items past the failure started.
    expect(settled).toBe(started.length);
    expect(started.length).toBeLessThan(12);
  });

  it('mapLimited keeps each result in its item’s place', async () => {
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      for (let k = 0; k < n; k++) await tick();
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
  });
});
