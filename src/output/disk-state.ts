// What the output tree holds now, read cheaply: sha256 of a path (through the symlink
// guard), and "is this file there" answered from one readdir per folder.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createPathInspector, resolveInside } from './paths.js';
import { decodeHashes, nameHash, splitPath } from './shard-summary.js';

/**
 * What stands at an output path instead of a file or nothing, so that curate can neither
 * read nor replace it: a folder (or a device, a socket) where a file belongs, or a file
 * where one of its folders belongs. The work package that wants the path fails as an item
 * (naming both); nothing there is touched.
 */
export interface Blocked {
  blocked: string;
}

/**
 * sha256 of what a path holds now, null when nothing is there, or what blocks it. The
 * inspector refuses symlinked folders and has already looked at the path, so a file in a
 * folder that does not exist costs no syscall at all.
 */
export function createHasher(root: string): (rel: string) => Promise<string | null | Blocked> {
  const inspect = createPathInspector(root);
  return async (rel) => {
    const kind = await inspect(rel);
    if (kind === 'missing') return null;
    if (typeof kind === 'object') return { blocked: `${kind.notDir} is a file where a folder belongs` };
    if (kind === 'dir') return { blocked: 'a folder stands there, not a file' };
    if (kind !== 'file') return { blocked: 'something that is not a regular file stands there' };
    const abs = resolveInside(root, rel);
    try {
      return createHash('sha256').update(await readFile(abs)).digest('hex');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      // Replaced by a folder (or its folder by a file) since it was looked at.
      if (code === 'EISDIR') return { blocked: 'a folder stands there, not a file' };
      if (code === 'ENOTDIR') return { blocked: 'a file stands where one of its folders belongs' };
      throw e;
    }
  };
}

/** Whether files are on disk: by path, or by the name hashes a shard's summary records. */
export interface PresenceCheck {
  /** Whether every one of these paths is a regular file. */
  files(rels: Iterable<string>): Promise<boolean>;
  /** Whether, in each folder, every recorded name hash (shard-summary.ts) is the hash of a regular file there. */
  hashes(names: Readonly<Record<string, string>>): Promise<boolean>;
}

/**
 * Whether files are on disk, from folder listings (one readdir per folder, cached for the
 * run) rather than one stat per file: 20,000 stats were most of a no-change sync. Only
 * regular files count: a folder (or anything else) under a file's name is not the file, so
 * its work package is mapped again and the planner reports what is in the way.
 */
export function createPresenceCheck(root: string): PresenceCheck {
  /** Folder → names of the regular files in it (null: no such folder), once listed. */
  const listed = new Map<string, Set<string> | null>();
  const hashed = new Map<string, Set<number> | null>();
  const listing = new Map<string, Promise<void>>();
  const list = (dir: string): Promise<void> => {
    let p = listing.get(dir);
    if (!p) {
      p = readdir(path.join(root, dir), { withFileTypes: true }).then(
        (entries) => void listed.set(dir, new Set(entries.filter((e) => e.isFile()).map((e) => e.name))),
        () => void listed.set(dir, null),
      );
      listing.set(dir, p);
    }
    return p;
  };
  const hashesIn = (dir: string): Set<number> | null => {
    if (!hashed.has(dir)) {
      const names = listed.get(dir);
      hashed.set(dir, names ? new Set([...names].map(nameHash)) : null);
    }
    return hashed.get(dir)!;
  };
  // Checked synchronously once its folders are listed: a no-change sync asks this for every
  // owned file, and a promise per file was a large share of its garbage.
  return {
    async files(rels) {
      const files = [...rels].map(splitPath);
      for (const [dir] of files) if (!listed.has(dir)) await list(dir);
      return files.every(([dir, name]) => listed.get(dir)?.has(name) ?? false);
    },
    async hashes(names) {
      for (const dir in names) {
        if (!listed.has(dir)) await list(dir);
        const here = hashesIn(dir);
        if (!here) return false;
        for (const h of decodeHashes(names[dir]!)) if (!here.has(h)) return false;
      }
      return true;
    },
  };
}
