// `curate watch --git-commit` as a service publishes: when commits keep failing, /healthz
// says so (503 "failing", the last error) instead of "ok"; once fixed, the next run
// (SIGHUP: reconcile now) commits what was left and health is "ok" again. Real binary,
// simulator webhooks, a real git repository.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, git, LEGACY_NOW, MEDIGY_CONFIG, tempDir } from '../helpers/env.js';
import { startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';
import { request, startWatch, waitReady, WEBHOOK_SECRET } from '../helpers/watch-harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('curate watch --git-commit: health follows publishing', () => {
  it('failing commits make /healthz answer 503 "failing" with the error; after the fix a SIGHUP commits the leftovers and it is "ok"', async () => {
    const sim = await startFixtureSimulator();
    cleanups.push(() => sim.close());
    const { dir, cleanup } = await tempDir('curate-watch-publish-');
    cleanups.push(cleanup);
    const out = path.join(dir, 'site');
    await mkdir(out);
    await git(out, ['init', '-q']);
    const w = await startWatch(['--config', MEDIGY_CONFIG, '--out', out, '--now', LEGACY_NOW.toISOString(), '--git-commit'], { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', HOME: dir });
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    const ready = await waitReady(w.url);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', lastError: null, failuresInARow: { syncs: 0, commits: 0 } });

    // The repository starts refusing commits (here a hook; in life a lost identity, a full disk, a permission).
    const hook = path.join(out, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, '#!/bin/sh\necho "commits are refused here" >&2\nexit 1\n', { mode: 0o755 });
    sim.webhooks.configure({ url: `${w.url}/webhook`, secret: WEBHOOK_SECRET });
    let mark = w.lines.length;
    sim.updateWorkPackage(1013, (wp) => {
      wp.subject = 'Edited while commits fail';
    });
    await sim.webhooks.flush();
    const failed = await w.waitFor((l) => l.event === 'commit', 20_000, mark);
    expect(failed.error).toMatch(/git commit failed: commits are refused here\. The \d+ file\(s\) are written but not committed/);
    const health = await request(`${w.url}/healthz`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'failing', failuresInARow: { commits: 1 }, lastError: { message: expect.stringMatching(/^git commit failed: .*commits are refused here/) as unknown } });
    expect((await request(`${w.url}/metrics`)).body).toMatch(/^curate_watch_git_commits_failed_total 1$/m);
    expect((await git(out, ['status', '--porcelain'])).trim()).not.toBe('');

    // Fixed: a reconciliation (SIGHUP to the process) writes nothing new but commits what was left.
    await rm(hook);
    mark = w.lines.length;
    w.child.kill('SIGHUP');
    const committed = await w.waitFor((l) => l.event === 'commit', 30_000, mark);
    expect(committed.subject).toBe('curate: update "Edited while commits fail" (#1013)');
    expect((await git(out, ['log', '-1', '--format=%B'])).trim()).toMatch(/Includes \d+ files curate wrote in earlier runs[\s\S]*curate watch: reconciliation$/);
    expect((await git(out, ['status', '--porcelain'])).trim()).toBe('');
    const healed = await request(`${w.url}/healthz`);
    expect(healed.status).toBe(200);
    expect(JSON.parse(healed.body)).toMatchObject({ status: 'ok', failuresInARow: { syncs: 0, commits: 0 } });
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('syncs that keep failing: one failure is "degraded" (200), two in a row "failing" (503) with the error; a good run is "ok" again', async () => {
    const sim = await startFixtureSimulator();
    cleanups.push(() => sim.close());
    const { dir, cleanup } = await tempDir('curate-watch-publish-');
    cleanups.push(cleanup);
    const out = path.join(dir, 'site');
    await mkdir(out);
    const config = path.join(dir, 'curate.config.yaml');
    await writeFile(config, (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^openproject:\n/m, 'openproject:\n  retries: 0\n'));
    const w = await startWatch(['--config', config, '--out', out, '--now', LEGACY_NOW.toISOString()], { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET });
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    await waitReady(w.url);
    const reconcile = async (): Promise<string> => {
      const mark = w.lines.length;
      w.child.kill('SIGHUP');
      const line = await w.waitFor((l) => l.event === 'sync' && l.kind === 'reconcile', 30_000, mark);
      return String(line.outcome);
    };
    sim.inject({ route: 'projects', kind: 'status', status: 500 });
    expect(await reconcile()).toBe('failed');
    let h = await request(`${w.url}/healthz`);
    expect(h.status).toBe(200);
    expect(JSON.parse(h.body)).toMatchObject({ status: 'degraded', failuresInARow: { syncs: 1 }, lastError: { message: expect.stringMatching(/500/) as unknown } });
    expect(await reconcile()).toBe('failed');
    h = await request(`${w.url}/healthz`);
    expect(h.status).toBe(503);
    expect(JSON.parse(h.body)).toMatchObject({ status: 'failing', failuresInARow: { syncs: 2 } });
    sim.clearFaults();
    expect(await reconcile()).toBe('ok');
    h = await request(`${w.url}/healthz`);
    expect(h.status).toBe(200);
    expect(JSON.parse(h.body)).toMatchObject({ status: 'ok', failuresInARow: { syncs: 0, commits: 0 } });
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('refuses to start when git cannot commit (no identity): says so at once instead of serving "ok"', async () => {
    const sim = await startFixtureSimulator();
    cleanups.push(() => sim.close());
    const { dir, cleanup } = await tempDir('curate-watch-publish-');
    cleanups.push(cleanup);
    const out = path.join(dir, 'site');
    await mkdir(out);
    await git(out, ['init', '-q']);
    // The real binary; killed at the end should it (wrongly) keep serving.
    const child = spawn(process.execPath, [BIN, 'watch', '--config', MEDIGY_CONFIG, '--out', out, '--listen', '127.0.0.1:0', '--git-commit'], { env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const r = { code, stderr };
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--git-commit: git has no author identity (to commit with|configured)/);
  }, 30_000);
});
