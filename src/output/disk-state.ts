// What the output tree holds now, read cheaply: sha256 of a path (through the symlink
// guard), and "is this file there" answered from one readdir per folder.
import { createHash } from 'node:crypto';
import { opendir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { statFolder, type FileClock, type FolderStat } from './folder-stamps.js';
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
  /**
   * Lists a folder now, for questions asked later in the run: a run that will ask about
   * every folder its state names lists them while it waits on the server, not after.
   * Settles when it is listed (a folder that cannot be listed holds nothing).
   */
  prefetch(dir: string): Promise<void>;
  /**
   * The run is over: no listing begins any more, and one under way ends at its next batch
   * (a run that failed early must not keep the process busy listing a large site).
   */
  stop(): void;
  /** The folders looked at so far: how each was found (folder-stamps.ts), and what a listing held. */
  observed(): ReadonlyMap<string, ObservedFolder>;
}

/** A folder as the presence check found it. */
export interface ObservedFolder {
  /** Its stat before it was listed (or trusted); null: not a folder. */
  before: FolderStat | null;
  /** When that stat was taken (ms since the epoch). */
  at: number;
  /** Its regular files as listed (every name, when its stamp was trusted instead); null: it could not be listed. */
  names: FolderNames | null;
  trusted: boolean;
  /**
   * The filesystem's own clock, read before `before` was taken (a folder listed after a run
   * wrote into it): its last change is compared with this instead of with `at` less a margin.
   */
  clock?: FileClock;
}

/**
 * A folder as it is now, listed after `clock` was read: the stat first, so that a change
 * made while it is listed shows as a new stamp. Null: not a folder, or not readable.
 */
export async function observeFolder(root: string, dir: string, clock: FileClock): Promise<ObservedFolder | null> {
  const abs = path.join(root, dir);
  const at = Date.now();
  const before = await statFolder(abs);
  if (!before) return null;
  const names = await listFolder(abs).catch(() => null);
  return names && { before, at, names, trusted: false, clock };
}

/** Every name asked about is there: a folder whose stamp says nothing changed since a run found all the state's files in it. */
const ALL_THERE: FolderNames = { has: () => true, hasHash: () => true };

/**
 * Whether files are on disk, from folder listings (one listing per folder, cached for the
 * run) rather than one stat per file: 20,000 stats were most of a no-change sync. Only
 * regular files count: a folder (or anything else) under a file's name is not the file, so
 * its work package is mapped again and the planner reports what is in the way.
 */
export function createPresenceCheck(root: string, trusted: ReadonlyMap<string, string> = new Map(), stampable: (dir: string) => boolean = () => false): PresenceCheck {
  const listing = new Map<string, Promise<void>>();
  /** Folder → how it was found, once listed or trusted (its `names` null: no such folder). */
  const observed = new Map<string, ObservedFolder>();
  let stopped = false;
  const list = (dir: string): Promise<void> => {
    let p = listing.get(dir);
    if (!p) {
      p = (async () => {
        if (stopped) return;
        const abs = path.join(root, dir);
        // Stat first: a change made while the folder is listed then shows as a new stamp.
        // Only folders that have a stamp or may get one: a folder of a few files costs about
        // as much to list as to stat.
        const at = Date.now();
        const before = trusted.has(dir) || stampable(dir) ? await statFolder(abs) : null;
        if (before && trusted.get(dir) === before.stamp) {
          observed.set(dir, { before, at, names: ALL_THERE, trusted: true });
          return;
        }
        const names = await listFolder(abs, () => stopped).catch(() => null);
        if (!stopped) observed.set(dir, { before, at, names, trusted: false });
      })();
      listing.set(dir, p);
    }
    return p;
  };
  // Checked synchronously once its folders are listed: a no-change sync asks this for every
  // owned file, and a promise per file was a large share of its garbage.
  return {
    async files(rels) {
      const files = [...rels].map(splitPath);
      for (const [dir] of files) if (!observed.has(dir)) await list(dir);
      return files.every(([dir, name]) => observed.get(dir)?.names?.has(name) ?? false);
    },
    async hashes(names) {
      for (const dir in names) {
        if (!observed.has(dir)) await list(dir);
        const here = observed.get(dir)?.names;
        if (!here) return false;
        // A trusted folder holds every name: its hashes are not decoded (a no-change run of
        // 30,000 decoded 60,000 of them, ~4.5 ms and their garbage, to answer yes each time).
        if (here !== ALL_THERE && !decodeHashes(names[dir]!).every((h) => here.hasHash(h))) return false;
      }
      return true;
    },
    prefetch: list,
    stop: () => void (stopped = true),
    observed: () => observed,
  };
}

