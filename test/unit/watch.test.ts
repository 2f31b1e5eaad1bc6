// Pure parts of `curate watch`: the signature check, reading payloads, deciding relevance,
// the scheduler (fake timers), the metrics text and the --listen rules.
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLoopback, parseListen } from '../../src/cli/commands/watch.js';
import { Metrics } from '../../src/watch/metrics.js';
import { mayBelong, parseWebhook, PayloadProblem } from '../../src/watch/payload.js';
import { SyncQueue, type RunOutcome } from '../../src/watch/queue.js';
import { sign, verifySignature } from '../../src/watch/signature.js';
import type { SourceSpec } from '../../src/types.js';

describe('signature', () => {
  const body = Buffer.from('{"action":"work_package:updated","work_package":{"id":1}}');
  const good = `sha1=${createHmac('sha1', 's3cret').update(body).digest('hex')}`;
  it('accepts the HMAC-SHA1 of the raw bytes, in either hex case', () => {
    expect(sign(body, 's3cret')).toBe(good);
    expect(verifySignature(body, good, 's3cret')).toBe('ok');
    expect(verifySignature(body, good.toUpperCase().replace('SHA1=', 'sha1='), 's3cret')).toBe('ok');
  });
  it('refuses missing, malformed, repeated, other-key and other-bytes signatures', () => {
    expect(verifySignature(body, undefined, 's3cret')).toBe('missing');
    expect(verifySignature(body, '', 's3cret')).toBe('missing');
    expect(verifySignature(body, good, 'other')).toBe('invalid');
    expect(verifySignature(Buffer.concat([body, Buffer.from(' ')]), good, 's3cret')).toBe('invalid');
    expect(verifySignature(body, good.slice(0, -2), 's3cret')).toBe('invalid');
    expect(verifySignature(body, `${good}00`, 's3cret')).toBe('invalid');
    expect(verifySignature(body, good.replace('sha1=', 'sha256='), 's3cret')).toBe('invalid');
    expect(verifySignature(body, good.replace('sha1=', ''), 's3cret')).toBe('invalid');
    expect(verifySignature(body, [good, good], 's3cret')).toBe('invalid');
  });
});

const wp = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 42,
  _links: { project: { href: '/api/v3/projects/4', title: 'News' }, type: { href: '/api/v3/types/3', title: 'Curated Content' }, status: { href: '/api/v3/statuses/3', title: 'Published' } },
  _embedded: { project: { id: 4, identifier: 'news', name: 'News' }, type: { name: 'Curated Content' }, status: { name: 'Published' } },
  ...extra,
});

describe('payload', () => {
  it('reads the work package id and where it lives', () => {
    expect(parseWebhook({ action: 'work_package:updated', work_package: wp() })).toEqual({
      kind: 'workPackage',
      action: 'work_package:updated',
      id: 42,
      hint: { projectId: 4, projectIdentifier: 'news', projectName: 'News', type: 'Curated Content', status: 'Published' },
    });
    // Links only (no _embedded): names from link titles, the project id from its href.
    expect(parseWebhook({ action: 'work_package:created', work_package: wp({ _embedded: undefined }) })).toMatchObject({ hint: { projectId: 4, projectName: 'News', type: 'Curated Content', status: 'Published' } });
  });
  it('maps an attachment to its work package container, under a relative URL root too', () => {
    const att = { id: 9, _links: { container: { href: '/op/api/v3/work_packages/42' } }, _embedded: { container: { _type: 'WorkPackage', ...wp() } } };
    expect(parseWebhook({ action: 'attachment:created', attachment: att })).toMatchObject({ kind: 'attachment', id: 42, attachmentId: 9, hint: { projectIdentifier: 'news' } });
    expect(parseWebhook({ action: 'attachment:created', attachment: { id: 9, _links: { container: { href: '/api/v3/wiki_pages/3' } } } })).toEqual({ kind: 'other', action: 'attachment:created' });
  });
  it('passes other events through as "other" and refuses what it cannot read, naming the field', () => {
    expect(parseWebhook({ action: 'project:updated', project: {} })).toEqual({ kind: 'other', action: 'project:updated' });
    const problem = (b: unknown): string => {
      try {
        parseWebhook(b);
      } catch (e) {
        expect(e).toBeInstanceOf(PayloadProblem);
        return (e as Error).message;
      }
      throw new Error('no problem found');
    };
    expect(problem([])).toMatch(/not a JSON object/);
    expect(problem({})).toMatch(/no "action"/);
    expect(problem({ action: 'work_package:updated' })).toMatch(/no "work_package" object/);
    expect(problem({ action: 'work_package:updated', work_package: { id: '42' } })).toMatch(/work_package\.id is not a positive integer/);
    expect(problem({ action: 'work_package:updated', work_package: { id: 0 } })).toMatch(/work_package\.id/);
    expect(problem({ action: 'attachment:created' })).toMatch(/no "attachment" object/);
  });

  const source = (s: Partial<SourceSpec>): SourceSpec => ({ name: 'n', projects: ['news'], types: ['Curated Content'], statuses: [], path: '', options: {}, ...s });
  it('mayBelong: matches like the engine resolves names, and only rules out what is clearly outside', () => {
    const hint = parseWebhook({ action: 'work_package:updated', work_package: wp() });
    if (hint.kind !== 'workPackage') throw new Error('unexpected');
    expect(mayBelong(hint.hint, [source({})])).toBe(true);
    expect(mayBelong(hint.hint, [source({ projects: ['4'] })])).toBe(true);
    expect(mayBelong(hint.hint, [source({ projects: ['News'] })])).toBe(true);
    expect(mayBelong(hint.hint, [source({ projects: ['events'] })])).toBe(false);
    expect(mayBelong(hint.hint, [source({ types: ['Curated Event'] })])).toBe(false);
    expect(mayBelong(hint.hint, [source({ statuses: ['New'] })])).toBe(false);
    expect(mayBelong(hint.hint, [source({ statuses: ['New', 'Published'] })])).toBe(true);
    expect(mayBelong(hint.hint, [source({ projects: ['events'] }), source({})])).toBe(true);
    // Not enough to tell: queued.
    expect(mayBelong(null, [source({ projects: ['events'] })])).toBe(true);
    expect(mayBelong({}, [source({ projects: ['events'] })])).toBe(true);
    expect(mayBelong({ projectId: 4, type: 'Curated Content' }, [source({ projects: ['events'] })])).toBe(true);
  });
});

