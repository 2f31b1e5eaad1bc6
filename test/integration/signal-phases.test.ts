// Issue 19 failure 11: SIGTERM or Ctrl-C while `sync --full` lists on a slow server must keep
// the promise of every other phase: exit 143 / 130 within 2 s, lock and staging removed.
// The cause was that nothing aborted the HTTP requests of a run: a listing page (or an
// attachment listing, or a download) the server was slow to answer held the run until it
// came, past the 2 s watchdog, which then exited without removing the lock and staging.
// Here the server (30 ms a request) holds the request of the phase under test for 20 s,
// and the signal is sent the moment that request arrives (no fixed sleeps).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, startSimulator, type RouteName, type Simulator } from '../../src/simulator/index.js';
import { BIN, MEDIGY_CONFIG, runCli, tempDir } from '../helpers/env.js';

const KEY = 'opapi-signal-phase-key-8f3e';
const NOW = '2021-02-19T00:00:00Z';

let sim: Simulator;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  // 150 work packages in pages of 20 at 30 ms a request: several full pages per run (the
  // chronic-care-management source alone lists over 100). Small pages, not a big dataset,
  // make the phases: the first sync and each stopped run stay cheap.
  sim = await startSimulator({ dataset: generateDataset({ workPackages: 150, seed: 11 }), apiKey: KEY, latencyMs: 30, maxPageSize: 20 });
  env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY };
});
afterAll(async () => {
  await sim?.close();
});

async function leftovers(root: string): Promise<string[]> {
  const state = path.join(root, '.curate');
  if (!existsSync(state)) return [];
  const left = (await readdir(state)).filter((n) => n !== 'manifest.json' && n !== 'work-packages' && n !== 'local').map((n) => `.curate/${n}`);
  // This machine's folder stamps (a run that wrote its state records them): that, and nothing else there.
  if (existsSync(path.join(state, 'local')))
    for (const n of await readdir(path.join(state, 'local'))) if (n !== '.gitignore' && n !== 'folder-stamps.json' && n !== 'listings.json') left.push(`.curate/local/${n}`);
  return left;
}

/** Which request marks the phase: its route, and for list pages whether it is the id listing (select) and which page. */
interface Phase {
  route: RouteName;
  list?: { select: boolean; page?: number };
}

/**
 * Run `curate sync ARGS`; `signal` is sent as the first request of `phase` arrives, and the
 * server holds every request of that route from then on for 20 s. Resolves with the exit status, the time from the signal to
 * the exit, and stderr.
 */