/** A folder's regular files, asked by name or by a shard summary's name hash. */
export interface FolderNames {
  /** Whether a regular file of this name is there (by a 53-bit fingerprint of the name; see `nameKey`). */
  has(name: string): boolean;
  /** Whether a regular file whose name has this hash (shard-summary.ts `nameHash`) is there. */
  hasHash(h: number): boolean;
}

/** Entries read from the folder at a time. */
const LIST_BATCH = 1024;

/**
 * A folder's regular files, streamed from the directory rather than read as one array:
 * the largest folder of a 100,000-work-package site holds 127,000 files, and reading them
 * at once took 55 MB of RSS for a moment (their entries and names), then the names and a
 * set of them ~15 MB of heap. Only each name's 53-bit key is kept (8 bytes).
 *
 * Read with `readSync`, one batch of LIST_BATCH entries per system call, yielding to the
 * event loop between batches: the promise `read()` makes for every entry (and its
 * callback wrapper) were ~45 MB of garbage in a no-change sync of 30,000 work packages
 * (60,000 files), a fifth of all it allocated. A batch blocks for one `getdents` call.
 */
export async function listFolder(abs: string, stopped: () => boolean = () => false): Promise<FolderNames> {
  const dir = await opendir(abs, { bufferSize: LIST_BATCH });
  let keys = new Float64Array(LIST_BATCH);
  let count = 0;
  try {
    for (let seen = 1, entry = dir.readSync(); entry !== null; seen++, entry = dir.readSync()) {
      if (seen % LIST_BATCH === 0) {
        await new Promise<void>((resume) => setImmediate(resume));
        if (stopped()) break; // the caller discards what was read
      }
      if (!entry.isFile()) continue;
      if (count === keys.length) {
        const grown = new Float64Array(count * 2);
        grown.set(keys);
        keys = grown;
      }
      keys[count++] = nameKey(entry.name);
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
  return folderKeys(keys.slice(0, count).sort());
}

/** A folder's names as they are (tests, and callers that hold the names already). */
export function folderNames(names: Iterable<string>): FolderNames {
  return folderKeys(Float64Array.from(names, nameKey).sort());
}

/**
 * A name's key: its `nameHash` (32 bits, what shard summaries record) above 21 bits of a
 * second, independent hash, exact in a double. Two names share a key once in 2^53 pairs:
 * a missing file taken for present because another file in its folder has its key is less
 * likely, in a folder of 100,000 files, than one in 10^10 lookups.
 */
export function nameKey(name: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return nameHash(name) * KEY_LOW + ((h >>> 0) >>> 11);
}

const KEY_LOW = 2 ** 21;

/** Whether `sorted` holds a key in [from, to) (binary search for the first key ≥ from). */
function holdsRange(sorted: Float64Array, from: number, to: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! < to;
}

function folderKeys(sorted: Float64Array): FolderNames {
  return {
    has: (name) => {
      const key = nameKey(name);
      return holdsRange(sorted, key, key + 1);
    },
    hasHash: (h) => holdsRange(sorted, h * KEY_LOW, (h + 1) * KEY_LOW),
  };
}
