// applyPlan on a real temp folder: when a file's bytes are already on disk at another path
// (content `copy`), apply moves them (one rename, same inode) only when the plan deletes
// that path and no other write copies from it; otherwise it copies, and the source stays.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStaging } from '../../src/output/staging.js';
import type { PlannedFile } from '../../src/plan/types.js';
import { applyPlan } from '../../src/sync/apply.js';
import { tempDir } from '../helpers/env.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function copy(to: string, from: string, bytes: string): PlannedFile {
  return { path: to, action: 'create', source: 's', workPackageId: 1, content: { kind: 'copy', from }, sha256: sha(bytes), oldSha256: null, binary: true };
}
function del(p: string, bytes: string): PlannedFile {
  return { path: p, action: 'delete', source: 's', workPackageId: 1, sha256: null, oldSha256: sha(bytes), binary: true };
}

describe('apply: bytes already on disk', () => {
  it('moves a source the plan deletes and copies one that stays or that two writes use', async () => {
    const { dir, cleanup } = await tempDir();
    const staging = await createStaging(dir, false);
    try {
      const files: Record<string, string> = { 'a/old.png': 'A', 'b/old.png': 'B', 'c/keep.png': 'C' };
      for (const [p, b] of Object.entries(files)) {
        await mkdir(path.join(dir, path.dirname(p)), { recursive: true });
        await writeFile(path.join(dir, p), b);
      }
      const ino = async (p: string): Promise<number> => (await stat(path.join(dir, p))).ino;
      const before = { a: await ino('a/old.png'), b: await ino('b/old.png'), c: await ino('c/keep.png') };
      const plan = [
        // Deleted, one use: moved.
        copy('a/new.png', 'a/old.png', 'A'),
        del('a/old.png', 'A'),
        // Deleted, two uses: both copied (a move would leave the second without a source).
        copy('b/one.png', 'b/old.png', 'B'),
        copy('b/two.png', 'b/old.png', 'B'),
        del('b/old.png', 'B'),
        // Not deleted: copied, and it stays.
        copy('c/new.png', 'c/keep.png', 'C'),
      ].sort((x, y) => (x.path < y.path ? -1 : 1));
      await applyPlan({ root: dir, files: plan, staging, pendingJournal: new Map(), carriedJournal: new Map(), journalFound: false, state: null, checkpoint: () => undefined, emit: () => undefined });

      expect(await ino('a/new.png')).toBe(before.a);
      expect(existsSync(path.join(dir, 'a/old.png'))).toBe(false);
      for (const p of ['b/one.png', 'b/two.png']) {
        expect(await readFile(path.join(dir, p), 'utf8')).toBe('B');
        expect(await ino(p)).not.toBe(before.b);
      }
      expect(existsSync(path.join(dir, 'b/old.png'))).toBe(false);
      expect(await readFile(path.join(dir, 'c/new.png'), 'utf8')).toBe('C');
      expect(await ino('c/new.png')).not.toBe(before.c);
      expect(await ino('c/keep.png')).toBe(before.c);
      // The journal is removed once the writes are in place (no state here to own them).
      expect(existsSync(path.join(dir, '.curate', 'journal.json'))).toBe(false);
    } finally {
      await staging.dispose();
      await cleanup();
    }
  });

  it('refuses a source whose folder was replaced by a symbolic link: nothing is read through it or moved', async () => {
    const { dir, cleanup } = await tempDir();
    const staging = await createStaging(dir, false);
    try {
      await mkdir(path.join(dir, 'elsewhere'), { recursive: true });
      await writeFile(path.join(dir, 'elsewhere', 'old.png'), 'A');
      const { symlink } = await import('node:fs/promises');
      await symlink(path.join(dir, 'elsewhere'), path.join(dir, 'a'));
      const plan = [copy('n/new.png', 'a/old.png', 'A'), del('a/old.png', 'A')];
      await expect(
        applyPlan({ root: dir, files: plan, staging, pendingJournal: new Map(), carriedJournal: new Map(), journalFound: false, state: null, checkpoint: () => undefined, emit: () => undefined }),
      ).rejects.toThrow(/symbolic link/);
      expect(await readFile(path.join(dir, 'elsewhere', 'old.png'), 'utf8')).toBe('A');
      expect(existsSync(path.join(dir, 'n/new.png'))).toBe(false);
    } finally {
      await staging.dispose();
      await cleanup();
    }
  });
});
