// --git-commit's git side against real repositories in temp dirs: every file curate owns
// (per the manifest) that differs from HEAD is committed — untracked leftovers of an
// earlier plain sync, modifications, deletions — and nothing else; the checks before a
// sync (identity, merge in progress, index lock) refuse with the fix; a failed commit
// leaves the index as it was and the next run commits the files.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitOwned, preflightCommit } from '../../src/cli/git.js';
import { pageCommitMessage } from '../../src/cli/pages.js';
import { writeState, type Manifest, type ManifestWorkPackage } from '../../src/output/manifest.js';
import { git, tempDir } from '../helpers/env.js';

let dir: string;
let cleanup: () => Promise<void>;
const saved = { ...process.env };
const IDENTITY = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('curate-git-'));
  // commitOwned runs git with the process environment: an identity, no user or system config.
  Object.assign(process.env, IDENTITY, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: dir });
  await git(dir, ['init', '-q']);
});
afterEach(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  await cleanup();
});

const page = (title: string): string => `---\ntitle: ${JSON.stringify(title)}\nslug: ${title.toLowerCase().replace(/\W+/g, '-')}\n---\nbody of ${title}\n`;
async function manifest(root: string, files: Record<number, string[]>): Promise<void> {
  const workPackages: Record<string, unknown> = {};
  for (const [id, list] of Object.entries(files)) workPackages[id] = { source: 'news', updatedAt: '2026-01-01T00:00:00Z', lockVersion: 1, attachments: {}, files: Object.fromEntries(list.map((f) => [f, 'x'])) };
  await mkdir(path.join(root, '.curate'), { recursive: true });
  await writeFile(path.join(root, '.curate', 'manifest.json'), `${JSON.stringify({ version: 2, profile: 'default', sources: {}, workPackages }, null, 2)}\n`);
}
const message = (pages: Parameters<typeof pageCommitMessage>[0], leftovers: number): string => pageCommitMessage(pages, { leftovers });
const committed = async (rev = 'HEAD'): Promise<string[]> => (await git(dir, ['show', '--name-status', '--format=', rev])).trim().split('\n').filter(Boolean);

