// Atomic file replacement: write a temp file, fsync it, rename it over the target. A
// killed run leaves the old file or the new one, never half of one. Temp files live in
// the output root's `.curate/tmp/` (same filesystem, so the rename is atomic) — never
// beside the target, where a site generator would read them — or, without a temp folder,
// beside the target as dot files named `.curate-tmp-*`. The next run sweeps stale ones.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
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

/**
 * Write bytes atomically unless the file already holds exactly these bytes. Returns true
 * when written. `prepared`: the caller already knows the bytes differ (its plan compared
 * digests) and made the target's folder and the temp folder, so neither is done again
 * for each of thousands of files.
 */
export async function writeFileAtomic(target: string, bytes: Buffer, tmpDir?: string, syncDir = true, prepared = false): Promise<boolean> {
  if (!prepared) {
    try {
      const current = await readFile(target);
      if (current.equals(bytes)) return false;
    } catch {
      /* missing: write it */
    }
    await mkdir(path.dirname(target), { recursive: true });
    if (tmpDir) await mkdir(tmpDir, { recursive: true });
  }
  const tmp = tempPathFor(target, tmpDir);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (syncDir) await fsyncDir(path.dirname(target));
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
