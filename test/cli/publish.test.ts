// Publishing as a site operator does it, with the real CLI against the simulator and real
// git repositories: a plain `curate sync` followed by `--git-commit` commits every page
// (not only what the second run touched); a repository without a git identity is refused
// before anything is written; `--summary` describes a sync with every kind of change in
// pages, with titles, site paths and OpenProject links.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { WorkPackageJson } from '../../src/simulator/types.js';
import { FIXTURE_DATASET, runCli, tempDir } from '../helpers/env.js';
import { execFile } from 'node:child_process';
import { readStateJson } from '../helpers/state.js';

const KEY = 'opapi-publish-key-5c1e';
let sim: Simulator;
let dir: string;
let site: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('curate-publish-'));
  site = path.join(dir, 'site');
  await mkdir(site);
});
afterEach(async () => {
  await cleanup();
});

/** No user or system git config, HOME a temp dir: the identity is only what a test gives. */
const gitEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: dir, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
const cliEnv = (): NodeJS.ProcessEnv => ({ ...gitEnv(), OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY });
function git(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('git', args, { cwd: site, env: gitEnv(), maxBuffer: 64 << 20 }, (e, out, err) => (e ? reject(new Error(`git ${args.join(' ')}: ${err}`)) : resolve(out))));
}
const curate = (args: string[]) => runCli(args, { cwd: site, env: cliEnv() });

/**
 * The config the real `curate init` writes for a site of this server (default profile,
 * content/ as the root), with no retries: a failing request fails at once (no backoff to
 * wait out). Written once per file: init's answer is the same for every site here.
 */
let initConfig: Promise<string> | null = null;
function siteConfig(): Promise<string> {
  initConfig ??= (async () => {
    const init = await curate(['init', '--yes', '--quiet', '--out', 'curate.config.yaml', '--root', 'content']);
    expect(init.code, init.stderr).toBe(0);
    const text = await readFile(path.join(site, 'curate.config.yaml'), 'utf8');
    expect(text).toMatch(/^ {2}retries: \d+$/m);
    return text.replace(/^( {2}retries:) \d+/m, '$1 0');
  })();
  return initConfig;
}

/** A new work package on the server: a copy of `from` with another id and subject, just edited. */
function addCopy(from: number, id: number, subject: string): void {
  const copy = JSON.parse(JSON.stringify(sim.dataset.workPackages.get(from))) as WorkPackageJson;
  copy.id = id;
  copy.subject = subject;
  (copy._links.self as { href: string }).href = `/api/v3/work_packages/${id}`;
  (copy._links.attachments as { href: string }).href = `/api/v3/work_packages/${id}/attachments`;
  sim.addWorkPackage(copy);
  sim.updateWorkPackage(id, () => undefined);
}

/** A site repository with a default-profile config written by the real `curate init`. */
async function siteRepo(identity: boolean): Promise<void> {
  await git(['init', '-q', '-b', 'main']);
  if (identity) {
    await git(['config', 'user.name', 'site bot']);
    await git(['config', 'user.email', 'bot@example.org']);
  }
  await writeFile(path.join(site, 'curate.config.yaml'), await siteConfig());
}

