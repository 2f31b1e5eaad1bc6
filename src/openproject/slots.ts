// The client's request slots: at most `concurrency` requests at once, in two lanes. A
// request in the urgent lane takes the next free slot before any queued in the normal one.
//
// Why: a source's changes walk is a chain (each page starts at the last key of the one
// before), while an id listing's later pages are asked for all at once once its first is
// in. In one first-come queue the walk's next page waited behind every listing page asked
// for before it, and the mapping of the changed rows (their attachment lists, their
// downloads) behind the walk.
export type RequestSlots = <T>(fn: () => Promise<T>, urgent?: boolean) => Promise<T>;

export function requestSlots(concurrency: number): RequestSlots {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`request slots: expected a positive integer, got ${concurrency}`);
  let active = 0;
  const lanes = [new Lane(), new Lane()] as const;
  const next = (): void => {
    while (active < concurrency) {
      const run = lanes[0].take() ?? lanes[1].take();
      if (!run) return;
      active += 1;
      run();
    }
  };
  return <T>(fn: () => Promise<T>, urgent = false): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      lanes[urgent ? 0 : 1].put(() => {
        // A function that throws at once is a rejected request, and its slot is freed.
        let p: Promise<T>;
        try {
          p = fn();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          active -= 1;
          next();
        });
      });
      next();
    });
}

/** A first-in first-out queue whose take() costs O(1) however long it grew (a cold sync queues thousands of downloads). */
class Lane {
  private items: (() => void)[] = [];
  private head = 0;

  put(run: () => void): void {
    this.items.push(run);
  }

  take(): (() => void) | undefined {
    if (this.head === this.items.length) return undefined;
    const run = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as () => void;
    this.head += 1;
    // Drop the taken half once it is most of the array, so the array never holds more than twice the queue.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return run;
  }
}
