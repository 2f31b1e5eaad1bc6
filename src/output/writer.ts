// Atomic file replacement: write a temp file, fsync it, rename it over the target. A
// killed run leaves the old file or the new one, never half of one. Temp files live in
// the output root's `.curate/tmp/` (same filesystem, so the rename is atomic), not beside
// the target, where a site generator would read them; the next run sweeps stale ones. The
// one exception: a target folder on another filesystem (a mount inside the output root),
// where a rename from `.curate/` fails with EXDEV; there the copy is made as a dot file
// in the target's folder and renamed there (see copyBeside).
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export const TEMP_PREFIX = '.curate-tmp-';

// Unique per process (random prefix) and per file (counter): no random bytes per file.
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`;
let tempSeq = 0;

export function tempPathFor(target: string, tmpDir?: string): string {
  return path.join(tmpDir ?? path.dirname(target), `${TEMP_PREFIX}${PROCESS_TAG}-${++tempSeq}`);
}

/**
 * `mkdir -p`, reporting why it failed. Node's recursive mkdir (the promise and callback
 * forms, Node 20) answers ENOENT when the real cause is a full disk (ENOSPC), a read-only
 * filesystem (EROFS) or a permission (EACCES): nodejs/node#42808 (fixed for mkdirSync
 * only), #47098, #31481. A cold sync that filled the disk here failed with "ENOENT: no such
 * file or directory, mkdir '…/.curate/tmp'", which names neither the disk nor the cause. On
 * ENOENT the folders are made one by one, without `recursive`, which gives the real error.
 * `make` is the mkdir to use (tests give one that behaves like Node's on a full disk).
 */
export async function makeDir(dir: string, make: typeof mkdir = mkdir): Promise<void> {
  try {
    await make(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await makeEach(dir, make);
  }
}

/** Makes `dir` and any missing parent, each with a plain mkdir: its error is the system's own. */
async function makeEach(dir: string, make: typeof mkdir): Promise<void> {
  try {
    await make(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    await makeEach(parent, make);
    await make(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  // Best effort: makes the rename durable on power loss; not every platform allows it.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* ignore */
  }
}

/** Pieces of text joined into strings of at least `size` characters (the last may be shorter): fewer, larger writes. */
export function* inBatches(pieces: Iterable<string>, size = 1 << 16): Generator<string> {
  let buffered: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    buffered.push(piece);
    length += piece.length;
    if (length >= size) {
      yield buffered.join('');
      buffered = [];
      length = 0;
    }
  }
  if (length) yield buffered.join('');
}

async function sha256OfFile(file: string): Promise<string | null> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', () => resolve(null));
  });
}

/**
 * Write text given in pieces atomically, streamed (never whole in memory), unless the
 * target already holds the same bytes (compared by sha256). Returns true when written;
 * `onDigest` is told the sha256 either way.
 */
export async function writeTextAtomic(target: string, pieces: Iterable<string>, tmpDir: string, onDigest?: (sha256: string) => void): Promise<boolean> {
  await makeDir(tmpDir);
  const tmp = tempPathFor(target, tmpDir);
  const hash = createHash('sha256');
  const fh = await open(tmp, 'wx', 0o644);
  let same: boolean;
  try {
    for (const batch of inBatches(pieces)) {
      const bytes = Buffer.from(batch, 'utf8');
      hash.update(bytes);
      await fh.write(bytes);
    }
    const digest = hash.digest('hex');
    onDigest?.(digest);
    same = (await sha256OfFile(target)) === digest;
    // Only bytes that are about to replace the target need to be durable first.
    if (!same) await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  if (same) {
    await rm(tmp, { force: true });
    return false;
  }
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(target));
  return true;
}

/**
 * Durable bytes in a new temp file under `tmpDir`, to be renamed into place later (the
 * state's shards are staged while apply puts pages in place, then renamed together).
 * Returns the temp file's path.
 */
export async function stageDurably(target: string, pieces: readonly Buffer[], tmpDir: string): Promise<string> {
  const tmp = tempPathFor(target, tmpDir);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await writePieces(fh, pieces);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Pieces written in order with one system call where it takes them all (a spliced shard: a few dozen). */
async function writePieces(fh: FileHandle, pieces: readonly Buffer[]): Promise<void> {
  const size = pieces.reduce((n, b) => n + b.length, 0);
  const { bytesWritten } = pieces.length <= 256 ? await fh.writev(pieces) : { bytesWritten: 0 };
  // Whatever one call did not take (a short write, or too many pieces for one call) follows.
  if (bytesWritten < size) await fh.writeFile(Buffer.concat(pieces).subarray(bytesWritten));
}

/** Whether a file holds exactly these bytes, given in pieces (false when it does not exist). */
export async function holdsText(file: string, pieces: readonly Buffer[]): Promise<boolean> {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return (await sha256OfFile(file)) === hash.digest('hex');
}

/** Make a file's bytes durable (fdatasync: its data and the metadata needed to read it back). */
export async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * The renames that put files in place, behind one seam: tests replace `rename` to make one
 * path fail as a real system would (EXDEV across mounts) without needing a second filesystem.
 */
export const fsBoundary = {
  rename: (from: string, to: string): Promise<void> => rename(from, to),
};

/** Folders found on another filesystem than the output root's state folder (rename gives EXDEV), for this process. */
const crossDevice = new Set<string>();

const isCrossDevice = (e: unknown): boolean => (e as NodeJS.ErrnoException | null)?.code === 'EXDEV';

/**
 * Put `from`'s bytes at `target` when `target` lies on another filesystem than `from` (a
 * subfolder of the output root on another mount): copied to a temp file in the target's own
 * folder, made durable, then renamed over the target there, so the replacement is still
 * atomic. The temp file is a dot file (site generators skip them); one a killed run left
 * is removed the next time a run writes into that folder (only one run holds the lock):
 * `swept` holds the folders this run has already cleaned.
 */
async function copyBeside(from: string, target: string, swept: Set<string>): Promise<void> {
  const dir = path.dirname(target);
  if (!swept.has(dir)) {
    swept.add(dir);
    const mine = `${TEMP_PREFIX}${PROCESS_TAG}-`;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(TEMP_PREFIX) && !name.startsWith(mine)) await rm(path.join(dir, name), { force: true });
    }
  }
  const tmp = tempPathFor(target);
  try {
    await copyFile(from, tmp, fsConstants.COPYFILE_EXCL);
    await syncFile(tmp);
    await fsBoundary.rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Put a fully written, verified and durable staged file (Staging fsyncs what it writes in
 * a real run) in place atomically. The caller has made the target's folder and `tmpDir`,
 * and fsyncs the folder afterwards, once for all the files put in it. A target on another
 * filesystem than the staging folder (EXDEV) is written by a copy in its own folder instead;
 * pass one `swept` set per run (folders cleaned of temp files a killed run left there).
 */
export async function moveIntoPlace(staged: string, target: string, keepSource: boolean, tmpDir: string, swept: Set<string> = new Set()): Promise<void> {
  const dir = path.dirname(target);
  if (crossDevice.has(dir)) {
    await copyBeside(staged, target, swept);
    if (!keepSource) await rm(staged, { force: true });
    return;
  }
  if (keepSource) {
    // Several files from one staged download, or a file moved to a new path: copy, make
    // the copy durable before it becomes visible, then rename it over the target.
    const tmp = tempPathFor(target, tmpDir);
    await copyFile(staged, tmp);
    await syncFile(tmp);
    try {
      await fsBoundary.rename(tmp, target);
      return;
    } catch (e) {
      await rm(tmp, { force: true });
      if (!isCrossDevice(e)) throw e;
    }
  } else {
    // Staging lives under the output root: usually one atomic rename on the same filesystem.
    try {
      await fsBoundary.rename(staged, target);
      return;
    } catch (e) {
      if (!isCrossDevice(e)) throw e;
    }
  }
  crossDevice.add(dir);
  await copyBeside(staged, target, swept);
  if (!keepSource) await rm(staged, { force: true });
}
