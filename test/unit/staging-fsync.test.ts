// How many staged files are fsynced at once in the background, from the size of libuv's
// thread pool (src/output/staging.ts): the CLI's pool of 16 (bin/curate.js) gives 12, and
// a program that embeds the library with libuv's default pool keeps the four threads'
// two, so its file reads and writes are never queued behind fsyncs.
import { describe, expect, it } from 'vitest';
import { fsyncWorkers } from '../../src/output/staging.js';

describe('fsyncWorkers', () => {
  it.each([
    [undefined, 2],
    ['', 2],
    ['4', 2],
    ['6', 2],
    ['8', 4],
    ['16', 12],
    ['64', 12],
    ['1', 2],
    ['0', 2],
    ['-3', 2],
    ['eight', 2],
    ['2.5', 2],
  ])('UV_THREADPOOL_SIZE=%s → %i', (pool, workers) => {
    expect(fsyncWorkers(pool)).toBe(workers);
  });
});
