// The real CLI on a real pseudo-terminal (see helpers/pty.ts), as a person uses it:
// Ctrl-C stops a sync and cleans up, a second Ctrl-C quits at once, SIGTERM likewise;
// progress a person can read; Ctrl-C / Ctrl-D at an init prompt; colours on and off.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHooks } from '../../src/simulator/hooks.js';
import { generateDataset, startSimulator, type RouteName, type Simulator } from '../../src/simulator/index.js';
import { BIN, MEDIGY_CONFIG, runCli, tempDir } from '../helpers/env.js';
import { curateCmd, onPty, plain } from '../helpers/pty.js';

const KEY = 'opapi-terminal-test-key-51c2';
const NOW = '2021-02-19T00:00:00Z';
/** Any colour or style (SGR) sequence. */
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/;

let slow: Simulator;
let tiny: Simulator;
let slowEnv: NodeJS.ProcessEnv;
let tinyEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  // 300 work packages at 40 ms a request and 2 requests at a time: a sync of half a minute.
  slow = await startSimulator({ dataset: generateDataset({ workPackages: 300, seed: 7 }), apiKey: KEY, latencyMs: 40 });
  // Six work packages (a dozen files to create): enough for a coloured diff, a summary and
  // init's prompts, for tests about how output looks, not what it says about the data (each
  // run ~0.15 CPU s cheaper than one of the fixtures).
  tiny = await startSimulator({ dataset: generateDataset({ workPackages: 6, seed: 3 }), apiKey: KEY });
  slowEnv = { OPENPROJECT_URL: slow.url, OPENPROJECT_API_KEY: KEY };
  tinyEnv = { OPENPROJECT_URL: tiny.url, OPENPROJECT_API_KEY: KEY };
});
afterAll(async () => {
  await slow.close();
  await tiny.close();
});

/** What a stopped sync must not leave: its lock, staging folders, temp files. */
async function leftovers(root: string, options: { staging: boolean } = { staging: true }): Promise<string[]> {
  const state = path.join(root, '.curate');
  if (!existsSync(state)) return [];
  const left = (await readdir(state)).filter((n) => n === 'lock' || (options.staging && n.startsWith('staging')) || n === 'tmp');
  // What is inside says which step was still writing (for the engine's owner).
  return Promise.all(left.map(async (n) => (n === 'lock' ? `.curate/${n}` : `.curate/${n}/ [${(await readdir(path.join(state, n))).join(' ')}]`)));
}

/** Resolves when the next request to `route` reaches the simulator (the event, not a guess at how long it takes). */
const nextRequest = (sim: Simulator, route: RouteName): Promise<void> => new Promise((resolve) => requestHooks(sim).at(route, 1, () => resolve()));

const syncArgs = (out: string, extra: string[] = []): string[] => ['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--concurrency', '2', ...extra];