async function stopAt(root: string, args: string[], phase: Phase, signal: 'SIGTERM' | 'SIGINT'): Promise<{ code: number | null; ms: number; err: string; sent: boolean }> {
  // A request of the previous test's process still being answered would trip this test's
  // trigger and signal the new process before it runs (exit by the signal's default
  // action, seen once on a busy machine): start only once the server has answered it all.
  for (let i = 0; i < 500 && sim.log().some((r) => r.endMs === undefined); i++) await new Promise((r) => setTimeout(r, 10));
  const child = spawn(process.execPath, [BIN, 'sync', '--config', MEDIGY_CONFIG, '--out', root, '--now', NOW, '--concurrency', '4', ...args], { env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.resume();
  let sentAt: number | null = null;
  const send = (): void => {
    sentAt = performance.now();
    child.kill(signal);
  };
  // A list page is recognised by its query (the hook sees it as it arrives); other routes by
  // the fault's match. From the signal on, every request of the route is held for 20 s.
  if (phase.list) sim.onListPage((page, url) => void (sentAt === null && url.searchParams.has('select') === phase.list!.select && (phase.list!.page === undefined || page === phase.list!.page) && send()));
  sim.inject({
    route: phase.route,
    kind: 'stall',
    stallMs: 20_000,
    match: () => {
      if (sentAt === null && !phase.list) send();
      return sentAt !== null;
    },
  });
  try {
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    return { code, ms: sentAt === null ? -1 : performance.now() - sentAt, err, sent: sentAt !== null };
  } finally {
    sim.onListPage(null);
    sim.clearFaults();
  }
}

async function expectStopped(root: string, r: Awaited<ReturnType<typeof stopAt>>, signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  expect(r.sent, r.err).toBe(true);
  expect(r.err).not.toMatch(/did not stop within/);
  expect(r.code, r.err).toBe(signal === 'SIGTERM' ? 143 : 130);
  expect(r.ms, r.err).toBeLessThan(2000);
  expect(await leftovers(root)).toEqual([]);
}

describe('a signal in every phase of a sync on a slow server (issue 19 #11)', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    const first = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', root, '--now', NOW], { env });
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await cleanup?.();
  });

  const full: [string, Phase, 'SIGTERM' | 'SIGINT'][] = [
    ['SIGTERM while the id listing is answered', { route: 'work_packages', list: { select: true } }, 'SIGTERM'],
    ['SIGTERM while the first full page is answered', { route: 'work_packages', list: { select: false, page: 1 } }, 'SIGTERM'],
    ['SIGINT while the second full page is answered', { route: 'work_packages', list: { select: false, page: 2 } }, 'SIGINT'],
    ['SIGTERM while an attachment list is answered', { route: 'attachments' }, 'SIGTERM'],
  ];
  it.each(full)('sync --full: %s: exit within 2 s, lock and staging removed', async (_what, phase, signal) => {
    await expectStopped(root, await stopAt(root, ['--full'], phase, signal), signal);
  }, 60_000);

  it('an incremental sync: SIGTERM while the changes walk is answered', async () => {
    await expectStopped(root, await stopAt(root, [], { route: 'work_packages', list: { select: false } }, 'SIGTERM'), 'SIGTERM');
  }, 60_000);

  it('a cold sync: SIGINT while a download is answered', async () => {
    const fresh = await tempDir();
    try {
      await expectStopped(fresh.dir, await stopAt(fresh.dir, [], { route: 'content' }, 'SIGINT'), 'SIGINT');
    } finally {
      await fresh.cleanup();
    }
  }, 60_000);

  it('after all that, a sync converges (exit 0)', async () => {
    const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', root, '--now', NOW], { env });
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
});

describe('the client stops with its signal (the cause of #11)', () => {
  const waitForLog = async (ok: (r: { route: string; status: number }) => boolean): Promise<void> => {
    for (let i = 0; i < 300 && !sim.log().some(ok); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('a request in flight and a queued one end at once with the abort reason; a retry wait too', async () => {
    const { createOpenProjectClient } = await import('../../src/openproject/index.js');
    const ac = new AbortController();
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, concurrency: 1, retries: 5, signal: ac.signal });
    const ac2 = new AbortController();
    const retrying = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, retries: 5, backoffBaseMs: 30_000, maxBackoffMs: 30_000, signal: ac2.signal });
    sim.inject({ route: 'types', kind: 'stall', stallMs: 20_000 });
    sim.inject({ route: 'statuses', kind: 'status', status: 503, retryAfter: 30 });
    try {
      const outcome = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: unknown) => e);
      // One slot: the stalled request holds it, the second waits in the queue.
      const inFlight = outcome(client.listTypes());
      const queued = outcome(client.listProjects());
      await waitForLog((r) => r.route === 'types');
      const reason = new Error('stop now');
      let at = performance.now();
      ac.abort(reason);
      expect(await Promise.all([inFlight, queued])).toEqual([reason, reason]);
      // At once, not when the stall ends (20 s): the bound leaves a loaded machine room.
      expect(performance.now() - at).toBeLessThan(5000);

      // A 503 with Retry-After: 30 puts the request into a 30 s wait, which the abort ends.
      const waiting = outcome(retrying.listStatuses());
      await waitForLog((r) => r.route === 'statuses' && r.status === 503);
      at = performance.now();
      ac2.abort(reason);
      expect(await waiting).toBe(reason);
      expect(performance.now() - at).toBeLessThan(5000); // not after the 30 s wait
    } finally {
      sim.clearFaults();
      await client.close();
      await retrying.close();
    }
  });
});

describe('curate watch stops in time while the server holds a request (#11, watch)', () => {
  it('SIGTERM while a reconciliation waits for a held listing: exit 0 within 5 s, "stopped" logged, no lock left', async () => {
    const { startFixtureSimulator, TEST_KEY } = await import('../helpers/sync-harness.js');
    const { startWatch, waitReady, WEBHOOK_SECRET } = await import('../helpers/watch-harness.js');
    const fixture = await startFixtureSimulator({ latencyMs: 30 });
    const { dir, cleanup } = await tempDir('curate-watch-stop-');
    const out = path.join(dir, 'site');
    try {
      const w = await startWatch(['--config', MEDIGY_CONFIG, '--out', out, '--now', NOW], { OPENPROJECT_URL: fixture.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET });
      try {
        await waitReady(w.url);
        let sentAt: number | null = null;
        fixture.inject({
          route: 'work_packages',
          kind: 'stall',
          stallMs: 20_000,
          match: () => {
            if (sentAt === null) {
              sentAt = performance.now();
              w.child.kill('SIGTERM');
            }
            return true;
          },
        });
        w.child.kill('SIGHUP');
        const exit = await w.exited;
        const ms = performance.now() - (sentAt ?? performance.now());
        expect(sentAt, w.stderr()).not.toBeNull();
        expect(exit.code, w.stderr()).toBe(0);
        expect(ms).toBeLessThan(5000);
        expect(w.lines.some((l) => l.event === 'stopped')).toBe(true);
        expect(await leftovers(out)).toEqual([]);
      } finally {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      }
    } finally {
      fixture.clearFaults();
      await fixture.close();
      await cleanup();
    }
  }, 60_000);
});
