// The watcher's scheduler: one sync at a time, ids coalesced and debounced.
//
// - Webhooks add work package ids. The first event after a quiet spell (no event for
//   `debounceMs`, no run in progress) starts a targeted sync at once (`leadMs` later: ids
//   that arrive in that moment join it), so a single edit reaches its page without waiting
//   out a debounce. Events that follow it (the rest of a burst), or arrive while a run is
//   in progress, are coalesced: a burst of edits of the same ten work packages becomes one
//   targeted sync of those ten, started once the burst has been quiet for `debounceMs` (or
//   `maxWaitMs` after its first event, so a steady stream cannot starve it).
// - A reconciliation (an ordinary incremental sync) runs first, then every
//   `reconcileEveryMs`, and on request; it goes before queued ids. Ids queued before a
//   reconciliation started are covered by it and dropped when it ends cleanly.
// - A run that cannot proceed (the lock is held by a cron sync, the server is down) keeps
//   its ids and is tried again after a growing delay; nothing is dropped.

export interface RunOutcome {
  /** Nothing was applied (lock held, run failed): try the same work again later. */
  retry: boolean;
  /** Finished without item errors. */
  clean: boolean;
  /** With retry: wait this long instead of the growing backoff (a held lock is usually released soon). */
  retryInMs?: number;
}

export interface QueueOptions {
  runTargeted(ids: number[]): Promise<RunOutcome>;
  runReconcile(): Promise<RunOutcome>;
  /** @default 300 */
  debounceMs?: number;
  /** How long the first event after a quiet spell waits for others before its sync starts. @default 0 */
  leadMs?: number;
  /** @default 1000 */
  maxWaitMs?: number;
  /** Time between the end of one reconciliation and the start of the next. */
  reconcileEveryMs: number;
  /** Delay before try `attempt` (1, 2, …) after a run asked to retry. @default 250 ms doubling, at most 60 s */
  retryDelayMs?: (attempt: number) => number;
  /** A run threw (a bug: runners report failures as outcomes). */
  onCrash?: (e: unknown) => void;
}

const defaultRetryDelay = (attempt: number): number => Math.min(60_000, 250 * 2 ** (attempt - 1));

export class SyncQueue {
  /** id → sequence number of its latest enqueue. */
  private pending = new Map<number, number>();
  private seq = 0;
  private firstAt = 0;
  private lastAt = 0;
  /** The pending batch began with an event after a quiet spell: it starts `leadMs` after that event, not debounced. */
  private leading = false;
  private reconcileWanted = true;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private blockedUntil = 0;
  private attempts = 0;
  private stopped = false;
  private readonly debounceMs: number;
  private readonly leadMs: number;
  private readonly maxWaitMs: number;
  private readonly retryDelay: (attempt: number) => number;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: QueueOptions) {
    this.debounceMs = o.debounceMs ?? 300;
    this.leadMs = o.leadMs ?? 0;
    this.maxWaitMs = o.maxWaitMs ?? 1000;
    this.retryDelay = o.retryDelayMs ?? defaultRetryDelay;
  }

  get length(): number {
    return this.pending.size;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Starts the first reconciliation. */
  start(): void {
    this.kick();
  }

  add(id: number): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.pending.size === 0) {
      this.firstAt = now;
      // Quiet: nothing running and no event for a debounce. (A batch that starts during a
      // run waits for the burst to settle: whatever else it brings rides along.)
      this.leading = this.running === null && now - this.lastAt >= this.debounceMs;
    }
    this.lastAt = now;
    this.pending.set(id, ++this.seq);
    // A quiet-spell start goes through a timer (even of 0 ms), so what arrives in the same
    // moment joins it and a reconciliation asked for meanwhile still goes first.
    if (this.leading && this.pending.size === 1 && !this.running && !this.timer) return this.wakeAt(now + this.leadMs);
    this.kick();
  }

  reconcile(): void {
    if (this.stopped) return;
    this.reconcileWanted = true;
    this.kick();
  }

  /** Stops scheduling; resolves when the run in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    await this.running;
  }

  /** Resolves once nothing is running or waiting to run (tests, the benchmark). */
  idle(): Promise<void> {
    if (!this.running && this.pending.size === 0 && !this.reconcileWanted) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private wakeAt(at: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, Math.max(0, at - Date.now()));
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    const now = Date.now();
    if (now < this.blockedUntil) return this.wakeAt(this.blockedUntil);
    if (this.reconcileWanted) {
      this.clearTimer();
      this.reconcileWanted = false;
      const coveredUpTo = this.seq;
      this.launch(this.o.runReconcile(), (r) => {
        if (r.retry) this.reconcileWanted = true;
        else {
          if (r.clean) for (const [id, s] of this.pending) if (s <= coveredUpTo) this.pending.delete(id);
          this.scheduleReconcile();
        }
      });
      return;
    }
    if (this.pending.size === 0) {
      this.clearTimer();
      return this.settleIdle();
    }
    const due = this.leading ? this.firstAt + this.leadMs : Math.min(this.lastAt + this.debounceMs, this.firstAt + this.maxWaitMs);
    if (now < due) return this.wakeAt(due);
    // The quiet-spell start's timer is still to fire (later events of the same moment): it starts the batch.
    if (this.leading && this.timer) return;
    this.clearTimer();
    const batch = [...this.pending.entries()];
    this.pending.clear();
    const ids = batch.map(([id]) => id).sort((a, b) => a - b);
    this.launch(this.o.runTargeted(ids), (r) => {
      if (!r.retry) return;
      // Put them back without losing a newer enqueue of the same id.
      for (const [id, s] of batch) if (!this.pending.has(id)) this.pending.set(id, s);
      if (this.pending.size === batch.length) this.firstAt = this.lastAt = 0;
    });
  }

  private scheduleReconcile(): void {
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = setTimeout(() => this.reconcile(), this.o.reconcileEveryMs);
  }

  private launch(run: Promise<RunOutcome>, after: (r: RunOutcome) => void): void {
    this.running = run
      .catch((e: unknown): RunOutcome => {
        this.o.onCrash?.(e);
        return { retry: true, clean: false };
      })
      .then((r) => {
        after(r);
        if (r.retry) {
          this.attempts += 1;
          this.blockedUntil = Date.now() + (r.retryInMs ?? this.retryDelay(this.attempts));
        } else this.attempts = 0;
      })
      .finally(() => {
        this.running = null;
        this.kick();
      });
  }

  private settleIdle(): void {
    if (this.running || this.reconcileWanted || this.pending.size) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    waiting.forEach((r) => r());
  }
}
