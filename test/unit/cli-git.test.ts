// --git-commit's git side against a real repository in a temp dir: only the named paths
// are committed, glob characters are literal, never-tracked deletions are skipped.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitFiles } from '../../src/cli/git.js';
import { git, tempDir } from '../helpers/env.js';

let dir: string;
let cleanup: () => Promise<void>;
const saved = { ...process.env };
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('curate-git-'));
  // commitFiles runs git with the process environment: give it an identity and no user config.
  Object.assign(process.env, { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' });
  await git(dir, ['init', '-q']);
});
afterEach(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  await cleanup();
});

describe('commitFiles', () => {
  it('commits exactly the named files; the user’s staged work stays staged and uncommitted', async () => {
    const root = path.join(dir, 'content');
    await mkdir(path.join(root, 'news'), { recursive: true });
    await writeFile(path.join(root, 'news', 'a [draft] *.md'), 'a\n');
    await writeFile(path.join(root, 'news', 'b.md'), 'b\n');
    await writeFile(path.join(root, 'news', 'not-ours.md'), 'x\n');
    await writeFile(path.join(dir, 'user.txt'), 'u\n');
    await git(dir, ['add', 'user.txt']);

    const id = await commitFiles(root, ['news/a [draft] *.md', 'news/b.md', 'news/gone-never-tracked.md'], 'curate sync: 2 created');
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect((await git(dir, ['show', '--name-only', '--format=%s', 'HEAD'])).trim().split('\n').filter(Boolean)).toEqual(['curate sync: 2 created', 'content/news/a [draft] *.md', 'content/news/b.md']);
    expect((await git(dir, ['diff', '--cached', '--name-only'])).trim()).toBe('user.txt');
    expect(await git(dir, ['status', '--porcelain', '--', 'content'])).toBe('?? content/news/not-ours.md\n');

    // Deletion of a tracked file and nothing else.
    await rm(path.join(root, 'news', 'b.md'));
    const del = await commitFiles(root, ['news/b.md'], 'curate sync: 1 deleted');
    expect(del).not.toBeNull();
    expect((await git(dir, ['show', '--name-status', '--format=', 'HEAD'])).trim()).toBe('D\tcontent/news/b.md');
  });

  it('returns null when nothing differs from HEAD', async () => {
    await writeFile(path.join(dir, 'a.md'), 'a\n');
    expect(await commitFiles(dir, ['a.md'], 'first')).not.toBeNull();
    expect(await commitFiles(dir, ['a.md'], 'again')).toBeNull();
    expect(await commitFiles(dir, [], 'empty')).toBeNull();
    expect((await git(dir, ['log', '--format=%s'])).trim()).toBe('first');
  });

  it('outside a work tree: says what to do', async () => {
    const { dir: bare, cleanup: done } = await tempDir('curate-nogit-');
    try {
      process.env.GIT_CEILING_DIRECTORIES = path.dirname(bare);
      await writeFile(path.join(bare, 'a.md'), 'a\n');
      await expect(commitFiles(bare, ['a.md'], 'm')).rejects.toThrow(/is not inside a git work tree; run `git init` there first, or drop --git-commit/);
    } finally {
      await done();
    }
  });
});
