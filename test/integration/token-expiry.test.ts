// Issue 19 failure 14: OAuth access tokens expire (after hours). A long-running `curate watch`
// with a bearer token must pick up a renewed token or fail clearly, never silently on every
// event. The token can be given as a file (OPENPROJECT_TOKEN_FILE) that a sidecar renews:
// curate reads it at start and again after every 401. The simulator's setApiKey() models the
// server accepting only the renewed token.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenProjectClient } from '../../src/openproject/index.js';
import { LEGACY_NOW, MEDIGY_CONFIG, tempDir } from '../helpers/env.js';
import { startFixtureSimulator } from '../helpers/sync-harness.js';
import { request, startWatch, waitReady, WEBHOOK_SECRET, type LogLine, type RunningWatch } from '../helpers/watch-harness.js';

const TOKEN_A = 'opapi-oauth-like-token-AAAA-1111';
const TOKEN_B = 'opapi-oauth-like-token-BBBB-2222';
const TOKEN_C = 'opapi-oauth-like-token-CCCC-3333';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('an expiring bearer token (issue 19 #14)', () => {
  it('client: a token renewed in OPENPROJECT_TOKEN_FILE is read again after a 401 and the request repeated once; a refused one names the file and the cause', async () => {
    const sim = await startFixtureSimulator({ apiKey: TOKEN_A });
    const { dir, cleanup } = await tempDir();
    const file = path.join(dir, 'token');
    await writeFile(file, `${TOKEN_A}\n`);
    const client = createOpenProjectClient({ baseUrl: sim.url, tokenFile: file, retries: 2, backoffBaseMs: 1 });
    try {
      expect((await client.listTypes()).length).toBeGreaterThan(0);
      sim.setApiKey(TOKEN_B);
      await writeFile(file, TOKEN_B);
      sim.resetCounts();
      expect((await client.listTypes()).length).toBeGreaterThan(0);
      expect(sim.log().map((r) => r.status)).toEqual([401, 200]);

      sim.setApiKey(TOKEN_C);
      const e = await client.listTypes().then(
        () => null,
        (x: unknown) => x as Error,
      );
      expect(e?.message).toMatch(/401/);
      expect(e?.message).toContain('OPENPROJECT_TOKEN_FILE');
      expect(e?.message).toContain(file);
      expect(e?.message).toMatch(/expires/);
      for (const t of [TOKEN_A, TOKEN_B, TOKEN_C]) expect(e?.message).not.toContain(t);
    } finally {
      await client.close();
      await sim.close();
      await cleanup();
    }
  });

  it('curate watch: renewed in the file → the next run syncs without a restart; expired → a clear log line naming the cause and the variable, /healthz degraded; renewed again → ok', async () => {
    const sim = await startFixtureSimulator({ apiKey: TOKEN_A });
    cleanups.push(() => sim.close());
    const { dir, cleanup } = await tempDir('curate-watch-token-');
    cleanups.push(cleanup);
    const out = path.join(dir, 'site');
    await mkdir(out);
    const file = path.join(dir, 'token');
    await writeFile(file, `${TOKEN_A}\n`);
    const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_TOKEN_FILE: file, OPENPROJECT_WEBHOOK_SECRET: WEBHOOK_SECRET };
    const w: RunningWatch = await startWatch(['--config', MEDIGY_CONFIG, '--out', out, '--now', LEGACY_NOW.toISOString()], env);
    cleanups.push(async () => {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    });
    await waitReady(w.url);
    const reconcile = async (): Promise<LogLine> => {
      const mark = w.lines.length;
      w.child.kill('SIGHUP');
      return w.waitFor((l) => l.event === 'sync' && l.kind === 'reconcile' && l.outcome !== 'locked', 60_000, mark);
    };
    const health = async (): Promise<{ status: string }> => JSON.parse((await request(`${w.url}/healthz`)).body) as { status: string };

    // Renewed by a sidecar: used without a restart.
    sim.setApiKey(TOKEN_B);
    await writeFile(file, TOKEN_B);
    const renewed = await reconcile();
    expect(renewed.outcome, JSON.stringify(renewed)).toBe('ok');
    expect((await health()).status).toBe('ok');

    // Expired and not renewed: the run fails with a line that says why and what to renew.
    sim.setApiKey(TOKEN_C);
    const failed = await reconcile();
    expect(failed.outcome).toBe('failed');
    expect(failed.level).toBe('error');
    expect(failed.message).toMatch(/401/);
    expect(failed.message).toContain('OPENPROJECT_TOKEN_FILE');
    expect(failed.message).toMatch(/expires/);
    expect((await health()).status).toBe('degraded');

    // Renewed: healthy again.
    await writeFile(file, TOKEN_C);
    expect((await reconcile()).outcome).toBe('ok');
    expect((await health()).status).toBe('ok');

    const everything = JSON.stringify(w.lines) + w.stderr();
    for (const t of [TOKEN_A, TOKEN_B, TOKEN_C]) expect(everything).not.toContain(t);
  }, 120_000);
});