describe('queue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function harness(outcomes: { targeted?: () => RunOutcome; reconcile?: () => RunOutcome } = {}) {
    const calls: (number[] | 'reconcile')[] = [];
    const q = new SyncQueue({
      runTargeted: async (ids) => {
        calls.push(ids);
        return outcomes.targeted?.() ?? { retry: false, clean: true };
      },
      runReconcile: async () => {
        calls.push('reconcile');
        return outcomes.reconcile?.() ?? { retry: false, clean: true };
      },
      reconcileEveryMs: 60_000,
      debounceMs: 300,
      maxWaitMs: 1000,
    });
    return { q, calls };
  }

  it('reconciles first; the first event after a quiet spell syncs at once, the rest of its burst is coalesced into one debounced sync', async () => {
    const { q, calls } = harness();
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['reconcile']);
    q.add(10);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['reconcile', [10]]);
    // 100 events for 10 work packages over 200 ms: one sync, once they have been quiet for 300 ms.
    for (let i = 0; i < 100; i++) {
      q.add(10 + (i % 10));
      await vi.advanceTimersByTimeAsync(2);
    }
    expect(q.length).toBe(10);
    await vi.advanceTimersByTimeAsync(297);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['reconcile', [10], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]);
    expect(q.length).toBe(0);
    // Quiet again: the next event starts at once.
    await vi.advanceTimersByTimeAsync(300);
    q.add(7);
    q.add(8); // in the same moment: joins it
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.at(-1)).toEqual([7, 8]);
  });

  it('an event while a sync runs waits for that sync and the debounce, not a quiet-spell start', async () => {
    let release: () => void = () => undefined;
    const calls: (number[] | 'reconcile')[] = [];
    const q = new SyncQueue({
      runTargeted: async (ids) => {
        calls.push(ids);
        if (ids[0] === 1) await new Promise<void>((r) => (release = r));
        return { retry: false, clean: true };
      },
      runReconcile: async () => (calls.push('reconcile'), { retry: false, clean: true }),
      reconcileEveryMs: 60_000,
      debounceMs: 300,
      maxWaitMs: 1000,
    });
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    q.add(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['reconcile', [1]]);
    await vi.advanceTimersByTimeAsync(500);
    q.add(2); // #1's sync is still running
    await vi.advanceTimersByTimeAsync(100);
    release();
    await vi.advanceTimersByTimeAsync(199);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['reconcile', [1], [2]]);
  });

  it('a steady stream still syncs once maxWait has passed since its first event', async () => {
    const { q, calls } = harness();
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let t = 0; t < 1100; t += 100) {
      q.add(t);
      await vi.advanceTimersByTimeAsync(100);
    }
    // The first event starts at once; the stream after it waits at most maxWait (1000 ms from #100).
    expect(calls.filter((c) => c !== 'reconcile')).toEqual([[0], [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]]);
  });

  it('a held lock keeps the ids and tries again; nothing is lost or run twice at once', async () => {
    let locked = true;
    let running = 0;
    let maxRunning = 0;
    const calls: (number[] | 'reconcile')[] = [];
    const q = new SyncQueue({
      runTargeted: async (ids) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        calls.push(ids);
        await new Promise((r) => setTimeout(r, 50));
        running -= 1;
        return locked ? { retry: true, clean: false, retryInMs: 500 } : { retry: false, clean: true };
      },
      runReconcile: async () => ({ retry: false, clean: true }),
      reconcileEveryMs: 60_000,
    });
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    q.add(1);
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toEqual([[1]]);
    q.add(2);
    await vi.advanceTimersByTimeAsync(600);
    expect(calls).toEqual([[1], [1, 2]]);
    locked = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual([[1], [1, 2], [1, 2]]);
    expect(q.length).toBe(0);
    expect(maxRunning).toBe(1);
  });

  it('a clean reconciliation drops ids queued before it started, not those queued during it', async () => {
    let release: () => void = () => undefined;
    const calls: (number[] | 'reconcile')[] = [];
    let first = true;
    const q = new SyncQueue({
      runTargeted: async (ids) => (calls.push(ids), { retry: false, clean: true }),
      runReconcile: async () => {
        calls.push('reconcile');
        if (first) return ((first = false), { retry: false, clean: true });
        await new Promise<void>((r) => (release = r));
        return { retry: false, clean: true };
      },
      reconcileEveryMs: 60_000,
    });
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    q.add(1);
    q.reconcile(); // before the debounce ends: the reconciliation goes first and covers #1
    await vi.advanceTimersByTimeAsync(0);
    q.add(2); // arrives while it runs
    release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(['reconcile', 'reconcile', [2]]);
  });

  it('a failed run backs off, then retries; a periodic reconciliation follows the last one', async () => {
    let fail = 2;
    const { q, calls } = harness({ reconcile: () => (fail-- > 0 ? { retry: true, clean: false } : { retry: false, clean: true }) });
    q.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['reconcile']);
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(['reconcile', 'reconcile', 'reconcile', 'reconcile']);
    await q.stop();
    q.add(5);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(4);
  });
});

