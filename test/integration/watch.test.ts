// `curate watch` end to end: the real binary, the simulator sending OpenProject-style
// webhooks to it on 127.0.0.1, a real output tree (and git repository). The oracle is
// always a fresh sync of the same server state into an empty folder.
import { existsSync, watch } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sign } from '../../src/watch/signature.js';
import type { Simulator } from '../../src/simulator/index.js';
import { diffTrees, git, LEGACY_NOW, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';
import { request, startWatch, syncLines, waitReady, WEBHOOK_SECRET, type RunningWatch } from '../helpers/watch-harness.js';
import { readStateJson } from '../helpers/state.js';

const NOW = LEGACY_NOW.toISOString();
const same = { missing: [], extra: [], different: [] };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function setup(options: { gitCommit?: boolean; extraArgs?: string[]; env?: NodeJS.ProcessEnv; latencyMs?: number } = {}): Promise<{ sim: Simulator; out: string; dir: string; w: RunningWatch; env: NodeJS.ProcessEnv }> {
  const sim = await startFixtureSimulator({ latencyMs: options.latencyMs ?? 0 });
  cleanups.push(() => sim.close());
  const { dir, cleanup } = await tempDir('curate-watch-');
  cleanups.push(cleanup);
  const out = path.join(dir, 'site');
  await mkdir(out);
  if (options.gitCommit) await git(out, ['init', '-q']);
  const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET, ...options.env };
  const w = await startWatch(['--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, ...(options.gitCommit ? ['--git-commit'] : []), ...(options.extraArgs ?? [])], env);
  cleanups.push(async () => {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exited;
  });
  await waitReady(w.url);
  return { sim, out, dir, w, env };
}

async function freshTree(sim: Simulator, dir: string): Promise<Map<string, string>> {
  const fresh = path.join(dir, `fresh-${Math.random().toString(36).slice(2)}`);
  // The oracle, in memory (fake client over the simulator's data): the watcher under test talks HTTP.
  const r = await medigySync(sim, fresh, { client: createFakeClient(sim.dataset) });
  expect(r.errors).toEqual([]);
  return treeHashes(fresh);
}

const editDescription = (sim: Simulator, id: number, text: string): void =>
  sim.updateWorkPackage(id, (wp) => {
    const d = wp.description as { raw: string; html: string };
    wp.description = { format: 'markdown', raw: `${d.raw}<p>${text}</p>`, html: `${d.html}<p>${text}</p>` };
  });

describe('curate watch (real binary, simulator webhooks)', () => {
  it('an edit reaches its file within seconds, and --git-commit commits exactly that change', async () => {
    const { sim, out, dir, w } = await setup({ gitCommit: true });
    expect(syncLines(w, 'reconcile')).toHaveLength(1);
    expect((await git(out, ['status', '--porcelain'])).trim()).toBe(''); // the first reconciliation was committed
    const before = await treeHashes(out);
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: WEBHOOK_SECRET });
    const mark = w.lines.length;
    editDescription(sim, 1013, 'Edited while curate watch was running.');
    await sim.webhooks.flush();
    expect(sim.webhooks.deliveries()).toEqual([{ action: 'work_package:updated', id: 1013, status: 202 }]);
    const synced = await w.waitFor((l) => l.event === 'sync' && l.kind === 'targeted' && (l.ids as number[]).includes(1013), 20_000, mark);
    expect(synced.outcome).toBe('ok');
    const after = await treeHashes(out);
    const changed = diffTrees(after, before);
    expect(changed.missing).toEqual([]);
    expect(changed.extra).toEqual([]);
    expect(changed.different).toHaveLength(1);
    const file = changed.different[0]!;
    expect(await readFile(path.join(out, file), 'utf8')).toContain('Edited while curate watch was running.');
    expect(diffTrees(after, await freshTree(sim, dir))).toEqual(same);
    await w.waitFor((l) => l.event === 'commit', 10_000, mark);
    // The message names the page, and why it was synced.
    expect((await git(out, ['log', '-1', '--format=%B'])).trim()).toMatch(/^curate: update "Quantitative Information Risk Management" \(#1013\)\n\ncurate watch: webhook for #1013$/);
    expect((await git(out, ['show', '--name-only', '--format=', 'HEAD'])).trim().split('\n')).toContain(file);
    expect((await git(out, ['status', '--porcelain'])).trim()).toBe('');
    // The log names the event and the id, never payload text.
    const logged = w.lines.map((l) => JSON.stringify(l)).join('\n') + w.stderr();
    expect(logged).toContain('"action":"work_package:updated","id":1013,"outcome":"queued"');
    expect(logged).not.toContain('Edited while');
    expect(logged).not.toContain(WEBHOOK_SECRET);
    expect(logged).not.toContain(TEST_KEY);
  });

  it('a missing or wrong signature is refused with 401 and nothing is queued or written', async () => {
    const { sim, out, w } = await setup();
    const before = await treeHashes(out, { includeState: true });
    editDescription(sim, 1013, 'Nobody was told about this edit.');
    const body = JSON.stringify({ action: 'work_package:updated', work_package: { id: 1013, _links: {} } });
    const post = (headers: Record<string, string>): ReturnType<typeof request> => request(`${w.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-op-signature': sign(body, 'not-the-secret') })).status).toBe(401);
    expect((await post({ 'x-op-signature': sign(`${body} `, WEBHOOK_SECRET) })).status).toBe(401); // signed other bytes
    expect((await post({ 'x-op-signature': 'sha1=zz' })).status).toBe(401);
    expect((await post({ 'x-op-signature': sign(body, WEBHOOK_SECRET).replace('sha1=', 'sha256=') })).status).toBe(401);
    // The simulator with a wrong secret: OpenProject would log the 401 and drop the event.
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: 'wrong-secret' });
    editDescription(sim, 1013, 'Signed with the wrong secret.');
    await sim.webhooks.flush();
    expect(sim.webhooks.deliveries().map((d) => d.status)).toEqual([401]);
    // A refused delivery is never queued (the queue is the only way to a targeted sync), so
    // an empty queue now is proof; no wait for a debounce that could not start.
    expect(JSON.parse((await request(`${w.url}/healthz`)).body)).toMatchObject({ queued: 0 });
    expect(syncLines(w, 'targeted')).toEqual([]);
    expect(await treeHashes(out, { includeState: true })).toEqual(before);
    const metrics = (await request(`${w.url}/metrics`)).body;
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="signature_missing"} 1');
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="signature_invalid"} 5');
    expect(metrics).toContain('curate_watch_webhooks_accepted_total 0');
    // The right signature over the same bytes is accepted: one targeted sync, the first.
    expect((await post({ 'x-op-signature': sign(body, WEBHOOK_SECRET) })).status).toBe(202);
    await w.waitFor((l) => l.event === 'sync' && l.kind === 'targeted');
    expect(w.lines.filter((l) => l.event === 'sync' && l.kind === 'targeted').map((l) => l.ids)).toEqual([[1013]]);
  });

  it('refuses oversized (413) and malformed (400) bodies, other paths (404) and methods (405); ignores events outside every source', async () => {
    const { out, w } = await setup();
    const before = await treeHashes(out, { includeState: true });
    const signed = (body: Buffer | string): Record<string, string> => ({ 'content-type': 'application/json', 'x-op-signature': sign(body, WEBHOOK_SECRET) });
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect((await request(`${w.url}/webhook`, { method: 'POST', headers: signed(big), body: big })).status).toBe(413);
    // Without a Content-Length (chunked), the limit holds while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ default: http }) => {
        const req = http.request(`${w.url}/webhook`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
        req.end();
      }, reject);
    });
    expect(chunked).toBe(413);
    for (const body of ['{not json', '[]', '{"action":"work_package:updated"}', '{"action":"work_package:updated","work_package":{"id":"12"}}', '{"work_package":{"id":12}}']) {
      const r = await request(`${w.url}/webhook`, { method: 'POST', headers: signed(body), body });
      expect(r.status, body).toBe(400);
    }
    expect((await request(`${w.url}/nope`)).status).toBe(404);
    expect((await request(`${w.url}/webhook/extra`, { method: 'POST' })).status).toBe(404);
    const get = await request(`${w.url}/webhook`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await request(`${w.url}/healthz`, { method: 'POST' })).status).toBe(405);
    expect((await request(`${w.url}/metrics`, { method: 'DELETE' })).status).toBe(405);
    // Valid but not for curate: another event type, a work package of a project no source syncs.
    const other = JSON.stringify({ action: 'project:updated', project: { id: 1 } });
    expect(await request(`${w.url}/webhook`, { method: 'POST', headers: signed(other), body: other })).toMatchObject({ status: 202, body: '{"status":"ignored"}\n' });
    const outside = JSON.stringify({ action: 'work_package:created', work_package: { id: 99999, _links: { project: { href: '/api/v3/projects/77', title: 'Intranet' }, type: { href: '/api/v3/types/1', title: 'Task' } }, _embedded: { project: { id: 77, identifier: 'intranet', name: 'Intranet' } } } });
    expect(await request(`${w.url}/webhook`, { method: 'POST', headers: signed(outside), body: outside })).toMatchObject({ status: 202, body: '{"status":"ignored"}\n' });
    // Refused and ignored requests never reach the queue: empty now, nothing can sync later.
    expect(syncLines(w, 'targeted')).toEqual([]);
    expect(await treeHashes(out, { includeState: true })).toEqual(before);
    const health = await request(`${w.url}/healthz`);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', lastError: null, queued: 0 });
    const metrics = (await request(`${w.url}/metrics`)).body;
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="too_large"} 2');
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="malformed"} 5');
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="not_found"} 2');
    expect(metrics).toContain('curate_watch_webhooks_rejected_total{reason="method_not_allowed"} 3');
    expect(metrics).toContain('curate_watch_webhooks_ignored_total 2');
    expect(metrics).toContain('curate_watch_webhooks_accepted_total 0');
    expect(metrics).toMatch(/^curate_watch_syncs_total\{kind="reconcile",outcome="ok"\} 1$/m);
    expect(metrics).toMatch(/^curate_watch_last_success_timestamp_seconds \d+(\.\d+)?$/m);
  });

  it('refuses to start without a secret, and allows --no-signature only on loopback', async () => {
    const { dir, cleanup } = await tempDir('curate-watch-');
    cleanups.push(cleanup);
    const base = ['watch', '--config', MEDIGY_CONFIG, '--out', dir, '--listen', '127.0.0.1:0'];
    const env = { OPENPROJECT_URL: 'http://127.0.0.1:9', OPENPROJECT_API_KEY: TEST_KEY };
    const noSecret = await runCli(base, { env });
    expect(noSecret.code).toBe(64);
    expect(noSecret.stderr).toMatch(/set OPENPROJECT_WEBHOOK_SECRET/);
    const wide = await runCli([...base.slice(0, -1), '0.0.0.0:0', '--no-signature'], { env });
    expect(wide.code).toBe(64);
    expect(wide.stderr).toMatch(/--no-signature is only allowed on a loopback address/);
    const both = await runCli([...base, '--no-signature'], { env: { ...env, OPENPROJECT_WEBHOOK_SECRET: 'x' } });
    expect(both.code).toBe(64);
    expect((await runCli([...base.slice(0, -1), 'nonsense'], { env: { ...env, OPENPROJECT_WEBHOOK_SECRET: 'x' } })).code).toBe(64);
    expect(await readdir(dir)).toEqual([]);
    // On loopback, unsigned webhooks are accepted.
    const { w } = await setup({ extraArgs: ['--no-signature'], env: { OPENPROJECT_WEBHOOK_SECRET: '' } });
    const body = JSON.stringify({ action: 'work_package:updated', work_package: { id: 1013 } });
    expect((await request(`${w.url}/webhook`, { method: 'POST', body })).status).toBe(202);
    await w.waitFor((l) => l.event === 'sync' && l.kind === 'targeted');
    // Ctrl-C ends the service normally too: exit 0, not 130.
    w.child.kill('SIGINT');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});

/** A valid 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function ownedIds(out: string): Promise<number[]> {
  const m = (await readStateJson(out)) as { workPackages: Record<string, unknown> };
  return Object.keys(m.workPackages).map(Number).sort((a, b) => a - b);
}

async function waitQueueEmpty(url: string): Promise<void> {
  for (;;) {
    const h = JSON.parse((await request(`${url}/healthz`)).body) as { queued: number };
    if (h.queued === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls /metrics until it matches (each poll is one HTTP request; the watcher answers at once). */
async function waitForMetric(url: string, re: RegExp, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = (await request(`${url}/metrics`)).body;
    if (re.test(body)) return;
    if (Date.now() > until) throw new Error(`no ${re} in the metrics after ${timeoutMs} ms:\n${body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGHUP → one reconciliation; resolves with its log line. */
async function reconcileOnce(w: RunningWatch): Promise<void> {
  const mark = w.lines.length;
  w.child.kill('SIGHUP');
  const line = await w.waitFor((l) => l.event === 'sync' && l.kind === 'reconcile' && l.outcome !== 'locked', 60_000, mark);
  expect(line.outcome).toBe('ok');
  await waitQueueEmpty(w.url);
}

describe('curate watch: convergence', () => {
  it('a burst of 100 edits, deletes and attachment adds is coalesced and converges to the fresh-sync tree after one reconciliation', async () => {
    const { sim, out, dir, w } = await setup();
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: WEBHOOK_SECRET });
    const ids = await ownedIds(out);
    expect(ids.length).toBeGreaterThanOrEqual(14);
    const edited = ids.slice(0, 10);
    const deleted = ids.slice(10, 12);
    const withAttachment = ids.slice(12, 14);
    const mark = w.lines.length;
    sim.resetCounts();
    let n = 0;
    for (let round = 0; n < 100; round++) {
      for (const id of edited) {
        if (n >= 100) break;
        editDescription(sim, id, `burst edit ${round}`);
        n += 1;
        if (n === 40) {
          for (const d of deleted) sim.deleteWorkPackage(d);
          n += deleted.length;
        }
        if (n === 70) {
          // A favicon (mapped), a note (not mapped by the profile): both are attachment events.
          sim.addAttachment(withAttachment[0]!, { fileName: 'Curated_Source_FavIcon.png' }, PNG);
          sim.addAttachment(withAttachment[1]!, { fileName: 'notes.txt' }, Buffer.from('not published\n'));
          n += 2;
        }
      }
    }
    await sim.webhooks.flush();
    const deliveries = sim.webhooks.deliveries();
    expect(deliveries.filter((d) => d.status !== 202)).toEqual([]);
    expect(deliveries.filter((d) => d.action === 'attachment:created')).toHaveLength(2);
    // Wait on what the watcher says, not on a fixed time: every work package the webhooks
    // named has been through a finished targeted sync (the queue can be empty while the
    // last one still runs, which a fixed 500 ms did not always cover on a busy machine).
    const named = new Set([...edited, ...withAttachment]);
    const done = new Set<number>();
    await w.waitFor((l) => {
      if (l.event === 'sync' && l.kind === 'targeted' && (l.outcome === 'ok' || l.outcome === 'item_errors')) for (const id of l.ids as number[]) done.add(id);
      return [...named].every((id) => done.has(id));
    }, 60_000, mark);
    await waitQueueEmpty(w.url);
    // Coalesced: 98 events for 12 work packages became a handful of targeted syncs.
    const targeted = syncLines(w, 'targeted').filter((l) => w.lines.indexOf(l) >= mark);
    expect(targeted.length).toBeGreaterThanOrEqual(1);
    expect(targeted.length).toBeLessThanOrEqual(5);
    expect(new Set(targeted.flatMap((l) => l.ids as number[]))).toEqual(new Set([...edited, ...withAttachment]));
    // Targeted means targeted: whatever requests the engine makes, every work package it
    // reads or lists is one of the queued ids (an ordinary sync would list whole projects).
    const queued = new Set([...edited, ...withAttachment]);
    const requests = sim.log();
    const reads = requests.filter((r) => r.route === 'work_package').map((r) => Number(/\/work_packages\/(\d+)/.exec(r.path)![1]));
    for (const id of reads) expect(queued.has(id), `read #${id}`).toBe(true);
    const listings = requests.filter((r) => r.route === 'work_packages').map((r) => decodeURIComponent(r.path.replace(/\+/g, ' ')));
    expect(listings.length + reads.length).toBeGreaterThan(0);
    for (const l of listings) {
      const m = /"id":\{"operator":"=","values":\[([^\]]*)\]/.exec(l);
      expect(m, l).not.toBeNull();
      for (const id of JSON.parse(`[${m![1]}]`) as (string | number)[]) expect(queued.has(Number(id)), `listed #${id}`).toBe(true);
    }
    // Deletions have no webhook: only the reconciliation removes their files.
    await reconcileOnce(w);
    expect(diffTrees(await treeHashes(out), await freshTree(sim, dir))).toEqual(same);
    const owned = await ownedIds(out);
    for (const d of deleted) expect(owned).not.toContain(d);
  });

  it('waits while another sync holds the lock, then applies the edit (never two writers)', async () => {
    const { sim, out, dir, w } = await setup();
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: WEBHOOK_SECRET });
    const { acquireLock } = await import('../../src/output/lock.js');
    const lock = await acquireLock(out); // what a cron `curate sync` holds while it runs
    const before = await treeHashes(out);
    const mark = w.lines.length;
    editDescription(sim, 1013, 'Edited while a cron sync held the lock.');
    await sim.webhooks.flush();
    await w.waitFor((l) => l.event === 'sync' && l.outcome === 'locked', 10_000, mark);
    // It keeps trying without writing: wait for a second refused attempt (counted in the
    // metrics, logged once) rather than for a fixed time.
    await waitForMetric(w.url, /^curate_watch_syncs_total\{kind="targeted",outcome="locked"\} ([2-9]|\d\d+)$/m);
    expect(await treeHashes(out)).toEqual(before);
    expect(JSON.parse((await request(`${w.url}/healthz`)).body).queued).toBe(1);
    await lock.release();
    await w.waitFor((l) => l.event === 'sync' && l.kind === 'targeted' && l.outcome === 'ok', 10_000, mark);
    // One "waits" line for the whole wait, however many retries it took.
    expect(w.lines.slice(mark).filter((l) => l.outcome === 'locked')).toHaveLength(1);
    expect(diffTrees(await treeHashes(out), await freshTree(sim, dir))).toEqual(same);
  });

  it('a cron `curate sync` running beside the watcher never corrupts the tree (it exits 0 or 3)', async () => {
    // Slow enough that runs overlap both ways: crons finding the watcher's lock, the watcher
    // finding a cron's (each round's reconciliation starts while a cron run holds the lock,
    // which takes several sequential requests at 30 ms each to let go).
    const { sim, out, dir, w, env } = await setup({ latencyMs: 30 });
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: WEBHOOK_SECRET });
    const ids = await ownedIds(out);
    const codes: (number | null)[] = [];
    for (let round = 0; round < 3; round++) {
      let cronsEnded = false;
      const crons = Promise.all([0, 1].map(() => runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW], { env }))).finally(() => (cronsEnded = true));
      // Edits (webhooks) and a reconciliation land while a cron run holds the lock. When the
      // watcher still holds it from the round before, both crons exit 3 at once (the other
      // direction of the overlap): once they have ended no cron can hold the lock, so the
      // edits go ahead then (waiting out the 10 s, as before, cost a quiet machine 10 s).
      const until = Date.now() + 10_000;
      while (!cronsEnded && Date.now() < until) {
        const holder = await readFile(path.join(out, '.curate', 'lock'), 'utf8').then(
          (t) => (/"pid":(\d+)/.exec(t) ? Number(/"pid":(\d+)/.exec(t)![1]) : null), // may be half written
          () => null,
        );
        if (holder !== null && holder !== w.child.pid) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      for (const id of ids.slice(round * 3, round * 3 + 3)) editDescription(sim, id, `cron round ${round}`);
      w.child.kill('SIGHUP');
      for (const r of await crons) {
        codes.push(r.code);
        if (r.code === 3) expect(r.stderr).toMatch(/another curate sync .* is writing to this output root/);
      }
    }
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true);
    // The watcher did meet a cron run's lock (and waited instead of writing).
    expect(w.lines.filter((l) => l.event === 'sync' && l.outcome === 'locked').length).toBeGreaterThan(0);
    await sim.webhooks.flush();
    await waitQueueEmpty(w.url);
    await reconcileOnce(w);
    expect(diffTrees(await treeHashes(out), await freshTree(sim, dir))).toEqual(same);
    expect(w.lines.filter((l) => l.event === 'sync' && l.outcome === 'failed')).toEqual([]);
  });
});

