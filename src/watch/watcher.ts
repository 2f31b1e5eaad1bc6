// `curate watch` without the command line: the webhook server, the queue and the syncs,
// wired together. Every sync goes through runSync, exactly as `curate sync` does (same
// plan, apply, manifest and lock); a targeted sync only narrows it to the queued ids.
import { LockedError } from '../errors.js';
import { readOwnedIds } from '../output/manifest.js';
import { createStateCache, runSync, type SyncEvent, type SyncOptions, type SyncReport } from '../sync/index.js';
import { Metrics, type SyncKind } from './metrics.js';
import { mayBelong, type WebhookEvent } from './payload.js';
import { SyncQueue, type RunOutcome } from './queue.js';
import { startWebhookServer } from './server.js';

export type LogLevel = 'info' | 'warn' | 'error';
/** One line per event: `message` for people, `fields` for `--json` lines. */
export type WatchLog = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

export interface WatcherOptions {
  /** Everything runSync needs except what the watcher decides per run. */
  sync: Omit<SyncOptions, 'now' | 'onlyIds' | 'signal' | 'dryRun' | 'full' | 'onEvent'>;
  /** The clock for each run (pinned by --now, else the wall clock). */
  clock: () => Date;
  host: string;
  port: number;
  /** null: no signature check (the command allows it on loopback only). */
  secret: string | null;
  reconcileEveryMs: number;
  debounceMs?: number;
  maxWaitMs?: number;
  log: WatchLog;
  /**
   * After every run: commit what curate owns that differs from HEAD (`files`: what this run
   * touched, relative to the output root). Returns the commit id and its subject, or null
   * when there was nothing to commit.
   */
  commit?: (files: string[], report: SyncReport, kind: SyncKind, ids: number[] | null) => Promise<{ id: string; subject: string } | null>;
  onSyncEvent?: (e: SyncEvent) => void;
  /**
   * After a reconciliation, and once the watcher has been idle for AFTER_RUN_IDLE_MS after a
   * targeted sync (the command runs a full collection: the watcher then idles small).
   */
  afterRun?: () => void;
  /** The engine; tests substitute a recorder. @default runSync */
  runSync?: typeof runSync;
}

