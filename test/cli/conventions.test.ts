// The real CLI (bin/curate.js, built) against the simulator, for the conventions an
// operator expects: pipes that close early, -v, bare `curate`, environment variables in
// every help, the same words in the dry run and the real run, one --json shape, init
// --out, --config found up to the repository root, a refused connection that fails at
// once, failures named by work package, patches that apply where printed, and
// --git-commit checked before anything is synced.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { BIN, FIXTURE_DATASET, git, MEDIGY_CONFIG, ROOT, runCli, tempDir, treeHashes } from '../helpers/env.js';

const KEY = 'opapi-conventions-key-9d0e';
const NOW = '2021-02-19T00:00:00Z';
let sim: Simulator;
let env: NodeJS.ProcessEnv;
let tiny: Simulator;
/** A six-work-package server, for conventions of the output that do not depend on the data (each run ~0.15 CPU s cheaper than one of the fixtures). */
let tinyEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, downloads: 'redirect' });
  env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY };
  tiny = await startSimulator({ dataset: generateDataset({ workPackages: 6, seed: 3 }), apiKey: KEY, downloads: 'redirect' });
  tinyEnv = { OPENPROJECT_URL: tiny.url, OPENPROJECT_API_KEY: KEY };
});
afterAll(async () => {
  await sim.close();
  await tiny.close();
});

/** Run a shell command line (bash), with the CLI at $CURATE. */
function sh(script: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: options.cwd ?? ROOT, env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', HOME: process.env.HOME, CURATE: `${process.execPath} ${BIN}`, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run the CLI with its stdout closed by the reader before anything is written. */
function withClosedStdout(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const dryArgs = (out: string): string[] => ['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--dry-run'];

describe('pipes that close early', () => {
  it('`curate sync --dry-run | head -1` and `curate help sync | head -1`: one line, no EPIPE, the status unchanged (2 / 0)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const dry = await sh(`$CURATE sync --config '${MEDIGY_CONFIG}' --out '${dir}' --now ${NOW} --dry-run | head -1; echo "status=\${PIPESTATUS[0]}" >&2`, { env }); // the fixtures: a diff far bigger than a pipe's buffer
      expect(dry.stdout).toMatch(/^Plan: \d+ to create, 0 to update, 0 to delete, 0 unchanged\n$/);
      expect(dry.stderr).toMatch(/status=2\n$/);
      expect(dry.stderr).not.toMatch(/EPIPE|\n\s+at /);
      const help = await sh('$CURATE help sync | head -1; echo "status=${PIPESTATUS[0]}" >&2');
      expect(help.stdout).toBe('Usage: curate sync [options]\n');
      expect(help.stderr).toBe('status=0\n');
      // Deterministic: the reader is gone before the first write.
      const closed = await withClosedStdout(dryArgs(dir), tinyEnv);
      expect(closed.code).toBe(2);
      expect(closed.stderr).not.toMatch(/EPIPE|\n\s+at /);
      const closedHelp = await withClosedStdout(['help', 'sync']);
      expect(closedHelp).toEqual({ code: 0, stderr: '' });
      const closedJson = await withClosedStdout([...dryArgs(dir), '--json'], tinyEnv);
      expect(closedJson).toEqual({ code: 2, stderr: '' });
    } finally {
      await cleanup();
    }
  }, 60_000);
});