describe('curate watch: interruptions', () => {
  async function bigSetup(latencyMs: number, workPackages: number): Promise<{ sim: Simulator; out: string; dir: string; env: NodeJS.ProcessEnv }> {
    const { generateDataset, startSimulator } = await import('../../src/simulator/index.js');
    const sim = await startSimulator({ dataset: generateDataset({ workPackages, seed: 7 }), apiKey: TEST_KEY, latencyMs });
    cleanups.push(() => sim.close());
    const { dir, cleanup } = await tempDir('curate-watch-');
    cleanups.push(cleanup);
    const out = path.join(dir, 'site');
    await mkdir(out);
    return { sim, out, dir, env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET } };
  }
  const args = (out: string): string[] => ['--config', MEDIGY_CONFIG, '--out', out, '--now', NOW];
  const countFiles = async (out: string): Promise<number> => (await treeHashes(out)).size;

  it('kill -9 of the watcher in the middle of an apply, then a restart, converges', async () => {
    // 300 work packages (about 900 files): an apply long enough (hundreds of ms) for a kill
    // seen at its first renamed folder to land inside it.
    const { sim, out, dir, env } = await bigSetup(0, 300);
    const fresh = await freshTree(sim, dir);
    // The apply renames staged files into place: the first content folder marks its start, and
    // inotify says so at once (the readdir loop this replaced spun a CPU through the whole
    // reconciliation, and on a loaded machine once saw the folder only after all 608 files
    // were in place: "expected 608 to be less than 608"). The kill must land before the apply
    // ends; when the machine is so loaded that it does not, the attempt starts over (the
    // scenario did not happen; nothing is wrong), at most three times.
    let partial = fresh.size;
    for (let attempt = 1; attempt <= 3 && partial >= fresh.size; attempt++) {
      for (const e of await readdir(out)) await rm(path.join(out, e), { recursive: true, force: true });
      const w = await startWatch(args(out), env);
      cleanups.push(async () => {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await w.exited;
      });
      await new Promise<void>((resolve, reject) => {
        const watcher = watch(out, (_event, name) => {
          if (name && name !== '.curate' && existsSync(path.join(out, name))) {
            w.child.kill('SIGKILL');
            watcher.close();
            resolve();
          }
        });
        void w.exited.then(() => {
          watcher.close();
          reject(new Error('the watcher exited early'));
        });
      });
      await w.exited;
      partial = await countFiles(out);
      if (partial >= fresh.size) console.log(`kill -9 test: attempt ${attempt} landed after the apply (${partial} files); again`);
    }
    expect(partial).toBeLessThan(fresh.size); // it really was cut short
    expect(await readdir(path.join(out, '.curate'))).toContain('lock'); // a dead process's lock
    const again = await startWatch(args(out), env);
    cleanups.push(async () => {
      if (again.child.exitCode === null && again.child.signalCode === null) again.child.kill('SIGKILL');
      await again.exited;
    });
    await waitReady(again.url, 120_000);
    expect(again.lines.some((l) => l.event === 'warning' && /took over a stale lock left by pid/.test(String(l.message)))).toBe(true);
    expect(diffTrees(await treeHashes(out), fresh)).toEqual(same);
    again.child.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM during a sync: exit 0 within 5 s, the lock released, and the next start converges', async () => {
    // 40 work packages; the server holds every download until SIGTERM, so the first
    // reconciliation is under way (healthz 503) however late the signal comes on a busy
    // machine, with requests in flight for the stop to end. (300 work packages at 10 ms a
    // request only made a long run likely, and the restart and the oracle paid for them.)
    const { sim, out, dir, env } = await bigSetup(10, 40);
    sim.inject({ route: 'content', kind: 'stall', stallMs: 60_000 });
    const { requestHooks } = await import('../../src/simulator/hooks.js');
    const downloading = new Promise<void>((resolve) => requestHooks(sim).at('content', 1, () => resolve()));
    const w = await startWatch(args(out), env);
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    await downloading;
    expect((await request(`${w.url}/healthz`)).status).toBe(503);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await readdir(path.join(out, '.curate')).catch(() => [])).not.toContain('lock');
    expect(w.lines.some((l) => l.event === 'stopped')).toBe(true);
    sim.clearFaults();
    sim.endStalls();
    const again = await startWatch(args(out), env);
    cleanups.push(async () => {
      if (again.child.exitCode === null && again.child.signalCode === null) again.child.kill('SIGKILL');
      await again.exited;
    });
    await waitReady(again.url, 120_000);
    expect(diffTrees(await treeHashes(out), await freshTree(sim, dir))).toEqual(same);
  });
});