describe('metrics', () => {
  it('renders Prometheus text: HELP/TYPE per family, labelled counters, a cumulative histogram', () => {
    const m = new Metrics();
    m.reject('signature_invalid');
    m.reject('signature_invalid');
    m.accepted = 3;
    m.sync('targeted', 'ok', 0.2, 0);
    m.sync('targeted', 'item_errors', 3, 2);
    const text = m.render({ queued: 4, ready: true });
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('# TYPE curate_watch_webhooks_rejected_total counter\n');
    expect(text).toContain('curate_watch_webhooks_rejected_total{reason="signature_invalid"} 2\n');
    expect(text).toContain('curate_watch_webhooks_rejected_total{reason="too_large"} 0\n');
    expect(text).toContain('curate_watch_syncs_total{kind="targeted",outcome="item_errors"} 1\n');
    expect(text).toContain('curate_watch_sync_duration_seconds_bucket{kind="targeted",le="0.25"} 1\n');
    expect(text).toContain('curate_watch_sync_duration_seconds_bucket{kind="targeted",le="5"} 2\n');
    expect(text).toContain('curate_watch_sync_duration_seconds_bucket{kind="targeted",le="+Inf"} 2\n');
    expect(text).toContain('curate_watch_sync_duration_seconds_count{kind="targeted"} 2\n');
    expect(text).toContain('curate_watch_items_failed_total 2\n');
    expect(text).toContain('curate_watch_queue_length 4\n');
    expect(text).not.toContain('curate_watch_last_success_timestamp_seconds');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/);
  });
});

describe('--listen', () => {
  it('parses HOST:PORT and [v6]:PORT, refuses the rest', () => {
    expect(parseListen('127.0.0.1:4040')).toEqual({ host: '127.0.0.1', port: 4040 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    for (const bad of ['4040', '127.0.0.1', '127.0.0.1:99999', '::1:4040', 'host:port', '']) expect(parseListen(bad), bad).toBeNull();
  });
  it('only loopback addresses count as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.org', '127.example.org']) expect(isLoopback(h), h).toBe(false);
  });
});
