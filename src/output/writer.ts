// Atomic file replacement: write a temp file, fsync it, rename it over the target. A
// killed run leaves the old file or the new one, never half of one. Temp files live in
// the output root's `.curate/tmp/` (same filesystem, so the rename is atomic), never
// beside the target, where a site generator would read them. The next run sweeps stale ones.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export const TEMP_PREFIX = '.curate-tmp-';

// Unique per process (random prefix) and per file (counter): no random bytes per file.
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`;
let tempSeq = 0;

export function tempPathFor(target: string, tmpDir?: string): string {
  return path.join(tmpDir ?? path.dirname(target), `${TEMP_PREFIX}${PROCESS_TAG}-${++tempSeq}`);
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
 * target already holds the same bytes (compared by sha256). Returns true when written.
 */
export async function writeTextAtomic(target: string, pieces: Iterable<string>, tmpDir: string): Promise<boolean> {
  await mkdir(tmpDir, { recursive: true });
  const tmp = tempPathFor(target, tmpDir);
  const hash = createHash('sha256');
  const fh = await open(tmp, 'wx', 0o644);
  try {
    for (const batch of inBatches(pieces)) {
      const bytes = Buffer.from(batch, 'utf8');
      hash.update(bytes);
      await fh.write(bytes);
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  if ((await sha256OfFile(target)) === hash.digest('hex')) {
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

/** Put a fully written (and verified) staged file in place atomically. */
export async function moveIntoPlace(staged: string, target: string, keepSource: boolean, tmpDir?: string, syncDir = true, prepared = false): Promise<void> {
  if (!prepared) {
    await mkdir(path.dirname(target), { recursive: true });
    if (tmpDir) await mkdir(tmpDir, { recursive: true });
  }
  const tmp = tempPathFor(target, tmpDir);
  if (!keepSource) {
    // Durable before it becomes visible: a power cut must not leave an empty file in place.
    const fh = await open(staged, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  // Staging lives on the same filesystem (under the output root) so this is a rename;
  // a copy is needed when the staged bytes must stay (several files from one attachment).
  if (keepSource) await copyFile(staged, tmp);
  else await rename(staged, tmp);
  await rename(tmp, target);
  if (syncDir) await fsyncDir(path.dirname(target));
}