describe('Ctrl-C and SIGTERM during a sync', () => {
  it('Ctrl-C on a terminal stops the sync within 2 s with status 130; no lock or temp file is left', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const run = onPty(curateCmd(syncArgs(dir)), slowEnv);
      // Mid-run: work packages done and downloads in flight.
      await run.waitFor(/[1-9]\d*\/\d+ work packages, \d+ files written, [1-9][\d.]* MB downloaded/);
      const pressed = performance.now();
      run.type('\x03');
      const r = await run.done;
      expect(r.code, plain(r.out).slice(-1500)).toBe(130);
      expect(r.endedAt - pressed).toBeLessThan(2000);
      expect(await leftovers(dir, { staging: true })).toEqual([]);
      const text = plain(r.out);
      expect(text).toMatch(/interrupted: stopping/);
      expect(text).not.toMatch(/internal error|did not stop within/);
      expect(r.out).toContain('\x1b[?25h'); // the cursor the spinner hid is shown again
    } finally {
      await cleanup();
    }
  }, 90_000);

  it('no staging folder is left after Ctrl-C, in eight tries', async () => {
    // Eight independent runs, four at a time: each is stopped mid-run (downloads in flight),
    // and the runs beside it make each stop land at a different moment of its sync.
    const attempt = async (i: number): Promise<void> => {
      const { dir, cleanup } = await tempDir();
      try {
        const run = onPty(curateCmd(syncArgs(dir)), slowEnv);
        await run.waitFor(/[1-9]\d*\/\d+ work packages, \d+ files written, [1-9][\d.]* MB downloaded/);
        run.type('\x03');
        expect((await run.done).code, `try ${i + 1}`).toBe(130);
        expect(await leftovers(dir), `try ${i + 1}`).toEqual([]);
      } finally {
        await cleanup();
      }
    };
    for (const wave of [[0, 1, 2, 3], [4, 5, 6, 7]]) await Promise.all(wave.map(attempt));
  }, 120_000);

  // The binary end to end. Since the first Ctrl-C cancels the requests in flight, the first
  // stop is usually over before a second key matters (the test then passes even if a second
  // Ctrl-C were ignored): the rule itself is held by test/unit/cli-interrupt.test.ts.
  it('a second Ctrl-C quits at once, while the first is still stopping', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Every download stalls: the first Ctrl-C has requests in flight to wait for.
      slow.inject({ route: 'content', kind: 'stall', stallMs: 20_000 });
      // The first download reaching the server: from then on the run has a request in flight.
      const downloading = nextRequest(slow, 'content');
      const run = onPty(curateCmd(syncArgs(dir)), slowEnv);
      await downloading;
      run.type('\x03');
      await run.waitFor(/interrupted: stopping/);
      const second = performance.now();
      run.type('\x03');
      const r = await run.done;
      expect(r.code, plain(r.out).slice(-1500)).toBe(130);
      expect(r.endedAt - second).toBeLessThan(1000);
    } finally {
      slow.clearFaults();
      await cleanup();
    }
  }, 90_000);

  it('SIGTERM (a service manager, `timeout`) stops the sync within 2 s with status 143 and cleans up', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const downloading = nextRequest(slow, 'content');
      const child = spawn(process.execPath, [BIN, ...syncArgs(dir)], { env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', ...slowEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.resume();
      const ended = new Promise<{ code: number | null; at: number }>((resolve) => child.on('close', (code) => resolve({ code, at: performance.now() })));
      // Terminate once work is under way: the lock is held and downloads reach the server.
      await downloading;
      expect(await leftovers(dir)).toContain('.curate/lock');
      const sent = performance.now();
      child.kill('SIGTERM');
      const r = await ended;
      expect(r.code, err).toBe(143);
      expect(r.at - sent).toBeLessThan(2000);
      expect(err).toMatch(/terminated \(SIGTERM\): stopping/);
      expect(await leftovers(dir, { staging: true })).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 60_000);
});

