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
  const tasks: Promise<void>[] = [];
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
  return {
    run(task) {
      const p = limit(async () => {
        wake(false);
        await task();
      });
      // Awaited by drained(); an abort can end the run before that, and its rejection must not go unhandled meanwhile.
      p.catch(() => undefined);
      tasks.push(p);
    },
    room: () => (limit.pendingCount <= MAX_QUEUED ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve))),
    drained: async () => {
      // Tasks may queue more (a page mapped again): wait until no new one appeared.
      let seen: number;
      do {
        seen = tasks.length;
        await Promise.all(tasks);
      } while (tasks.length !== seen);
    },
    quiesce: async (graceMs) => {
      await Promise.race([Promise.allSettled(tasks), new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
    dispose: () => signal?.removeEventListener('abort', onAbort),
  };
}
