// The real CLI (bin/curate.js, built) as a user and cron run it: help, version, exit
// statuses, --json, non-TTY output, init → doctor → sync, fields, --git-commit.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { BIN, FIXTURE_DATASET, git, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';

const KEY = 'opapi-cli-test-key-3e8d';
let sim: Simulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
  env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY };
});
afterAll(async () => {
  await sim.close();
});

describe('help, version, usage', () => {
  it('--version and --help for every command, with examples and exit statuses', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    for (const cmd of ['sync', 'init', 'doctor', 'fields']) {
      const h = await runCli([cmd, '--help']);
      expect(h.code, cmd).toBe(0);
      expect(h.stdout, cmd).toMatch(/Example/);
    }
    expect((await runCli(['sync', '--help'])).stdout).toMatch(/2\s+--dry-run found changes pending/);
  });

  it('bad usage exits 64 and says what to do', async () => {
    const r = await runCli(['sync', '--no-such-flag']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/unknown option/);
    expect((await runCli(['frobnicate'])).code).toBe(64);
  });
});

describe('curate sync', () => {
  it('exit statuses: dry run 2 with changes, 0 after the sync; --json is one JSON document; no escape codes off a terminal', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const base = ['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z'];
      const dry = await runCli([...base, '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(2);
      expect(dry.stdout).toMatch(/^Plan: \d+ to create/m);
      expect(dry.stdout).toMatch(/^diff --git a\//m);
      expect(dry.stdout + dry.stderr).not.toContain("\u001b["); // no ANSI escapes off a terminal
      const real = await runCli([...base, '--json'], { env });
      expect(real.code, real.stderr).toBe(0);
      const report = JSON.parse(real.stdout);
      expect(report.counts.total.create).toBeGreaterThan(40);
      expect(report.requests.total).toBeGreaterThan(0);
      expect(report.errors).toEqual([]);
      const again = await runCli([...base, '--dry-run'], { env });
      expect(again.code).toBe(0);
      const quiet = await runCli([...base, '--quiet'], { env });
      expect(quiet.code).toBe(0);
      expect(quiet.stdout + quiet.stderr).toBe('');
    } finally {
      await cleanup();
    }
  });

  it('a broken configuration: every problem at once, with file, line, key and what is expected', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, 'curate.config.yaml');
      await writeFile(
        file,
        ['openproject:', '  url: http://127.0.0.1:9', '  apiKey: hunter2', '  pagesize: 100', 'sources:', '  - name: a', '    projects: []', '    types: [Curated Content]', '    path: ../outside', 'profile:', '  name: nope', ''].join('\n'),
      );
      const r = await runCli(['sync', '--config', file], { env: {} });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/curate\.config\.yaml:3: openproject\.apiKey: secrets never go in the config file/);
      expect(r.stderr).toMatch(/curate\.config\.yaml:4: openproject\.pagesize: unknown key \(did you mean "pageSize"\?\)/);
      expect(r.stderr).toMatch(/sources\.0\.projects: name at least one project/);
      expect(r.stderr).toMatch(/profile\.name/);
      expect(r.stderr).not.toContain('hunter2');
      const missing = await runCli(['sync', '--config', path.join(dir, 'nope.yaml')]);
      expect(missing.stderr).toMatch(/no configuration file.*curate init/);
      const now = await runCli(['sync', '--config', MEDIGY_CONFIG, '--now', 'yesterday'], { env });
      expect(now.stderr).toMatch(/--now "yesterday" is not an ISO-8601/);
    } finally {
      await cleanup();
    }
  });

  it('an error under --json: exit 1, one JSON document on stdout naming the error, no secret anywhere; --verbose adds the cause chain', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const wrong = 'opapi-wrong-key-7f3a9c';
      const args = ['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z'];
      const r = await runCli([...args, '--json'], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: wrong } });
      expect(r.code, r.stderr).toBe(1);
      const doc = JSON.parse(r.stdout) as { exitCode: number; error: { code: string; message: string } };
      expect(doc.exitCode).toBe(1);
      expect(doc.error.code).toBe('OPENPROJECT');
      expect(doc.error.message).toMatch(/401/);
      expect(r.stdout + r.stderr).not.toContain(wrong);
      expect(r.stderr).toMatch(/check OPENPROJECT_API_KEY/);
      // Nothing listens on port 9: a network failure, with its cause under --verbose (no retries: fast).
      const config = path.join(dir, 'no-retries.yaml');
      await writeFile(config, (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^openproject:\n/m, 'openproject:\n  retries: 0\n'));
      const down = await runCli(['sync', '--config', config, '--out', dir, '--verbose'], { env: { OPENPROJECT_URL: 'http://127.0.0.1:9', OPENPROJECT_API_KEY: wrong } });
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^\S+ error: /m);
      expect(down.stderr).toMatch(/ECONNREFUSED/);
      expect(down.stderr).toMatch(/\n\s+at /); // a stack
      expect(down.stderr).not.toContain(wrong);
      expect(down.stderr).toMatch(/caused by: Error: connect ECONNREFUSED/);
      expect(down.stderr).toMatch(/could not be reached/);
      expect(down.stderr).not.toContain('internal error');
    } finally {
      await cleanup();
    }
  });

  it('--git-commit stages and commits only what curate wrote; nothing when nothing changed', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await git(dir, ['init', '-q']);
      await writeFile(path.join(dir, 'notes.txt'), 'not curate’s\n');
      const out = path.join(dir, 'content');
      const gitEnv = { ...env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', '2021-02-19T00:00:00Z', '--git-commit'], { env: gitEnv });
      expect(r.code, r.stderr).toBe(0);
      expect(await git(dir, ['log', '--oneline'])).toMatch(/curate: \d+ pages \(\d+ created\)/);
      const committed = (await git(dir, ['ls-files'])).trim().split('\n');
      expect(committed).toContain('content/.curate/manifest.json');
      expect(committed).not.toContain('notes.txt');
      // Every page and image, plus the state: manifest.json and its shards, nothing else.
      const state = (await treeHashes(out, { includeState: true })).size - (await treeHashes(out)).size;
      expect(committed.filter((f) => f.startsWith('content/.curate/work-packages/')).length).toBe(state - 1);
      expect(committed.length).toBe((await treeHashes(out)).size + state);
      const again = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', '2021-02-19T00:00:00Z', '--git-commit'], { env: gitEnv });
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/nothing to commit/);
      expect((await git(dir, ['log', '--oneline'])).trim().split('\n')).toHaveLength(1);
    } finally {
      await cleanup();
    }
  });
});

