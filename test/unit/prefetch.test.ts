// prefetchFirst (src/sync/prefetch.ts): the first item is asked for at once; reading yields
// exactly what the source yields; cancelling or stopping early closes the source.
import { describe, expect, it } from 'vitest';
import { prefetchFirst } from '../../src/sync/prefetch.js';

function counted(n: number, fail?: number): { source: AsyncIterable<number>; asked: () => number; closed: () => boolean } {
  let asked = 0;
  let closed = false;
  return {
    source: (async function* () {
      try {
        for (let i = 0; i < n; i++) {
          asked += 1;
          if (i === fail) throw new Error(`item ${i} failed`);
          yield i;
        }
      } finally {
        closed = true;
      }
    })(),
    asked: () => asked,
    closed: () => closed,
  };
}

describe('prefetchFirst', () => {
  it('asks for the first item before it is read, then yields every item in order', async () => {
    const c = counted(4);
    const p = prefetchFirst(c.source);
    await Promise.resolve();
    expect(c.asked()).toBe(1);
    const got: number[] = [];
    for await (const x of p) got.push(x);
    expect(got).toEqual([0, 1, 2, 3]);
    expect(c.closed()).toBe(true);
  });

  it('cancel closes the source without reading further; reading after cancel is refused', async () => {
    const c = counted(4);
    const p = prefetchFirst(c.source);
    p.cancel();
    await new Promise((r) => setTimeout(r, 10));
    expect(c.asked()).toBe(1);
    expect(c.closed()).toBe(true);
    await expect((async () => {
      for await (const _ of p) void _;
    })()).rejects.toThrow(/read after cancel/);
  });

  it('a reader that stops early closes the source; a failure reaches the reader, never unhandled', async () => {
    const c = counted(4);
    for await (const x of prefetchFirst(c.source)) if (x === 1) break;
    expect(c.closed()).toBe(true);
    expect(c.asked()).toBe(2);
    const bad = counted(3, 0);
    const p = prefetchFirst(bad.source);
    await new Promise((r) => setTimeout(r, 10));
    await expect((async () => {
      for await (const _ of p) void _;
    })()).rejects.toThrow(/item 0 failed/);
    // A cancelled one that failed: nothing surfaces.
    prefetchFirst(counted(3, 0).source).cancel();
    await new Promise((r) => setTimeout(r, 10));
  });
});
