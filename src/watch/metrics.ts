// The watcher's counters and their Prometheus text exposition (format 0.0.4): what an
// operator alerts on (rejections by reason, failing or slow syncs, a stale last success,
// a growing queue) without reading logs.
export type RejectReason = 'signature_missing' | 'signature_invalid' | 'too_large' | 'malformed' | 'not_found' | 'method_not_allowed';
export type SyncKind = 'targeted' | 'reconcile';
export type SyncOutcome = 'ok' | 'item_errors' | 'failed' | 'locked';

/** Upper bounds (seconds) of the sync duration histogram. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export class Metrics {
  accepted = 0;
  ignored = 0;
  readonly rejected = new Map<RejectReason, number>();
  readonly syncs = new Map<string, number>();
  readonly durations = new Map<SyncKind, Histogram>();
  itemsFailed = 0;
  commitsFailed = 0;
  lastSuccessMs: number | null = null;

  commitFailed(): void {
    this.commitsFailed += 1;
  }

  reject(reason: RejectReason): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  sync(kind: SyncKind, outcome: SyncOutcome, seconds: number, failedItems: number): void {
    const key = `${kind}\0${outcome}`;
    this.syncs.set(key, (this.syncs.get(key) ?? 0) + 1);
    let h = this.durations.get(kind);
    if (!h) this.durations.set(kind, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.counts[i]! += 1;
    });
    h.sum += seconds;
    h.count += 1;
    this.itemsFailed += failedItems;
  }

  render(state: { queued: number; ready: boolean }): string {
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: [Record<string, string>, number][]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [l, v] of samples) out.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
    };
    family('curate_watch_git_commits_failed_total', 'counter', 'git commits (--git-commit) that failed; the files stay written and the next run commits them.', [[{}, this.commitsFailed]]);
    family('curate_watch_webhooks_accepted_total', 'counter', 'Webhook deliveries accepted and queued.', [[{}, this.accepted]]);
    family('curate_watch_webhooks_ignored_total', 'counter', 'Valid webhook deliveries answered 202 but ignored (another event type, or a work package outside every source).', [[{}, this.ignored]]);
    family(
      'curate_watch_webhooks_rejected_total',
      'counter',
      'Requests refused, by reason.',
      (['signature_missing', 'signature_invalid', 'too_large', 'malformed', 'not_found', 'method_not_allowed'] as RejectReason[]).map((r) => [{ reason: r }, this.rejected.get(r) ?? 0]),
    );
    family(
      'curate_watch_syncs_total',
      'counter',
      'Syncs run, by kind (targeted: ids from webhooks; reconcile: ordinary incremental sync) and outcome.',
      [...this.syncs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => {
        const [kind = '', outcome = ''] = k.split('\0');
        return [{ kind, outcome }, v];
      }),
    );
    out.push('# HELP curate_watch_sync_duration_seconds Duration of syncs, by kind.', '# TYPE curate_watch_sync_duration_seconds histogram');
    for (const kind of ['reconcile', 'targeted'] as SyncKind[]) {
      const h = this.durations.get(kind);
      if (!h) continue;
      BUCKETS.forEach((b, i) => out.push(`curate_watch_sync_duration_seconds_bucket${labels({ kind, le: String(b) })} ${h.counts[i]}`));
      out.push(`curate_watch_sync_duration_seconds_bucket${labels({ kind, le: '+Inf' })} ${h.count}`);
      out.push(`curate_watch_sync_duration_seconds_sum${labels({ kind })} ${h.sum}`);
      out.push(`curate_watch_sync_duration_seconds_count${labels({ kind })} ${h.count}`);
    }
    family('curate_watch_items_failed_total', 'counter', 'Work packages or attachments that failed in a sync (item errors).', [[{}, this.itemsFailed]]);
    if (this.lastSuccessMs !== null) family('curate_watch_last_success_timestamp_seconds', 'gauge', 'Unix time of the last sync that finished without errors.', [[{}, this.lastSuccessMs / 1000]]);
    family('curate_watch_queue_length', 'gauge', 'Work package ids waiting for a targeted sync.', [[{}, state.queued]]);
    family('curate_watch_ready', 'gauge', '1 once the first reconciliation has finished.', [[{}, state.ready ? 1 : 0]]);
    const cpu = process.cpuUsage();
    family('process_cpu_seconds_total', 'counter', 'User and system CPU time of the watcher.', [[{}, (cpu.user + cpu.system) / 1e6]]);
    family('process_resident_memory_bytes', 'gauge', 'Resident set size of the watcher.', [[{}, process.memoryUsage.rss()]]);
    return `${out.join('\n')}\n`;
  }
}
