// Files read and written through a few reused byte buffers instead of one new buffer per
// file: the state's shards (~0.5 MB each), the entry spill's files, and the files whose
// bytes a run hashes.
//
// Why: `readFile(f, 'utf8')` and `fh.writeFile(text)` each allocate a buffer the size of
// the file outside the JS heap, freed only when the garbage collector finds it. A run that
// reads and rewrites 100 shards made ~100 MB of such buffers between two collections, and
// the C allocator kept much of that memory after they were freed: at 100,000 work packages
// a 1 % run peaked while writing the state, with ~100 MB of the process's memory outside
// the heap. Text decoded from a buffer is a copy on the heap, so a buffer is free again as
// soon as the call returns.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes of buffers kept for reuse at most: a text too large for it gets a buffer of its own. */
const POOL_BYTES = 8 << 20;
/** Buffers are sized in steps of this (a file hashed is read in chunks of this size). */
const STEP = 256 << 10;

const pool: Buffer[] = [];

function take(bytes: number): Buffer {
  for (let i = 0; i < pool.length; i++) {
    if (pool[i]!.length >= bytes) return pool.splice(i, 1)[0]!;
  }
  // Sized with room to spare: shards grow a little between runs.
  return Buffer.allocUnsafeSlow(Math.ceil((bytes * 1.25) / STEP) * STEP || STEP);
}

function give(buf: Buffer): void {
  let held = 0;
  for (const b of pool) held += b.length;
  if (held + buf.length <= POOL_BYTES) pool.push(buf);
}

/** Grows `buf` (already holding `used` bytes) to at least `bytes`, giving the old one back. */
function grow(buf: Buffer, used: number, bytes: number): Buffer {
  const bigger = take(bytes);
  buf.copy(bigger, 0, 0, used);
  give(buf);
  return bigger;
}

/** A whole file as UTF-8 text, as `readFile(file, 'utf8')` gives it. */
export async function readText(file: string): Promise<string> {
  const fh = await open(file, 'r');
  let buf: Buffer | null = null;
  try {
    const size = (await fh.stat()).size;
    // One byte more than the size: a read that fills it means the file grew meanwhile.
    buf = take(size + 1);
    let used = 0;
    for (;;) {
      if (used === buf.length) buf = grow(buf, used, used * 2);
      const { bytesRead } = await fh.read(buf, used, buf.length - used, used);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    return buf.toString('utf8', 0, used);
  } finally {
    if (buf) give(buf);
    await fh.close();
  }
}

/** readText, synchronously. */
export function readTextSync(file: string): string {
  const fd = openSync(file, 'r');
  let buf: Buffer | null = null;
  try {
    buf = take(fstatSync(fd).size + 1);
    let used = 0;
    for (;;) {
      if (used === buf.length) buf = grow(buf, used, used * 2);
      const bytesRead = readSync(fd, buf, used, buf.length - used, used);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    return buf.toString('utf8', 0, used);
  } finally {
    if (buf) give(buf);
    closeSync(fd);
  }
}

/** Writes `text` as UTF-8 at the start of an open file, as `fh.writeFile(text, 'utf8')` does for a new one. */
export async function writeText(fh: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.byteLength(text, 'utf8');
  const buf = take(bytes);
  try {
    const encoded = buf.write(text, 0, bytes, 'utf8');
    for (let done = 0; done < encoded; ) done += (await fh.write(buf, done, encoded - done, done)).bytesWritten;
  } finally {
    give(buf);
  }
}

/** Appends `text` as UTF-8 to an open file (opened with the `a` flag). */
export async function appendText(fh: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.byteLength(text, 'utf8');
  const buf = take(bytes);
  try {
    const encoded = buf.write(text, 0, bytes, 'utf8');
    for (let done = 0; done < encoded; ) done += (await fh.write(buf, done, encoded - done)).bytesWritten;
  } finally {
    give(buf);
  }
}

/** sha256 (hex) of a file's bytes, read in chunks; rejects as `readFile` would (ENOENT, EISDIR, …). */
export async function sha256OfFile(file: string): Promise<string> {
  const fh = await open(file, 'r');
  const buf = take(STEP);
  try {
    const hash = createHash('sha256');
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, STEP, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    give(buf);
    await fh.close();
  }
}

/** Buffers held for reuse now (tests). */
export const pooledBuffers = (): number => pool.length;