export interface Watcher {
  url: string;
  metrics: Metrics;
  /** Run a reconciliation as soon as the current run ends (SIGHUP). */
  reconcile(): void;
  /** Resolves when nothing is running or queued. */
  idle(): Promise<void>;
  /** Stop accepting, abort the current run (files stay old or new, the lock is released), stop. Bounded by `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Only a well-formed event name goes into a log line, never other payload text. */
const safeAction = (a: string): string => (/^[a-z_]{1,40}:[a-z_]{1,40}$/.test(a) ? a : 'unknown');
const LOCK_RETRY_MS = 500;
/** How long the watcher is idle after a targeted sync before `afterRun` runs. */
export const AFTER_RUN_IDLE_MS = 1000;

/** Runs that failed as a whole in a row before /healthz answers 503 "failing" (one is "degraded"). */
export const FAILING_AFTER_SYNCS = 2;
/** Failed commits in a row before /healthz answers 503 "failing": the first one, since nothing is published after it. */
export const FAILING_AFTER_COMMITS = 1;

export async function startWatcher(o: WatcherOptions): Promise<Watcher> {
  const metrics = new Metrics();
  const root = o.sync.outputRoot;
  // The state's shards stay parsed between runs: a targeted run reads only those that
  // changed since (on disk, by anyone), not the whole state.
  const stateCache = o.sync.stateCache ?? createStateCache();
  let ready = false;
  let stopping = false;
  let lastSync: string | null = null;
  let lastError: { at: string; message: string } | null = null;
  let lastClean = true;
  /** Runs that threw, and commits that failed, in a row (reset by the next success). */
  let syncFailures = 0;
  let commitFailures = 0;
  let lastCommit: { at: string; id: string; subject: string } | null = null;
  let waitingForLock = false;
  let current: AbortController | null = null;
  /** Work package ids the manifest owns; null when it could not be read (then every event is queued). */
  let owned: Set<number> | null = null;

  const refreshOwned = async (): Promise<void> => {
    try {
      owned = (await readOwnedIds(root, o.sync.profile.name)) ?? new Set();
    } catch (e) {
      owned = null;
      o.log('warn', `cannot read the manifest to tell which work packages are synced; every event is queued: ${(e as Error).message}`, { event: 'manifest', error: (e as Error).message });
    }
  };

  /**
   * `afterRun` (the command's full collection): at once after a reconciliation (it leaves
   * the most garbage: after the first one, a cold sync's, the heap is several times the live
   * state, and every later sync paid for collecting it), but after a targeted sync only once
   * the watcher has been idle for a moment: collecting what little it left took tens of
   * milliseconds the next webhook's sync waited for. A run that starts meanwhile puts it off.
   */
  let afterRunTimer: NodeJS.Timeout | undefined;
  const afterRun = (kind: SyncKind): void => {
    if (!o.afterRun) return;
    clearTimeout(afterRunTimer);
    if (kind === 'reconcile') return o.afterRun();
    afterRunTimer = setTimeout(() => {
      if (current === null && !stopping) o.afterRun?.();
    }, AFTER_RUN_IDLE_MS);
    afterRunTimer.unref();
  };

  const run = async (kind: SyncKind, ids: number[] | null): Promise<RunOutcome> => {
    if (stopping) return { retry: true, clean: false };
    const controller = new AbortController();
    current = controller;
    const started = performance.now();
    const requestsBefore = o.sync.client.stats().total;
    const what = ids ? `targeted sync of ${ids.map((id) => `#${id}`).join(', ')}` : 'reconciliation';
    try {
      const report = await (o.runSync ?? runSync)({ ...o.sync, stateCache, now: o.clock(), ...(ids ? { onlyIds: ids } : {}), signal: controller.signal, onEvent: o.onSyncEvent });
      try {
        const seconds = (performance.now() - started) / 1000;
        const failed = report.errors.length;
        const c = report.counts.total;
        metrics.sync(kind, failed ? 'item_errors' : 'ok', seconds, failed);
        waitingForLock = false;
        syncFailures = 0;
        lastSync = new Date().toISOString();
        lastClean = failed === 0;
        if (failed === 0) metrics.lastSuccessMs = Date.now();
        else lastError = { at: lastSync, message: `${failed} item error(s); first: ${report.errors[0]!.message}` };
        o.log(failed ? 'warn' : 'info', `${what}: ${failed ? `${failed} error(s), ` : ''}${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged (${o.sync.client.stats().total - requestsBefore} requests, ${Math.round(seconds * 1000)} ms)`, {
          event: 'sync',
          kind,
          ids,
          outcome: failed ? 'item_errors' : 'ok',
          created: c.create,
          updated: c.update,
          deleted: c.delete,
          unchanged: c.unchanged,
          errors: failed,
          requests: o.sync.client.stats().total - requestsBefore,
          ms: Math.round(seconds * 1000),
        });
        for (const e of report.errors) o.log('error', `failed: ${e.message}`, { event: 'itemError', workPackageId: e.workPackageId ?? null, attachmentId: e.attachmentId ?? null, message: e.message });
        for (const w of report.warnings) o.log('warn', `warning: ${w}`, { event: 'warning', message: w });
        // What the state owns now, from the run's next state rather than by reading the
        // whole state again (10 MB at 10,000 work packages, read and parsed while the next
        // webhook waited).
        if (owned === null) await refreshOwned();
        else if (report.touchedFiles.includes('.curate/manifest.json')) owned = report.ownedIds();
        // After every run, not only those that wrote: a commit that failed earlier leaves
        // owned files differing from HEAD, and the next run commits them.
        if (o.commit) {
          try {
            const c = await o.commit(report.touchedFiles, report, kind, ids);
            commitFailures = 0;
            if (c) {
              lastCommit = { at: new Date().toISOString(), id: c.id, subject: c.subject };
              o.log('info', `committed ${c.id.slice(0, 12)}: ${c.subject}`, { event: 'commit', commit: c.id, subject: c.subject });
            }
          } catch (e) {
            commitFailures += 1;
            metrics.commitFailed();
            lastError = { at: new Date().toISOString(), message: `git commit failed: ${(e as Error).message}` };
            o.log('error', `git commit failed: ${(e as Error).message}`, { event: 'commit', error: (e as Error).message });
          }
        }
        // Ready only once the first reconciliation is on disk and committed.
        if (kind === 'reconcile') ready = true;
        return { retry: false, clean: failed === 0 };
      } finally {
        await report.dispose();
      }
    } catch (e) {
      const seconds = (performance.now() - started) / 1000;
      if (e instanceof LockedError) {
        metrics.sync(kind, 'locked', seconds, 0);
        // Once per wait, not once per retry: a long cron sync would flood the log.
        if (!waitingForLock) o.log('info', `${what} waits: another curate sync holds the lock on ${root}`, { event: 'sync', kind, ids, outcome: 'locked' });
        waitingForLock = true;
        return { retry: true, clean: false, retryInMs: LOCK_RETRY_MS };
      }
      if (controller.signal.aborted) {
        o.log('info', `${what} aborted (shutting down); the next run converges`, { event: 'sync', kind, ids, outcome: 'aborted' });
        return { retry: true, clean: false };
      }
      metrics.sync(kind, 'failed', seconds, 0);
      lastClean = false;
      syncFailures += 1;
      lastError = { at: new Date().toISOString(), message: (e as Error).message };
      o.log('error', `${what} failed: ${(e as Error).message}`, { event: 'sync', kind, ids, outcome: 'failed', error: (e as Error).message });
      return { retry: true, clean: false };
    } finally {
      current = null;
      afterRun(kind);
    }
  };

  const queue = new SyncQueue({
    runTargeted: (ids) => run('targeted', ids),
    runReconcile: () => run('reconcile', null),
    reconcileEveryMs: o.reconcileEveryMs,
    debounceMs: o.debounceMs,
    maxWaitMs: o.maxWaitMs,
    onCrash: (e) => o.log('error', `internal error in the sync queue: ${(e as Error).message}`, { event: 'crash', error: (e as Error).message }),
  });

  const onEvent = (e: WebhookEvent): 'queued' | 'ignored' => {
    const action = safeAction(e.action);
    if (e.kind === 'other') {
      o.log('info', `webhook ${action}: ignored (not a work package event)`, { event: 'webhook', action, id: null, outcome: 'ignored' });
      return 'ignored';
    }
    // An owned work package is always synced, wherever the payload says it is now: it may
    // have moved out of every source, and then its files must go.
    if (owned !== null && !owned.has(e.id) && !mayBelong(e.hint, o.sync.sources)) {
      o.log('info', `webhook ${action} #${e.id}: ignored (outside every source)`, { event: 'webhook', action, id: e.id, outcome: 'ignored' });
      return 'ignored';
    }
    queue.add(e.id);
    o.log('info', `webhook ${action} #${e.id}: queued`, { event: 'webhook', action, id: e.id, outcome: 'queued' });
    return 'queued';
  };

  await refreshOwned();
  const server = await startWebhookServer({
    host: o.host,
    port: o.port,
    secret: o.secret,
    metrics,
    onEvent,
    onReject: (reason, detail) => o.log('warn', `refused request: ${detail}`, { event: 'refused', reason }),
    onError: (e) => o.log('error', `internal error answering a request: ${(e as Error).message}`, { event: 'crash', error: (e as Error).message }),
    queued: () => queue.length,
    health: () => {
      // failing (503): syncs or commits keep failing, nothing new gets published;
      // degraded (200): the last run had item errors or one run failed; ok: neither.
      const failing = syncFailures >= FAILING_AFTER_SYNCS || commitFailures >= FAILING_AFTER_COMMITS;
      const status = failing ? 'failing' : !ready ? 'starting' : lastClean && syncFailures === 0 ? 'ok' : 'degraded';
      return { ready, failing, body: { status, lastSync, lastError, ...(o.commit ? { lastCommit } : {}), failuresInARow: { syncs: syncFailures, commits: commitFailures }, queued: queue.length } };
    },
  });
  queue.start();

  return {
    url: server.url,
    metrics,
    reconcile: () => queue.reconcile(),
    idle: () => queue.idle(),
    async stop(graceMs = 4000) {
      stopping = true;
      clearTimeout(afterRunTimer);
      const closing = server.close();
      current?.abort(new Error('curate watch is shutting down'));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
      await Promise.race([Promise.all([queue.stop(), closing]), grace]);
      clearTimeout(timer);
    },
  };
}