describe('conventions', () => {
  it('-v and --version print the version; bare `curate` prints the help on stdout and exits 0', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['-v', '--version', '-V']) expect(await runCli([flag])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const bare = await runCli([]);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toBe('');
    expect(bare.stdout).toMatch(/^Usage: curate \[options\] \[command\]/);
    expect(bare.stdout).toMatch(/^\s+sync\b/m);
  });

  it('every command’s help lists the environment variables', async () => {
    for (const cmd of ['sync', 'init', 'doctor', 'fields']) {
      const h = await runCli([cmd, '--help']);
      expect(h.code, cmd).toBe(0);
      for (const name of ['OPENPROJECT_URL', 'OPENPROJECT_API_KEY', 'OPENPROJECT_TOKEN', 'NO_COLOR', 'FORCE_COLOR']) expect(h.stdout, `${cmd}: ${name}`).toContain(name);
    }
  });

  it('the dry run says "N to create", the real run "N created", with the same N', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const dry = await runCli(dryArgs(dir), { env: tinyEnv });
      expect(dry.code).toBe(2);
      const n = /^Plan: (\d+) to create/m.exec(dry.stdout)![1];
      expect(dry.stderr).toMatch(new RegExp(`dry run done: ${n} to create, 0 to update, 0 to delete, 0 unchanged .*; nothing written`));
      expect(dry.stderr).not.toMatch(/created/);
      const real = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', NOW], { env: tinyEnv });
      expect(real.code).toBe(0);
      expect(real.stdout).toMatch(new RegExp(`^Plan: ${n} to create`, 'm'));
      expect(real.stderr).toMatch(new RegExp(`sync done: ${n} created, 0 updated, 0 deleted, 0 unchanged`));
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('--json: one shape for success and failure: always version and exitCode, error on failure', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const base = ['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', NOW, '--json'];
      const ok = JSON.parse((await runCli(base, { env: tinyEnv })).stdout) as Record<string, unknown>;
      expect(Object.keys(ok).slice(0, 2)).toEqual(['version', 'exitCode']);
      expect(ok).toMatchObject({ version: pkg.version, exitCode: 0 });
      expect(ok).not.toHaveProperty('error');
      const dry = await runCli([...base, '--dry-run'], { env: tinyEnv });
      expect(JSON.parse(dry.stdout)).toMatchObject({ version: pkg.version, exitCode: 0, dryRun: true });
      const denied = await runCli(base, { env: { ...tinyEnv, OPENPROJECT_API_KEY: 'opapi-wrong-key-123' } });
      expect(denied.code).toBe(1);
      expect(JSON.parse(denied.stdout)).toEqual({ version: pkg.version, exitCode: 1, error: { code: 'OPENPROJECT', message: expect.stringMatching(/401/) as string } });
      const fields = JSON.parse((await runCli(['fields', '--project', 'news', '--type', 'Curated Content', '--url', sim.url, '--json'], { env })).stdout) as Record<string, unknown>;
      expect(Object.keys(fields).slice(0, 2)).toEqual(['version', 'exitCode']);
      expect(fields).toMatchObject({ exitCode: 0, project: 'news', fields: expect.arrayContaining([expect.objectContaining({ property: 'customField1', key: 'cleanUrl' })]) as unknown });
      const usage = await runCli(['sync', '--json', '--frobnicate']);
      expect(usage.code).toBe(64);
      expect(JSON.parse(usage.stdout)).toEqual({ version: pkg.version, exitCode: 64, error: { code: 'USAGE', message: expect.stringMatching(/unknown option '--frobnicate'/) as string } });
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('README documents the --json shape with an example that has version, exitCode and error', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## JSON output'));
    expect(section.length).toBeLessThan(readme.length);
    const examples = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
    expect(examples.some((e) => 'version' in e && 'exitCode' in e && !('error' in e))).toBe(true);
    expect(examples.some((e) => 'version' in e && 'exitCode' in e && 'error' in e)).toBe(true);
  });

  it('init writes where --out says; --output is the same option', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const flag of ['--out', '--output']) {
        const file = path.join(dir, `${flag.slice(2)}.yaml`);
        const r = await runCli(['init', '--url', sim.url, '--project', 'news', '--type', 'Curated Content', '--yes', flag, file], { env });
        expect(r.code, r.stderr).toBe(0);
        expect(await readFile(file, 'utf8')).toMatch(/^# curate configuration/);
      }
      expect((await runCli(['init', '--help'])).stdout).toMatch(/-o, --out <file>/);
    } finally {
      await cleanup();
    }
  });

  it('--config is found in the nearest parent folder, up to the repository root and no further', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const repo = path.join(dir, 'site');
      const deep = path.join(repo, 'layouts', 'partials');
      await mkdir(deep, { recursive: true });
      await git(repo, ['init', '-q']);
      const config = (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content');
      await writeFile(path.join(repo, 'curate.config.yaml'), config);
      const found = await runCli(['sync', '--dry-run', '--now', NOW], { env: tinyEnv, cwd: deep });
      expect(found.code, found.stderr).toBe(2);
      expect(found.stdout).toMatch(/^ {2}\+ communities-of-practice\//m);
      // A file above the repository root belongs to something else.
      const outer = path.join(dir, 'other');
      await mkdir(path.join(outer, 'inner', '.git'), { recursive: true });
      await writeFile(path.join(outer, 'curate.config.yaml'), config);
      const notFound = await runCli(['sync', '--dry-run'], { env, cwd: path.join(outer, 'inner') });
      expect(notFound.code).toBe(1);
      expect(notFound.stderr).toMatch(/no configuration file at curate\.config\.yaml; create one with `curate init`/);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('a refused connection fails in under 2 s, names the URL, and the process ends right after the message', async () => {
    // An output root of its own: a fixed path (it was /nonexistent/never-written, which a
    // run as root creates) held one run's lock while a second suite on the machine ran this
    // test, which then exited 3 (locked) instead of 1.
    const { dir, cleanup } = await tempDir();
    const started = performance.now();
    const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', path.join(dir, 'out')], { env: { OPENPROJECT_URL: 'http://127.0.0.1:9', OPENPROJECT_API_KEY: KEY } }).finally(cleanup);
    const wall = performance.now() - started;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: GET http:\/\/127\.0\.0\.1:9\/api\/v3\/\S+: ECONNREFUSED/);
    expect(r.stderr).not.toMatch(/gave up after/);
    // From curate's first line to its last: no retries, nothing left running.
    const stamps = r.stderr.split('\n').filter(Boolean).map((l) => Date.parse(l.split(' ')[0]!));
    expect(stamps.at(-1)! - stamps[0]!).toBeLessThan(2000);
    expect(wall).toBeLessThan(5000); // node's own start included, on a shared machine
  });
});

