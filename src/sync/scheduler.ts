// The back-pressure between listing and mapping. A listing page is one request and hands
// over up to a thousand work packages, each of which costs requests of its own (attachments,
// downloads): without a brake the listing would run ahead and every work package would
// wait in memory. Listing asks for `room()` after each page; mapping tasks run with bounded
// concurrency and wake it when the queue drains below about one page.
import pLimit from 'p-limit';

export interface Scheduler {
  /** Queues a task; its failure is the task's business (it records its own outcome). */
  run(task: () => Promise<void>): void;
  /** Resolves when fewer than about one page of work packages wait to start. */
  room(): Promise<void>;
  /** Every task queued so far, settled (the first rejection rejects). */
  drained(): Promise<void>;
  /** Waits for the tasks already running (not the queued ones), at most `graceMs`. */
  quiesce(graceMs: number): Promise<void>;
  dispose(): void;
}

/** Work packages listed but not yet started, above which listing pauses (about one page). */
const MAX_QUEUED = 1000;

export function createScheduler(concurrency: number, signal?: AbortSignal): Scheduler {
  // rejectOnClear: the tasks an abort takes off the queue settle (rejected) instead of
  // never, so the way out waits only for those actually running.
  const limit = pLimit({ concurrency, rejectOnClear: true });
  // Tasks are counted, not kept: a cold sync of 100,000 work packages held a settled
  // promise (and its handler's) for each until the end.
  let unsettled = 0;
  let failure: { error: unknown } | null = null;
  let settledWaiters: { resolve: () => void; reject: (e: unknown) => void; untilFailure: boolean }[] = [];
  const notify = (): void => {
    const still: typeof settledWaiters = [];
    for (const w of settledWaiters) {
      if (failure && w.untilFailure) w.reject(failure.error);
      else if (unsettled === 0) w.resolve();
      else still.push(w);
    }
    settledWaiters = still;
  };
  let waiting: (() => void)[] = [];
  const wake = (force: boolean): void => {
    if (waiting.length && (force || limit.pendingCount <= MAX_QUEUED)) {
      const all = waiting;
      waiting = [];
      all.forEach((resolve) => resolve());
    }
  };
  // An abort clears the queue, so nothing would wake a paused listing: wake it, and its
  // next checkpoint ends the run.
  const onAbort = (): void => {
    limit.clearQueue();
    wake(true);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const whenSettled = (untilFailure: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      settledWaiters.push({ resolve, reject, untilFailure });
      notify();
    });
  return {
    run(task) {
      unsettled += 1;
      limit(async () => {
        wake(false);
        await task();
      }).then(
        () => {
          unsettled -= 1;
          notify();
        },
        (error: unknown) => {
          unsettled -= 1;
          failure ??= { error };
          notify();
        },
      );
    },
    room: () => (limit.pendingCount <= MAX_QUEUED ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve))),
    // Every task queued so far (tasks may queue more: a page mapped again) has settled; the
    // first rejection rejects at once, as Promise.all would.
    drained: () => whenSettled(true),
    quiesce: async (graceMs) => {
      await Promise.race([whenSettled(false), new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
    dispose: () => signal?.removeEventListener('abort', onAbort),
  };
}