describe('on a terminal', () => {
  // `script` runs the CLI on a pseudo-terminal; one without a size reports 0 columns, where
  // the spinner library once looped forever clearing "infinitely many" lines.
  const onPty = (cmd: string, extraEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve) => {
      // Its own process group, so a hung run is killed with everything under it.
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, CURATE_CACHE_DIR: 'off', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

  it('a terminal without a size gets plain lines and the sync finishes; a sized one gets the spinner', async () => {
    for (const [size, spinner] of [['', false], ['stty cols 100 rows 30; ', true]] as const) {
      const { dir, cleanup } = await tempDir();
      try {
        const cmd = `${size}${quote(process.execPath)} ${quote(BIN)} sync --config ${quote(MEDIGY_CONFIG)} --out ${quote(dir)} --now 2021-02-19T00:00:00Z`;
        const r = await onPty(cmd, env);
        expect(r.code, r.out).toBe(0);
        expect(r.out).toMatch(/sync done: \d+ created/);
        expect(r.out.includes('\u001b[?25l'), r.out.slice(0, 500)).toBe(spinner); // ora hides the cursor while spinning
      } finally {
        await cleanup();
      }
    }
  }, 70_000);
});

describe('init → doctor → sync, and fields', () => {
  it('init writes a config that doctor accepts and sync uses on the first run', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const init = await runCli(['init', '--project', 'news', '--type', 'Curated Content', '--yes'], { env, cwd: dir });
      expect(init.code, init.stderr).toBe(0);
      const text = await readFile(path.join(dir, 'curate.config.yaml'), 'utf8');
      expect(text).toMatch(/^# curate configuration/);
      const cfg = yaml.load(text) as { sources: { projects: string[] }[] };
      expect(cfg.sources[0]!.projects).toEqual(['news']);
      expect(text).not.toContain(KEY);
      const again = await runCli(['init', '--yes'], { env, cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already exists; pass --force/);

      const doctor = await runCli(['doctor'], { env, cwd: dir });
      expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
      expect(doctor.stdout).toMatch(/✓ server page-size limit: 1000/);
      const sync = await runCli(['sync'], { env, cwd: dir });
      expect(sync.code, sync.stderr).toBe(0);
      expect((await treeHashes(path.join(dir, 'content'))).size).toBeGreaterThan(0);

      const bad = await runCli(['doctor'], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: 'wrong' }, cwd: dir });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/✗ OpenProject at http:\/\/127\.0\.0\.1:\d+: .*401/);
    } finally {
      await cleanup();
    }
  });

  it('doctor suggests the closest name on a typo', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(dir, { recursive: true });
      const cfg = (await readFile(MEDIGY_CONFIG, 'utf8')).replace('projects: [femtech]', 'projects: [femtek]');
      await writeFile(path.join(dir, 'curate.config.yaml'), cfg);
      const r = await runCli(['doctor'], { env, cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/✗ source "femtech": no project "femtek" on the server \(did you mean "femtech"\?\)/);
    } finally {
      await cleanup();
    }
  });

  it('fields prints ids, names, formats and keys', async () => {
    const r = await runCli(['fields', '--project', 'news', '--type', 'Curated Content', '--url', sim.url], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/customField1\s+Clean URL\s+string\s+cleanUrl/);
    expect(r.stdout).toMatch(/Medigy Topics\s+string\s+medigyTopics/);
    const typo = await runCli(['fields', '--project', 'news', '--type', 'Curated Contnet', '--url', sim.url], { env });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/did you mean "Curated Content"/);
  });
});
