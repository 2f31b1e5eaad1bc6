// makeDir (src/output/writer.ts): `mkdir -p` that names the real cause. Node 20's recursive
// mkdir (promise and callback forms) answers ENOENT when the disk is full, the filesystem is
// read-only or a permission is missing (nodejs/node#42808, #47098, #31481): seen here on a
// full ext4 volume, `fs.promises.mkdir(dir, { recursive: true })` → ENOENT, and
// `fs.promises.mkdir(dir)` → ENOSPC. The fake below answers the same way.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDir } from '../../src/output/writer.js';
import { TEST_TMP } from '../helpers/env.js';

const error = (code: string, p: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: mkdir '${p}'`), { code, path: p });

/** A filesystem that holds `existing` folders and has no room for another, answering as Node does on a full disk. */
function fullDisk(existing: string[]): { make: typeof mkdir; calls: string[] } {
  const dirs = new Set(existing);
  const calls: string[] = [];
  const make = (async (p: string, options?: { recursive?: boolean }) => {
    calls.push(`${options?.recursive ? 'mkdir -p' : 'mkdir'} ${p}`);
    if (dirs.has(p)) {
      if (options?.recursive) return undefined;
      throw error('EEXIST', p);
    }
    if (options?.recursive) throw error('ENOENT', p); // Node's answer, whatever the cause
    if (!dirs.has(path.dirname(p))) throw error('ENOENT', p);
    throw error('ENOSPC', p);
  }) as typeof mkdir;
  return { make, calls };
}

describe('makeDir', () => {
  it('makes nested folders on a real disk, and is a no-op when they exist', async () => {
    const base = await mkdtemp(path.join(TEST_TMP, 'curate-makedir-'));
    try {
      const deep = path.join(base, 'a', 'b', 'c');
      await makeDir(deep);
      await makeDir(deep);
      expect((await stat(deep)).isDirectory()).toBe(true);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('a full disk is reported as ENOSPC on the first folder it could not make, not as ENOENT', async () => {
    const { make, calls } = fullDisk(['/', '/site']);
    await expect(makeDir('/site/.curate/tmp', make)).rejects.toMatchObject({ code: 'ENOSPC', path: '/site/.curate' });
    expect(calls).toEqual(['mkdir -p /site/.curate/tmp', 'mkdir /site/.curate/tmp', 'mkdir /site/.curate']);
  });

  it('only a parent missing: made one by one', async () => {
    const made = new Set(['/', '/site']);
    const make = (async (p: string, options?: { recursive?: boolean }) => {
      if (options?.recursive) throw error('ENOENT', p); // as if another process removed a parent meanwhile
      if (made.has(p)) throw error('EEXIST', p);
      if (!made.has(path.dirname(p))) throw error('ENOENT', p);
      made.add(p);
      return undefined;
    }) as typeof mkdir;
    await makeDir('/site/a/b', make);
    expect([...made]).toEqual(['/', '/site', '/site/a', '/site/a/b']);
  });
});
