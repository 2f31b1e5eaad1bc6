// Machine-local stamps of content folders: which folders need not be listed again.
//
// A run checks that the files its state records are still on disk by listing their folders
// (disk-state.ts); at 30,000 work packages that is 23 folders and 60,785 names, ~100 ms of a
// 0.5 s no-change run. A folder whose entries did not change since a run found every file
// the state records in it need not be listed again: adding, removing or renaming a name
// changes the folder's mtime and ctime, and ctime cannot be set back by a user.
//
// The stamps describe this disk (device, inode, times), so they are kept apart from the
// state: `.curate/local/`, which holds its own `.gitignore` (`*`), so `git add -A` leaves it
// out, and `--git-commit` commits only the state. They are tied to one state (the sha256 of
// the manifest.json they were recorded with): a state written by another run, restored
// from git or edited voids them. What a run may record is decided in sync/folder-trust.ts.
import { open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { STATE_DIR } from './manifest.js';
import { makeDir, tempPathFor, writeTextAtomic } from './writer.js';

export const LOCAL_DIR = `${STATE_DIR}/local`;
export const FOLDER_STAMPS_FILE = `${LOCAL_DIR}/folder-stamps.json`;
const FORMAT = 1;

/** A folder as stat sees it now. */
export interface FolderStat {
  /** `device:inode:ctime-ns:mtime-ns`: equal stamps, no name added, removed or renamed in between. */
  stamp: string;
  /** The later of its mtime and ctime, in ms. */
  changedMs: number;
  /** The same in ns, as the filesystem stores it (compared with a `FileClock`). */
  changedNs: bigint;
  /** The filesystem it is on. */
  dev: bigint;
}

/** The time of a filesystem's own clock at one moment: a file made then, as stat sees it. */
export interface FileClock {
  dev: bigint;
  ns: bigint;
}

/** The folder's stamp, or null when it is not a folder (missing, or something else). */
export async function statFolder(abs: string): Promise<FolderStat | null> {
  try {
    const st = await stat(abs, { bigint: true });
    if (!st.isDirectory()) return null;
    const changedNs = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
    return { stamp: `${st.dev}:${st.ino}:${st.ctimeNs}:${st.mtimeNs}`, changedMs: Number(changedNs / 1_000_000n), changedNs, dev: st.dev };
  } catch {
    return null;
  }
}

/**
 * The clock the filesystem under `.curate/local/` stamps files with, read now: a file is
 * made there, stat'ed and removed. A folder on that filesystem whose last change is earlier
 * than this cannot change afterwards without its stamp changing too, whatever the
 * timestamps' granularity (a clock tick, or two seconds on FAT) and whatever this machine's
 * clock says (a network share stamps with the server's). Null when it cannot be read.
 */
export async function readFileClock(root: string): Promise<FileClock | null> {
  try {
    const dir = await localDir(root);
    // A temp file's name: a killed run's is swept by the next real run.
    const probe = tempPathFor(path.join(dir, 'clock'), dir);
    const fh = await open(probe, 'wx');
    try {
      const st = await fh.stat({ bigint: true });
      return { dev: st.dev, ns: st.mtimeNs < st.ctimeNs ? st.mtimeNs : st.ctimeNs };
    } finally {
      await fh.close();
      await unlink(probe);
    }
  } catch {
    return null;
  }
}

/** The stamps recorded with the state whose manifest has this digest (empty: none, another state's, or unreadable). */
export async function readFolderStamps(root: string, manifestDigest: string | undefined): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!manifestDigest) return out;
  try {
    const json = JSON.parse(await readFile(path.join(root, FOLDER_STAMPS_FILE), 'utf8')) as { version?: unknown; manifest?: unknown; folders?: unknown };
    if (json.version !== FORMAT || json.manifest !== manifestDigest || typeof json.folders !== 'object' || json.folders === null) return out;
    for (const [dir, stamp] of Object.entries(json.folders as Record<string, unknown>)) if (typeof stamp === 'string') out.set(dir, stamp);
  } catch {
    // No stamps (or a damaged file, rewritten by the next run that records any): every folder is listed.
  }
  return out;
}

/** Records the stamps with the digest of the state they belong to; nothing is written when they are what `before` holds. */
export async function writeFolderStamps(root: string, manifestDigest: string, stamps: ReadonlyMap<string, string>, before: { digest: string | undefined; stamps: ReadonlyMap<string, string> }): Promise<boolean> {
  const same = before.digest === manifestDigest && before.stamps.size === stamps.size && [...stamps].every(([d, s]) => before.stamps.get(d) === s);
  if (same || (stamps.size === 0 && before.stamps.size === 0 && !(await exists(path.join(root, FOLDER_STAMPS_FILE))))) return false;
  const dir = await localDir(root);
  const folders = Object.fromEntries([...stamps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const text = `${JSON.stringify({ version: FORMAT, manifest: manifestDigest, folders }, null, 2)}\n`;
  // Its temp file stays in this folder (a killed run's is ignored there, like the rest of it).
  return writeTextAtomic(path.join(root, FOLDER_STAMPS_FILE), [text], dir);
}

/** `.curate/local/`, made with the `.gitignore` that keeps it out of git. */
export async function localDir(root: string): Promise<string> {
  const dir = path.join(root, LOCAL_DIR);
  await makeDir(dir);
  const ignore = path.join(dir, '.gitignore');
  if (!(await exists(ignore))) await writeFile(ignore, '# Machine-local caches of curate (folder-stamps.ts): never committed.\n*\n');
  return dir;
}

async function exists(abs: string): Promise<boolean> {
  return stat(abs).then(
    () => true,
    () => false,
  );
}