describe('commitOwned', () => {
  it('commits every owned file that differs from HEAD, whoever wrote it, and nothing else', async () => {
    const root = path.join(dir, 'content');
    await mkdir(path.join(root, 'news', '1'), { recursive: true });
    await mkdir(path.join(root, 'news', '2 [draft] *'), { recursive: true });
    // A plain `curate sync` wrote two pages (never committed); the user has their own work.
    await writeFile(path.join(root, 'news', '1', 'index.md'), page('First'));
    await writeFile(path.join(root, 'news', '1', 'photo.png'), 'png');
    await writeFile(path.join(root, 'news', '2 [draft] *', 'index.md'), page('Second'));
    await manifest(root, { 1: ['news/1/index.md', 'news/1/photo.png'], 2: ['news/2 [draft] */index.md'] });
    await writeFile(path.join(root, 'news', 'not-ours.md'), 'x\n');
    await writeFile(path.join(dir, 'user.txt'), 'u\n');
    await git(dir, ['add', 'user.txt']);

    // This run touched only page 2's file: page 1 is a leftover and is committed too.
    const r = await commitOwned(root, { touched: ['news/2 [draft] */index.md'], message });
    expect(r.id).toMatch(/^[0-9a-f]{40}$/);
    expect(r.leftovers).toBe(3);
    expect(await committed()).toEqual(['A\tcontent/.curate/manifest.json', 'A\tcontent/news/1/index.md', 'A\tcontent/news/1/photo.png', 'A\tcontent/news/2 [draft] */index.md']);
    expect((await git(dir, ['log', '-1', '--format=%B'])).trim()).toBe('curate: 2 pages (2 created)\n\n- create "First" (#1)\n- create "Second" (#2)\n\nIncludes 3 files curate wrote in earlier runs that were not committed then.');
    expect((await git(dir, ['diff', '--cached', '--name-only'])).trim()).toBe('user.txt');
    expect(await git(dir, ['status', '--porcelain', '--', 'content'])).toBe('?? content/news/not-ours.md\n');

    // Page 1 updated, page 2 deleted (its file gone, the manifest no longer lists it).
    await writeFile(path.join(root, 'news', '1', 'index.md'), page('First, edited'));
    await rm(path.join(root, 'news', '2 [draft] *'), { recursive: true });
    await manifest(root, { 1: ['news/1/index.md', 'news/1/photo.png'] });
    const r2 = await commitOwned(root, { touched: [], message });
    expect(r2.pages.map((p) => [p.id, p.action, p.title])).toEqual([
      [1, 'update', 'First, edited'],
      [2, 'delete', 'Second'],
    ]);
    expect(await committed()).toEqual(['M\tcontent/.curate/manifest.json', 'M\tcontent/news/1/index.md', 'D\tcontent/news/2 [draft] */index.md']);
    expect((await git(dir, ['log', '-1', '--format=%s'])).trim()).toBe('curate: 2 pages (1 updated, 1 deleted)');

    // Nothing differs: nothing to commit. A hand-edited file curate does not own is never committed.
    await writeFile(path.join(root, 'news', 'not-ours.md'), 'y\n');
    expect((await commitOwned(root, { message })).id).toBeNull();
    expect((await git(dir, ['log', '--format=%s'])).trim().split('\n')).toHaveLength(2);
  });

  it('reads only the state shards that may own a changed path, on disk and at HEAD (issue 22)', async () => {
    const root = path.join(dir, 'content');
    const entry = (id: number, updatedAt: string): ManifestWorkPackage => ({ source: 'news', updatedAt, lockVersion: 1, attachments: {}, files: { [`news/${id}/index.md`]: 'x' } });
    // Five shards (ids 1, 1001, … 4001), in the sharded format a sync writes.
    const ids = [1, 1001, 2001, 3001, 4001];
    const workPackages = Object.fromEntries(ids.map((id) => [String(id), entry(id, '2026-01-01T00:00:00Z')]));
    const state = (): Manifest => ({ version: 5, profile: 'default', sources: {}, workPackages });
    for (const id of ids) {
      await mkdir(path.join(root, 'news', String(id)), { recursive: true });
      await writeFile(path.join(root, 'news', String(id), 'index.md'), page(`Page ${id}`));
    }
    await writeState(root, state(), null, null);
    const first = await commitOwned(root, { touched: [], message });
    expect(first.files).toHaveLength(5 + 1 + 5); // the pages, manifest.json, the shards
    expect(first.stateShardsRead).toBe(5);

    // One page edited and its entry rewritten: its shard's digest changes, the others' do not.
    await writeFile(path.join(root, 'news', '2001', 'index.md'), page('Page 2001, edited'));
    workPackages['2001'] = entry(2001, '2026-02-01T00:00:00Z');
    await writeState(root, state(), null, null);
    const second = await commitOwned(root, { touched: ['news/2001/index.md'], message });
    expect(second.files).toEqual(['.curate/manifest.json', '.curate/work-packages/2000-2999.json', 'news/2001/index.md']);
    expect(second.pages.map((p) => [p.id, p.action, p.title])).toEqual([[2001, 'update', 'Page 2001, edited']]);
    // That shard on disk and at HEAD; not the four others.
    expect(second.stateShardsRead).toBe(2);

    // A page deleted: its owner is known from HEAD's state alone (the state on disk no longer lists it).
    await rm(path.join(root, 'news', '4001'), { recursive: true });
    delete workPackages['4001'];
    await writeState(root, state(), null, null);
    const third = await commitOwned(root, { touched: [], message });
    expect(third.pages.map((p) => [p.id, p.action, p.title])).toEqual([[4001, 'delete', 'Page 4001']]);
    expect(third.files).toContain('news/4001/index.md');
    expect(third.stateShardsRead).toBe(1);
  });

  it('a state file hand-edited after its commit (a shard whose bytes are not the ones recorded): the owner comes from HEAD', async () => {
    const root = path.join(dir, 'content');
    const entry = (id: number): ManifestWorkPackage => ({ source: 'news', updatedAt: '2026-01-01T00:00:00Z', lockVersion: 1, attachments: {}, files: { [`news/${id}/index.md`]: 'x' } });
    for (const id of [1, 1001]) {
      await mkdir(path.join(root, 'news', String(id)), { recursive: true });
      await writeFile(path.join(root, 'news', String(id), 'index.md'), page(`Page ${id}`));
    }
    await writeState(root, { version: 5, profile: 'default', sources: {}, workPackages: { '1': entry(1), '1001': entry(1001) } } as Manifest, null, null);
    await commitOwned(root, { touched: [], message });
    // The page is deleted by hand; manifest.json is edited so its shard no longer names it,
    // and the shard file changed to other bytes of the same size.
    await rm(path.join(root, 'news', '1001'), { recursive: true });
    const manifestPath = path.join(root, '.curate', 'manifest.json');
    const m = JSON.parse(await readFile(manifestPath, 'utf8')) as { shards: Record<string, { names: Record<string, string> }> };
    m.shards['1000-1999']!.names = {};
    await writeFile(manifestPath, `${JSON.stringify(m, null, 2)}\n`);
    const shardPath = path.join(root, '.curate', 'work-packages', '1000-1999.json');
    await writeFile(shardPath, (await readFile(shardPath, 'utf8')).replace('2026-01-01', '2026-01-02'));
    const r = await commitOwned(root, { touched: [], message });
    expect(r.pages.map((p) => [p.id, p.action, p.title])).toEqual([[1001, 'delete', 'Page 1001']]);
    expect(r.files).toContain('news/1001/index.md');
  });

  it('a single page: curate: update "Title" (#1234)', async () => {
    const root = path.join(dir, 'content');
    await mkdir(path.join(root, 'news', '1234'), { recursive: true });
    await writeFile(path.join(root, 'news', '1234', 'index.md'), page('Flu season'));
    await manifest(root, { 1234: ['news/1234/index.md'] });
    await commitOwned(root, { message });
    await writeFile(path.join(root, 'news', '1234', 'index.md'), page('Flu season, updated'));
    const r = await commitOwned(root, { touched: ['news/1234/index.md'], message });
    expect(r.message).toBe('curate: update "Flu season, updated" (#1234)');
    expect(r.pages[0]!.sitePath).toBe('/news/flu-season-updated/');
  });

  it('a failed commit (a hook refuses it) leaves the index as it was; the next run commits the files', async () => {
    const root = path.join(dir, 'content');
    await mkdir(path.join(root, 'news', '1'), { recursive: true });
    await writeFile(path.join(root, 'news', '1', 'index.md'), page('One'));
    await manifest(root, { 1: ['news/1/index.md'] });
    await writeFile(path.join(dir, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho "refused by hook" >&2\nexit 1\n', { mode: 0o755 });
    await expect(commitOwned(root, { message })).rejects.toThrow(/git commit failed: refused by hook\. The 2 file\(s\) are written but not committed; the next run with --git-commit commits them/);
    expect((await git(dir, ['diff', '--cached', '--name-only'])).trim()).toBe('');
    await rm(path.join(dir, '.git', 'hooks', 'pre-commit'));
    const r = await commitOwned(root, { message });
    expect(r.leftovers).toBe(2);
    expect(await committed()).toEqual(['A\tcontent/.curate/manifest.json', 'A\tcontent/news/1/index.md']);
  });

  it('outside a work tree: says what to do', async () => {
    const { dir: bare, cleanup: done } = await tempDir('curate-nogit-');
    try {
      process.env.GIT_CEILING_DIRECTORIES = path.dirname(bare);
      await writeFile(path.join(bare, 'a.md'), 'a\n');
      await expect(commitOwned(bare, { message })).rejects.toThrow(/is not inside a git work tree; run `git init` there first, or drop --git-commit/);
      await expect(preflightCommit(bare)).rejects.toThrow(/not inside a git work tree.*Nothing was synced/);
    } finally {
      await done();
    }
  });
});

describe('preflightCommit', () => {
  it('passes in a clean repository with an identity', async () => {
    await expect(preflightCommit(path.join(dir, 'content'))).resolves.toBeUndefined();
  });

  it('no git identity: refuses, naming the repository and how to set one', async () => {
    for (const k of [...Object.keys(IDENTITY), 'EMAIL']) delete process.env[k];
    // Whether git refuses (unable to auto-detect an address) or would guess one from the
    // host name (root@host, where the host has a mail name) depends on the machine: both refused.
    await expect(preflightCommit(path.join(dir, 'content'))).rejects.toThrow(/git has no author identity (to commit with|configured) in .*git -C .* config user\.name "curate bot".*Nothing was synced\./);
    // The repository's own identity is enough.
    await git(dir, ['config', 'user.name', 'site bot']);
    await git(dir, ['config', 'user.email', 'bot@example.org']);
    await expect(preflightCommit(path.join(dir, 'content'))).resolves.toBeUndefined();
  });

  it('a merge in progress or a held index lock: refuses', async () => {
    await writeFile(path.join(dir, 'a'), 'a\n');
    await git(dir, ['add', 'a']);
    await git(dir, ['commit', '-qm', 'a']);
    const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
    await writeFile(path.join(dir, '.git', 'MERGE_HEAD'), `${head}\n`);
    await expect(preflightCommit(dir)).rejects.toThrow(/a merge is in progress/);
    await rm(path.join(dir, '.git', 'MERGE_HEAD'));
    await writeFile(path.join(dir, '.git', 'index.lock'), '');
    await expect(preflightCommit(dir)).rejects.toThrow(/index\.lock exists: another git process is running/);
    await rm(path.join(dir, '.git', 'index.lock'));
    await expect(preflightCommit(dir)).resolves.toBeUndefined();
  });

  it.skipIf(process.getuid?.() === 0)('an index this user cannot write: refuses', async () => {
    await chmod(path.join(dir, '.git'), 0o555);
    try {
      await expect(preflightCommit(dir)).rejects.toThrow(/index .* is not writable/);
    } finally {
      await chmod(path.join(dir, '.git'), 0o755);
    }
  });
});
