// An async iterable whose first item is asked for now, before anyone reads it: a source's
// changes walk starts beside its id listing instead of after it (one round trip less, and
// the first page's rows arrive while the listing is still paging).
export interface Prefetched<T> extends AsyncIterable<T> {
  /** Not going to be read (or read no further): its first item is dropped and the source closed. */
  cancel(): void;
}

export function prefetchFirst<T>(source: AsyncIterable<T>): Prefetched<T> {
  const it = source[Symbol.asyncIterator]();
  const first = it.next();
  // Read or cancelled later: a failure is seen by whoever reads it, never unhandled.
  first.catch(() => undefined);
  let taken = false;
  return {
    cancel() {
      if (taken) return;
      taken = true;
      first.then(
        () => it.return?.(),
        () => undefined,
      ).catch(() => undefined);
    },
    async *[Symbol.asyncIterator]() {
      if (taken) throw new Error('prefetchFirst: read twice, or read after cancel');
      taken = true;
      let done = false;
      try {
        let r = await first;
        while (!r.done) {
          yield r.value;
          r = await it.next();
        }
        done = true;
      } finally {
        if (!done) await it.return?.();
      }
    },
  };
}
