// Bounded parallelism over many items without a queued promise per item: `limit` workers
// pull from one iterator. p-limit queues a closure, a promise and a node for each call,
// ~1 kB apiece: applying a cold sync of 100,000 work packages (300,000 files) queued them
// all at once, and that queue, not the data, set the run's peak memory.

/**
 * Runs `fn` over every item with at most `limit` at a time. The first failure stops
 * handing out items; the call settles once the running ones have, with that failure.
 */
export async function eachLimited<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed = false;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (!failed) {
      const next = it.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (e) {
        if (!failed) {
          failed = true;
          error = e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failed) throw error;
}

/** `fn` over every item, at most `limit` at a time, each result in the item's place (failures as above). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  await eachLimited(items.keys(), limit, async (i) => {
    out[i] = await fn(items[i]!);
  });
  return out;
}
