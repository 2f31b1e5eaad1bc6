// What the output tree holds now, read cheaply: sha256 of a path (through the symlink
// guard), and "is this file there" answered from one readdir per folder.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.js';
import { createSymlinkGuard, resolveInside } from './paths.js';

/**
 * sha256 of what a path holds now, or null when nothing is there. The guard refuses
 * symlinked folders and has already looked at the path, so a file in a folder that does
 * not exist costs no syscall at all.
 */
export function createHasher(root: string): (rel: string) => Promise<string | null> {
  const guard = createSymlinkGuard(root);
  return async (rel) => {
    const kind = await guard(rel);
    if (kind === 'missing') return null;
    const abs = resolveInside(root, rel);
    if (kind !== 'file') throw new OutputError(`${abs} exists and is not a regular file`);
    try {
      return createHash('sha256').update(await readFile(abs)).digest('hex');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  };
}

/**
 * Whether files are on disk, from folder listings (one readdir per folder, cached for the
 * run) rather than one stat per file: 20,000 stats were most of a no-change sync.
 */
export function createPresenceCheck(root: string): (rels: Iterable<string>) => Promise<boolean> {
  const listings = new Map<string, Promise<Set<string> | null>>();
  const one = async (rel: string): Promise<boolean> => {
    const dir = path.posix.dirname(rel);
    let names = listings.get(dir);
    if (!names) {
      names = readdir(path.join(root, dir)).then(
        (list) => new Set(list),
        () => null,
      );
      listings.set(dir, names);
    }
    return (await names)?.has(path.posix.basename(rel)) ?? false;
  };
  return async (rels) => (await Promise.all([...rels].map(one))).every(Boolean);
}