describe('--git-commit', () => {
  it('after a plain sync, commits every page curate owns (not only what it touched), and nothing else', async () => {
    await siteRepo(true);
    await writeFile(path.join(site, 'notes.txt'), 'mine\n');
    await git(['add', 'curate.config.yaml']);
    await git(['commit', '-qm', 'site']);

    const plain = await curate(['sync', '--quiet']);
    expect(plain.code, plain.stderr).toBe(0);
    const manifest = (await readStateJson(path.join(site, 'content'))) as { workPackages: Record<string, { files: Record<string, string> }> };
    const owned = Object.values(manifest.workPackages).flatMap((w) => Object.keys(w.files).map((f) => `content/${f}`));
    expect(owned.length).toBeGreaterThan(30);

    // An edit, so this run touches one page; every other page is a leftover of the plain run.
    const id = Number(Object.keys(manifest.workPackages)[0]);
    sim.updateWorkPackage(id, (w) => {
      w.subject = 'Edited for the commit test';
    });
    const r = await curate(['sync', '--git-commit']);
    expect(r.code, r.stderr).toBe(0);
    // The state: manifest.json and its shards. This run touched the manifest and the edited
    // page's shard; the other shards are leftovers like the pages.
    const shards = (await readdir(path.join(site, 'content', '.curate', 'work-packages'))).map((n) => `content/.curate/work-packages/${n}`);
    expect(shards.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(new RegExp(`committed [0-9a-f]{12}: curate: \\d+ pages \\(\\d+ created\\) \\(${owned.length + 1 + shards.length} files, ${owned.length - 1 + shards.length - 1} of them left uncommitted by earlier runs\\)`));
    const tree = (await git(['ls-tree', '-r', '--name-only', 'HEAD'])).trim().split('\n');
    expect(tree.sort()).toEqual(['content/.curate/manifest.json', ...shards, ...owned, 'curate.config.yaml'].sort());
    expect(await git(['status', '--porcelain'])).toBe('?? notes.txt\n');
    expect(await git(['log', '-1', '--format=%B'])).toContain(`- create "Edited for the commit test" (#${id})`);

    // One more edit: the message names the page.
    sim.updateWorkPackage(id, (w) => {
      w.subject = 'Edited twice';
    });
    const again = await curate(['sync', '--git-commit', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect((await git(['log', '-1', '--format=%s'])).trim()).toBe(`curate: update "Edited twice" (#${id})`);
    expect(await git(['status', '--porcelain'])).toBe('?? notes.txt\n');

    // Nothing changed (after the run that records the watermark): nothing to commit.
    await curate(['sync', '--git-commit', '--quiet']);
    const idle = await curate(['sync', '--git-commit']);
    expect(idle.code).toBe(0);
    expect(idle.stderr).toMatch(/nothing to commit: every file curate owns matches HEAD/);
  }, 60_000);

  it('--json says what was committed; a commit that fails (a hook) exits 1 naming it, and the next run commits the files', async () => {
    // The server's Date header has whole seconds: a run in the same second as the newest
    // edit (the test above edits the shared server) holds its watermark at the header's time,
    // and the first run in a later second moves it to the edit and rewrites manifest.json,
    // which would then be this run's file, not a leftover. Both runs here start after that second.
    const newest = Math.max(...[...sim.dataset.workPackages.values()].map((wp) => Date.parse(String(wp.updatedAt))));
    const settled = Math.floor(newest / 1000) * 1000 + 1000 - Date.now();
    if (settled > 0) await new Promise((r) => setTimeout(r, settled + 50));
    await siteRepo(true);
    await writeFile(path.join(site, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho "no commits today" >&2\nexit 1\n', { mode: 0o755 });
    const refused = await curate(['sync', '--git-commit', '--json']);
    expect(refused.code).toBe(1);
    const bad = JSON.parse(refused.stdout) as { exitCode: number; error: { code: string; message: string }; commit: unknown; applied: boolean };
    expect(bad).toMatchObject({ exitCode: 1, applied: true, commit: null, error: { code: 'OUTPUT', message: expect.stringMatching(/git commit failed: no commits today\. The \d+ file\(s\) are written but not committed; the next run with --git-commit commits them/) as unknown } });
    expect(await git(['diff', '--cached', '--name-only'])).toBe(''); // nothing left staged
    await rm(path.join(site, '.git', 'hooks', 'pre-commit'));
    const ok = await curate(['sync', '--git-commit', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const good = JSON.parse(ok.stdout) as { commit: { id: string; subject: string; files: number; leftovers: number; pages: number } };
    expect(good.commit).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{40}$/) as unknown, subject: expect.stringMatching(/^curate: \d+ pages \(\d+ created\)$/) as unknown });
    expect(good.commit.leftovers).toBe(good.commit.files);
    expect(await git(['status', '--porcelain', '--', 'content'])).toBe('');
  }, 60_000);

  it('without a git identity: refuses before syncing (nothing written), naming the fix', async () => {
    await siteRepo(false);
    const r = await curate(['sync', '--git-commit']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--git-commit: git has no author identity (to commit with|configured) in .*site.*config user\.email.*Nothing was synced\./);
    await expect(readFile(path.join(site, 'content', '.curate', 'manifest.json'))).rejects.toThrow(/ENOENT/);
    // Given one, the run commits everything.
    await git(['config', 'user.name', 'site bot']);
    await git(['config', 'user.email', 'bot@example.org']);
    const ok = await curate(['sync', '--git-commit', '--quiet']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await git(['status', '--porcelain', '--', 'content'])).toBe('');
  }, 60_000);
});

describe('--summary', () => {
  it('a sync with every kind of change: pages created, updated, deleted and failed, with title, site path and link', async () => {
    await siteRepo(true);
    const first = await curate(['sync', '--git-commit', '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const manifest = (await readStateJson(path.join(site, 'content'))) as { workPackages: Record<string, { files: Record<string, string> }> };
    const ids = Object.keys(manifest.workPackages).map(Number).sort((a, b) => a - b);
    const [edited, removed, broken] = [ids[0]!, ids[1]!, ids[2]!];
    const removedTitle = sim.dataset.workPackages.get(removed)!.subject as string;
    const brokenTitle = sim.dataset.workPackages.get(broken)!.subject as string;
    sim.updateWorkPackage(edited, (w) => {
      w.subject = 'Updated | with a pipe';
    });
    sim.deleteWorkPackage(removed);
    addCopy(edited, 990001, 'A brand new page');
    sim.updateWorkPackage(broken, (w) => {
      w.subject = `${brokenTitle}`;
    });
    sim.inject({ route: 'attachments', kind: 'status', status: 500, match: ({ path: p }) => p.includes(`/work_packages/${broken}/`) });
    let dry, real;
    try {
      dry = await curate(['sync', '--dry-run', '--summary', '-']);
      real = await curate(['sync', '--summary', 'summary.md']);
    } finally {
      sim.clearFaults();
    }
    expect(dry.code).toBe(1);
    expect(real.code).toBe(1);
    const text = await readFile(path.join(site, 'summary.md'), 'utf8');
    const url = sim.url;
    expect(text).toMatch(/^## curate sync\n\n\*\*3 pages changed\*\* \(1 created, 1 updated, 1 deleted\); \*\*1 failed\*\*\.\nFiles: \d+ created, \d+ updated, \d+ deleted, \d+ unchanged/);
    expect(text).toContain(`### Created (1)\n\n| page | site path | OpenProject |\n|---|---|---|\n| A brand new page | \`/`);
    expect(text).toMatch(new RegExp(`\\| A brand new page \\| \`/[a-z-]+/a-brand-new-page-990001/\` \\| \\[#990001\\]\\(${url}/work_packages/990001\\) \\|`));
    expect(text).toContain(`| Updated \\| with a pipe | \``);
    expect(text).toMatch(new RegExp(`### Deleted \\(1\\)\\n\\n.*\\n.*\\n\\| ${removedTitle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\| \`/.*\` \\| \\[#${removed}\\]`));
    expect(text).toMatch(new RegExp(`### Failed \\(1\\)\\n\\n.*\\n.*\\n\\| .* \\| .*500.* \\| \\[#${broken}\\]\\(${url}/work_packages/${broken}\\) \\|`));
    expect(text).not.toContain(KEY);
    // The dry run's summary on stdout says the same in the future tense, and only it is on stdout.
    expect(dry.stdout).toMatch(/^## curate sync \(dry run: nothing written\)\n\n\*\*3 pages\*\* \(1 to create, 1 to update, 1 to delete\); \*\*1 failed\*\*\./);
    expect(dry.stdout).not.toMatch(/^Plan:/m);
    // (Warnings name the clocks of each run, so they are left out of the comparison.)
    const pages = (t: string, from: string): string => t.slice(t.indexOf(from)).split('\n### Warnings')[0]!;
    expect(pages(dry.stdout, '### To create')).toBe(pages(text, '### Created').replace(/^### (Created|Updated|Deleted)/gm, (_, h: string) => `### To ${h.slice(0, -1).toLowerCase()}`));
  }, 60_000);

  it('outside git, a real run still names the pages it deletes (read just before they go)', async () => {
    const init = await curate(['init', '--yes', '--quiet', '--out', 'curate.config.yaml', '--root', 'content']);
    expect(init.code, init.stderr).toBe(0);
    expect((await curate(['sync', '--quiet'])).code).toBe(0);
    const manifest = (await readStateJson(path.join(site, 'content'))) as { workPackages: Record<string, unknown> };
    const id = Math.max(...Object.keys(manifest.workPackages).map(Number));
    const title = String(sim.dataset.workPackages.get(id)!.subject).trim();
    sim.deleteWorkPackage(id);
    const r = await curate(['sync', '--summary', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^## curate sync\n\n\*\*1 page changed\*\* \(1 deleted\)\./);
    expect(r.stdout).toContain(`### Deleted (1)\n\n| page | site path | OpenProject |\n|---|---|---|\n| ${title} | \``);
  }, 60_000);

  it('reads only the state it describes: a deleted page\'s title and a new failure, with a shard no one asked about damaged', async () => {
    // The run itself reads a shard only when it needs it; --summary used to read the whole
    // state and every owned page (~1 s and ~65 MB at 30,000 work packages). A damaged shard
    // the run has no reason to read shows that it no longer does: read, it fails the lookup.
    await writeFile(path.join(site, 'curate.config.yaml'), await siteConfig());
    expect((await curate(['sync', '--quiet'])).code).toBe(0);
    const manifest = (await readStateJson(path.join(site, 'content'))) as { workPackages: Record<string, unknown> };
    const ids = Object.keys(manifest.workPackages).map(Number).sort((a, b) => a - b);
    const removed = ids.at(-1)!;
    const title = String(sim.dataset.workPackages.get(removed)!.subject).trim();
    addCopy(removed, 990002, 'A new page that fails');
    sim.deleteWorkPackage(removed);
    sim.inject({ route: 'attachments', kind: 'status', status: 500, match: ({ path: p }) => p.includes('/work_packages/990002/') });
    // Which shards the run reads depends on what the server reports changed (and its overlap
    // window): a dry run, which reads what the real run reads, finds one it leaves alone.
    const shardFile = (shard: number): string => path.join(site, 'content', '.curate', 'work-packages', `${shard * 1000}-${shard * 1000 + 999}.json`);
    let damaged: string | undefined;
    let text = '';
    for (const shard of new Set(ids.map((i) => Math.floor(i / 1000)))) {
      if (shard === Math.floor(removed / 1000)) continue;
      const file = shardFile(shard);
      text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('"', "'")); // same size: a run that never reads it does not notice
      const dry = await curate(['sync', '--dry-run', '--quiet']);
      if (!/is not valid JSON/.test(dry.stderr)) {
        damaged = file;
        break;
      }
      await writeFile(file, text);
    }
    expect(damaged, 'a shard the run does not read').toBeDefined();
    let r;
    try {
      r = await curate(['sync', '--summary', '-']);
    } finally {
      sim.clearFaults();
    }
    expect(r.code, r.stderr + r.stdout).toBe(1);
    expect(r.stdout, r.stderr).toContain(`### Deleted (1)\n\n| page | site path | OpenProject |\n|---|---|---|\n| ${title} | \``);
    expect(r.stdout).toMatch(/### Failed \(1\)\n\n.*\n.*\n\| .*500.*nothing was written for it yet.* \| \[#990002\]/);
    expect(await readFile(damaged!, 'utf8')).not.toBe(text); // (the run did not rewrite it either)
  }, 60_000);

  it('--summary - with --json is refused (both want stdout)', async () => {
    await rm(site, { recursive: true });
    await mkdir(site);
    const r = await runCli(['sync', '--json', '--summary', '-'], { cwd: site, env: cliEnv() });
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--summary - and --json both want stdout/);
  });
});
