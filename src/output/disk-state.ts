// What the output tree holds now, read cheaply: sha256 of a path (through the symlink
// guard), and "is this file there" answered from one readdir per folder.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createPathInspector, resolveInside } from './paths.js';
import { decodeHashes, hasHash, nameHash, splitPath } from './shard-summary.js';

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
  /** Folder → the regular files in it (null: no such folder), once listed. */
  const listed = new Map<string, FolderNames | null>();
  const listing = new Map<string, Promise<void>>();
  const list = (dir: string): Promise<void> => {
    let p = listing.get(dir);
    if (!p) {
      p = readdir(path.join(root, dir), { withFileTypes: true }).then(
        (entries) => void listed.set(dir, folderNames(entries.filter((e) => e.isFile()).map((e) => e.name))),
        () => void listed.set(dir, null),
      );
      listing.set(dir, p);
    }
    return p;
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
        const here = listed.get(dir);
        if (!here) return false;
        for (const h of decodeHashes(names[dir]!)) if (!hasHash(here.hashes, h)) return false;
      }
      return true;
    },
  };
}

/** A folder's file names, packed: asked by name (exact) or by name hash (a shard's summary). */
export interface FolderNames {
  has(name: string): boolean;
  /** Every name's hash (shard-summary.ts `nameHash`), ascending. */
  readonly hashes: Uint32Array;
}

/**
 * The names of one folder as one string and two arrays, not a string and a set entry per
 * name: one folder of a source holds a file per work package and more, and at 100,000 work
 * packages the names, their set and their hashes as numbers were 15 MB of a run's heap.
 */
export function folderNames(names: string[]): FolderNames {
  // Sorted by UTF-16 code units, as `compareAt` compares; "\0" never occurs in a file name.
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const joined = sorted.join('\0');
  const starts = new Uint32Array(sorted.length + 1);
  for (let i = 0, at = 0; i < sorted.length; i++) {
    starts[i] = at;
    at += sorted[i]!.length + 1;
  }
  starts[sorted.length] = joined.length + 1;
  const hashes = Uint32Array.from(sorted, nameHash).sort();
  const count = sorted.length; // not `sorted` in the closures: the names are let go of
  /** `name` against the i-th name: negative, zero or positive. */
  const compareAt = (name: string, i: number): number => {
    const from = starts[i]!;
    const length = starts[i + 1]! - 1 - from;
    const n = Math.min(length, name.length);
    for (let k = 0; k < n; k++) {
      const d = name.charCodeAt(k) - joined.charCodeAt(from + k);
      if (d) return d;
    }
    return name.length - length;
  };
  return {
    hashes,
    has(name) {
      let lo = 0;
      let hi = count - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const d = compareAt(name, mid);
        if (d === 0) return true;
        if (d > 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    },
  };
}