describe('failures are named by work package, once', () => {
  it('a failing attachment: #id "title", the attachment, the reason and what happens next in one line, without the signed URL (all of it with --verbose)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const meta = JSON.parse(await readFile(path.join(FIXTURE_DATASET, 'attachments', '10004.json'), 'utf8')) as { _links: { container: { href: string; title: string } } };
      const wpId = meta._links.container.href.split('/').at(-1)!;
      const config = path.join(dir, 'curate.config.yaml');
      await writeFile(config, (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^openproject:\n/m, 'openproject:\n  retries: 1\n'));
      sim.inject({ route: 'storage', kind: 'status', status: 500, match: ({ path: p }) => p === '/bucket/10004' });
      const args = ['sync', '--config', config, '--out', path.join(dir, 'out'), '--now', NOW];
      const r = await runCli(args, { env });
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.includes('10004'));
      expect(lines, r.stderr).toHaveLength(1);
      const line = lines[0]!;
      expect(line).toContain(`#${wpId} ${JSON.stringify(meta._links.container.title)}: `);
      expect(line).toMatch(/attachment #10004 \("Curated_Featured_Image\.jpeg"\)/);
      expect(line).toMatch(/\/bucket\/10004 → 500/);
      // A first run: it has no files yet, so none are promised.
      expect(line).toMatch(/\(nothing was written for it yet; it is retried on the next run\)$/);
      expect(line).not.toMatch(/https?:\/\/|expires=|signature=/);
      expect(r.stderr).toMatch(/ 1 item failed:\n/);
      expect(r.stderr.split('\n').at(-2)).toMatch(/sync finished with 1 failed item\(s\): \d+ created/);
      const verbose = await runCli([...args, '--verbose'], { env });
      expect(verbose.stderr).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/bucket\/10004\?expires=\d+&signature=REDACTED → 500/);
    } finally {
      sim.clearFaults();
      await cleanup();
    }
  }, 60_000);
});

describe('--patch', () => {
  it('paths are relative to the git work tree root; the printed command applies it from where curate ran (root or a subfolder); no diff on stdout', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const repo = path.join(dir, 'site');
      await mkdir(path.join(repo, 'docs'), { recursive: true });
      await git(repo, ['init', '-q']);
      await writeFile(path.join(repo, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content/medigy'));
      expect((await runCli(['sync', '--now', NOW], { env, cwd: repo })).code).toBe(0);
      await git(repo, ['add', '-A']);
      await git(repo, ['commit', '-qm', 'first sync']);
      const id = [...sim.dataset.workPackages.keys()][0]!;
      sim.updateWorkPackage(id, (wp) => {
        wp.subject = `${String(wp.subject)} (edited)`;
      });
      for (const [cwd, patch, command] of [
        [repo, 'changes.patch', 'git apply changes.patch'],
        [path.join(repo, 'docs'), 'changes.patch', 'git -C .. apply docs/changes.patch'],
      ] as const) {
        const r = await runCli(['sync', '--now', NOW, '--patch', patch], { env, cwd });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stdout).toMatch(/^Plan: /);
        expect(r.stdout).not.toMatch(/^diff --git/m);
        expect(r.stderr).toContain(`patch written to ${patch}; apply it with: ${command}\n`);
        expect(await readFile(path.join(cwd, patch), 'utf8')).toMatch(/^diff --git a\/content\/medigy\/[a-z-]+\/\S+ b\/content\/medigy\//m);
        const applied = await sh(command, { cwd });
        expect(applied.code, applied.stderr).toBe(0);
        // The tree is now what a sync writes: the dry run finds nothing left to do.
        const after = await runCli(['sync', '--now', NOW, '--dry-run'], { env, cwd });
        expect(after.stdout).toMatch(/^Plan: 0 to create, 0 to update, 0 to delete/);
        await git(repo, ['checkout', '-q', '--', '.']);
        await git(repo, ['clean', '-qfd', '--', 'content']);
      }
    } finally {
      await cleanup();
    }
  }, 90_000);

  it('outside a git work tree, paths are relative to the current folder', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', 'site/content', '--now', NOW, '--patch', 'p.patch'], { env, cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('apply it with: git apply p.patch');
      expect(await readFile(path.join(dir, 'p.patch'), 'utf8')).toMatch(/^diff --git a\/site\/content\/communities-of-practice\//m);
      const applied = await sh('git apply p.patch', { cwd: dir });
      expect(applied.code, applied.stderr).toBe(0);
      expect((await treeHashes(path.join(dir, 'site', 'content'))).size).toBeGreaterThan(40);
    } finally {
      await cleanup();
    }
  }, 60_000);
});

describe('--git-commit', () => {
  it('outside a git work tree it fails before syncing: no request, nothing written', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const before = sim.counts().total;
      const out = path.join(dir, 'content');
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--git-commit'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--git-commit: the output root .* is not inside a git work tree.*Nothing was synced/);
      expect(sim.counts().total).toBe(before);
      expect(existsSync(out)).toBe(false);
    } finally {
      await cleanup();
    }
  });
});