describe('progress', () => {
  it('on a terminal: work packages done of the total, files written, MB downloaded and an ETA; the summary is the last line, after the file list', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sim = await startSimulator({ dataset: generateDataset({ workPackages: 40, seed: 3 }), apiKey: KEY, latencyMs: 40 });
      try {
        const run = onPty(curateCmd(syncArgs(dir)), { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY });
        const r = await run.done;
        expect(r.code, plain(r.out).slice(-1500)).toBe(0);
        const text = plain(r.out);
        expect(text.slice(0, 3000)).toMatch(/syncing: [1-9]\d*\/\d+ work packages, \d+ files written, [\d.]+ MB downloaded, ETA \d+ s/);
        const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
        expect(lines.at(-1)).toMatch(/^✔ sync done: \d+ created, 0 updated, 0 deleted, 0 unchanged \(\d+ requests, [\d.]+ s\)$/);
        expect(lines.findIndex((l) => l.startsWith('Plan: '))).toBeGreaterThan(-1);
        expect(lines.findLastIndex((l) => l.startsWith('+ '))).toBeLessThan(lines.length - 1);
      } finally {
        await sim.close();
      }
    } finally {
      await cleanup();
    }
  }, 90_000);

  // The 10 s rhythm of the progress line (and its wording) is the Output class's, tested with
  // fake timers in test/unit/cli-progress.test.ts; here, what the binary prints off a terminal.
  it('off a terminal: timestamped plain lines (the first names the sync), no escape codes; nothing with --quiet', async () => {
    const a = await tempDir();
    const b = await tempDir();
    try {
      const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', ...tinyEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (code) => resolve({ code, stdout, stderr }));
        });
      const [plainRun, quietRun] = await Promise.all([run(syncArgs(a.dir)), run(syncArgs(b.dir, ['--quiet']))]);
      expect(plainRun.code, plainRun.stderr).toBe(0);
      const lines = plainRun.stderr.split('\n').filter(Boolean);
      expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z syncing…$/);
      for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \S/);
      expect(lines.at(-1)).toMatch(/Z sync done: [1-9]\d* created/);
      expect((plainRun.stdout + plainRun.stderr).match(SGR)?.[0]).toBeUndefined();
      expect(quietRun.code, quietRun.stderr).toBe(0);
      expect(quietRun.stdout).toBe('');
      expect(quietRun.stderr).toBe('');
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  }, 60_000);
});

describe('init prompts', () => {
  for (const [key, name] of [
    ['\x03', 'Ctrl-C'],
    ['\x04', 'Ctrl-D'],
  ] as const) {
    it(`${name} at a prompt exits 130 quietly and writes nothing`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const run = onPty(curateCmd(['init', '--url', tiny.url]), tinyEnv, { cwd: dir });
        await run.waitFor(/Projects to sync/);
        run.type(key);
        const r = await run.done;
        expect(r.code, plain(r.out)).toBe(130);
        expect(plain(r.out)).not.toMatch(/error/i);
        expect(existsSync(path.join(dir, 'curate.config.yaml'))).toBe(false);
      } finally {
        await cleanup();
      }
    }, 30_000);
  }
});

describe('colour', () => {
  const dry = (dir: string, extra: string[] = []): string[] => ['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', NOW, '--dry-run', ...extra];

  it('on a terminal the diff and the final mark are coloured; --no-color, NO_COLOR=1 and FORCE_COLOR=0 remove every colour', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Dry runs write nothing: all five share the folder and run at once.
      const plainVariants = [
        [['--no-color'], {}],
        [[], { NO_COLOR: '1' }],
        [[], { FORCE_COLOR: '0' }],
        [['--no-color'], { FORCE_COLOR: '1' }],
      ] as const;
      const [coloured, ...plainRuns] = await Promise.all([onPty(curateCmd(dry(dir)), tinyEnv).done, ...plainVariants.map(([extra, env]) => onPty(curateCmd(dry(dir, [...extra])), { ...tinyEnv, ...env }).done)]);
      expect(coloured!.code).toBe(2);
      expect(coloured!.out).toContain('\x1b[32m+');
      expect(coloured!.out).toMatch(/\x1b\[3\dm✔/); // eslint-disable-line no-control-regex
      plainRuns.forEach((r, i) => {
        const [extra, env] = plainVariants[i]!;
        expect(r.code).toBe(2);
        expect(r.out.match(SGR)?.[0], `${extra.join(' ')} ${JSON.stringify(env)}`).toBeUndefined();
        expect(r.out).toContain('✔ dry run done');
      });
    } finally {
      await cleanup();
    }
  }, 90_000);

  it('FORCE_COLOR colours the diff in a pipe', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const r = await runCli(dry(dir), { env: { ...tinyEnv, FORCE_COLOR: '1' } });
      expect(r.code).toBe(2);
      expect(r.stdout).toContain('\x1b[32m+');
      const off = await runCli(dry(dir), { env: tinyEnv });
      expect(off.stdout.match(SGR)?.[0]).toBeUndefined();
    } finally {
      await cleanup();
    }
  }, 60_000);
});
