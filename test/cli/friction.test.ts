// The small things a mature CLI gets right, each replayed as a user meets it, with the
// real CLI against the simulator: `fields -t` in any case; `doctor` creates nothing;
// a 401 without a key says no key is set; failures sorted by id, and a first run's
// failure does not promise "last good files"; timestamps only where a log is read later
// (not on a terminal; on the Plan lines too when stdout and stderr share a log file);
// shell completion; help texts that match behaviour.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { FIXTURE_DATASET, MEDIGY_CONFIG, runCli, tempDir } from '../helpers/env.js';
import { curateCmd, onPty, shq } from '../helpers/pty.js';

const KEY = 'opapi-friction-key-42ab';
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
});
afterAll(async () => {
  await sim.close();
});
const env = (): NodeJS.ProcessEnv => ({ OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY });

async function site(dir: string, root = 'content'): Promise<string> {
  const config = path.join(dir, 'curate.config.yaml');
  await writeFile(config, (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, `  root: ${root}`).replace(/^openproject:\n/m, 'openproject:\n  retries: 0\n'));
  return config;
}

describe('friction', () => {
  it('`curate fields -t` finds a type in any case, as `curate init` does', async () => {
    const lower = await runCli(['fields', '-p', 'news', '-t', 'curated content', '--url', sim.url], { env: env() });
    expect(lower.code, lower.stderr).toBe(0);
    expect(lower.stdout).toMatch(/^Custom fields of news \(.*\) × Curated Content:/);
    const exact = await runCli(['fields', '-p', 'news', '-t', 'Curated Content', '--url', sim.url], { env: env() });
    expect(lower.stdout).toBe(exact.stdout);
  });

  it('`curate doctor` does not create the output root; it says the first sync will', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = await site(dir, 'content/not-yet');
      const r = await runCli(['doctor', '--config', config], { env: env() });
      expect(r.stdout).toMatch(/output root writable.*content\/not-yet \(does not exist yet; the first sync creates it in .*\)/);
      expect(existsSync(path.join(dir, 'content'))).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('a 401 with no key set says that no key is set', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = await site(dir);
      const r = await runCli(['sync', '--config', config], { env: { OPENPROJECT_URL: sim.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no key is set: neither OPENPROJECT_API_KEY nor OPENPROJECT_TOKEN (.*)?is in the environment/);
      const wrong = await runCli(['sync', '--config', config], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: 'opapi-wrong' } });
      expect(wrong.stderr).not.toMatch(/no key is set/);
      expect(wrong.stderr).toMatch(/the server refused the credentials/);
    } finally {
      await cleanup();
    }
  });

  it('failures are listed by id; on a first run they promise no "last good files"; later they do', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = await site(dir);
      // Work packages the fixture config syncs (the legacy manifest lists them).
      const ids = (JSON.parse(await readFile(path.join(path.dirname(MEDIGY_CONFIG), 'manifest.json'), 'utf8')) as { id: number }[]).map((w) => w.id).sort((a, b) => a - b);
      const broken = [ids.at(-1)!, ids[3]!, ids[10]!];
      sim.inject({ route: 'attachments', kind: 'status', status: 500, match: ({ path: p }) => broken.some((id) => p.includes(`/work_packages/${id}/attachments`)) });
      let first, again;
      try {
        first = await runCli(['sync', '--config', config, '--concurrency', '8'], { env: env() });
        for (const id of broken) sim.updateWorkPackage(id, () => undefined);
      } finally {
        sim.clearFaults();
      }
      expect(first.code).toBe(1);
      const lines = first.stderr.split('\n').filter((l) => /^\S+ {3}#\d+/.test(l));
      expect(lines.map((l) => Number(/#(\d+)/.exec(l)![1]))).toEqual([...broken].sort((a, b) => a - b));
      for (const l of lines) {
        expect(l).toMatch(/\(nothing was written for it yet; it is retried on the next run\)$/);
        expect(l).not.toMatch(/last good files/);
      }
      // Once they have files (synced cleanly in between), a failure keeps them.
      const ok = await runCli(['sync', '--config', config], { env: env() });
      expect(ok.code, ok.stderr).toBe(0);
      sim.inject({ route: 'attachments', kind: 'status', status: 500, match: ({ path: p }) => p.includes(`/work_packages/${broken[0]}/attachments`) });
      try {
        sim.updateWorkPackage(broken[0]!, () => undefined);
        again = await runCli(['sync', '--config', config], { env: env() });
      } finally {
        sim.clearFaults();
      }
      expect(again.stderr).toMatch(new RegExp(`#${broken[0]} .*\\(its last good files are kept; it is retried on the next run\\)$`, 'm'));
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('timestamps only where a log is read later: none on a terminal; on every line, the plan included, when stdout and stderr share a log file', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const config = await site(dir);
      const log = path.join(dir, 'curate.log');
      // Like cron: `>>log 2>&1`.
      await new Promise<void>((resolve, reject) => execFile('sh', ['-c', `${curateCmd(['sync', '--dry-run', '--config', config])} >>${shq(log)} 2>&1; true`], { env: { PATH: process.env.PATH, ...env() } }, (e) => (e ? reject(e) : resolve())));
      const text = await readFile(log, 'utf8');
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\S+Z Plan: \d+ to create/m);
      expect(text).toMatch(/^\S+Z dry run done: /m);
      // A pipe for stdout alone stays plain (tools read the plan).
      const piped = await runCli(['sync', '--dry-run', '--config', config], { env: env() });
      expect(piped.stdout).toMatch(/^Plan: /);
      // On a terminal (CI set: no spinner, plain lines) no ISO timestamps.
      const pty = onPty(curateCmd(['sync', '--dry-run', '--config', config]), { ...env(), CI: '1' });
      const r = await pty.done;
      expect(r.out).toMatch(/^planning \(dry run\)…\r?$/m);
      expect(r.out).toMatch(/^Plan: \d+ to create/m);
      expect(r.out).toMatch(/^dry run done: /m);
      expect(r.out).not.toMatch(/^\d{4}-\d\d-\d\dT\S+Z /m);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('`curate completion bash` completes commands and flags; zsh and fish scripts name every command', async () => {
    const script = await runCli(['completion', 'bash']);
    expect(script.code).toBe(0);
    const { dir, cleanup } = await tempDir();
    const file = path.join(dir, 'curate.bash');
    await writeFile(file, script.stdout);
    const complete = (words: string[]): Promise<string> =>
      new Promise((resolve) => {
        const child = spawn('bash', ['-c', `source ${shq(file)}; COMP_WORDS=(${words.map(shq).join(' ')}); COMP_CWORD=${words.length - 1}; _curate; echo "\${COMPREPLY[*]}"`], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', () => resolve(out.trim()));
      });
    expect(await complete(['curate', 'sy'])).toBe('sync');
    expect(await complete(['curate', 'sync', '--git'])).toBe('--git-commit');
    expect((await complete(['curate', 'sync', '--sum'])).split(' ')).toEqual(['--summary']);
    expect(await complete(['curate', 'completion', 'f'])).toBe('fish');
    for (const shell of ['zsh', 'fish']) {
      const s = await runCli(['completion', shell]);
      expect(s.code).toBe(0);
      for (const c of ['sync', 'init', 'doctor', 'fields', 'watch']) expect(s.stdout).toContain(c);
      expect(s.stdout).toContain('summary');
    }
    await cleanup();
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/unknown shell "tcsh"/);
  });

  it('help texts say what the commands do', async () => {
    const watch = await runCli(['watch', '--help']);
    for (const v of ['OPENPROJECT_URL', 'OPENPROJECT_API_KEY', 'OPENPROJECT_TOKEN', 'OPENPROJECT_WEBHOOK_SECRET']) expect(watch.stdout).toContain(v);
    expect(watch.stdout).toMatch(/one JSON object per\s+line/);
    const init = await runCli(['init', '--help']);
    expect(init.stdout).not.toMatch(/all without a terminal\)/);
    expect(init.stdout.replace(/\s+/g, ' ')).toMatch(/names look like content/);
    const fields = await runCli(['fields', '--help']);
    expect(fields.stdout.replace(/\s+/g, ' ')).toMatch(/--url <url> OpenProject URL \(wins over OPENPROJECT_URL and the config file/);
    const sync = await runCli(['sync', '--help']);
    expect(sync.stdout).toContain('--summary <file>');
  });
});

