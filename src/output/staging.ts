// Downloads land in a staging folder first (under the output root for a real run, so
// moving them into place is a rename on the same filesystem; in the system temp folder
// for a dry run, which must write nothing under the root). Each attempt truncates.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DownloadSink } from '../openproject/types.js';
import { LOCAL_DIR } from './folder-stamps.js';
import { STATE_DIR } from './manifest.js';
import { makeDir, syncFile, TEMP_PREFIX } from './writer.js';

/** Bytes of each download kept in memory for probing (image headers, metadata JSON). */
export const HEAD_BYTES = 1 << 20;
const WRITE_BATCH = 1 << 18;

export interface Staging {
  dir: string;
  /**
   * A sink for one attachment; `result()` gives the file, its sha256 and its first
   * HEAD_BYTES (all of it when smaller) once the download ended.
   */
  sink(): DownloadSink & { result(): { file: string; name: string; sha256: string; head: Buffer } };
  /**
   * Stage a rendered text file. Held on disk rather than in memory until apply moves it
   * into place: with tens of thousands of work packages the texts would dominate memory.
   */
  putText(text: string): Promise<{ file: string; name: string; sha256: string }>;
  /**
   * A staged file's path from its name. Plans record names, not paths: a cold sync of
   * 100,000 work packages plans 200,000 staged files, and their full paths (~100 bytes
   * each, the output root's included) were ~20 MB of its heap.
   */
  pathOf(name: string): string;
  /**
   * Resolves once every file staged so far is durable (fsynced); rejects with the first
   * fsync failure. Apply awaits it before moving anything into place.
   */
  settle(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * fsyncs running at once in the background: libuv's thread pool less four, between 2 and
 * 12 (the CLI sizes the pool at 16, bin/curate.js; a program embedding the library keeps
 * libuv's default of 4, so 2). Each fsync holds a pool thread, and the other four are left
 * to the run's reads and writes. Why so many: an fsync of a file just written commits the
 * filesystem's journal, and on ext4 (data=ordered) that writes out every dirty page since
 * the last commit, so two at a time fell far behind a cold sync's downloads while fsyncs
 * issued together share a commit. A cold sync of 30,000 (simulator without added latency)
 * ended its fetch with 54,000 of 60,785 staged files still waiting with 2 (apply then
 * waited 7.2–8.2 s for them), 27,000–28,000 with 6, 13,700–17,200 with 8, none with 12
 * or 16 (apply 11.0 → 3.6 s); peak RSS 181–183 MB in all (docs/performance.md).
 */
const SYNC_CONCURRENCY = fsyncWorkers(process.env.UV_THREADPOOL_SIZE);

/** Background fsyncs for a thread pool of `poolSize` threads (libuv's `UV_THREADPOOL_SIZE`; unset or invalid: its default, 4). */
export function fsyncWorkers(poolSize: string | undefined): number {
  const n = Number(poolSize);
  const pool = Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
  return Math.min(12, Math.max(2, pool - 4));
}
/**
 * Finished files whose open handle waits for its fsync, at most: the fsync then needs no
 * second open and close of the file. Beyond it (the fsyncs fell behind, as on a slow disk
 * in a cold sync) a file is closed at once and opened again for its fsync, so the run never
 * holds more than this many descriptors for it.
 */
export const HELD_HANDLES = 64;

export async function createStaging(root: string, dryRun: boolean): Promise<Staging> {
  let dir: string;
  if (dryRun) dir = await mkdtemp(path.join(tmpdir(), 'curate-dry-run-'));
  else {
    dir = path.join(root, STATE_DIR, `staging-${process.pid}-${randomBytes(3).toString('hex')}`);
    await makeDir(dir);
  }
  // A real run's staged files are fsynced in the background as they are finished, during
  // the fetch (which mostly waits on the network), so that apply is one rename per file
  // (durable before it becomes visible) and neither a request slot nor a work package
  // waits for the disk. A dry run's staging is thrown away: no fsync.
  const durable = !dryRun;
  // Files waiting for their fsync are a list of names drained by SYNC_CONCURRENCY workers,
  // not a queued promise each: on a slow disk tens of thousands wait at the end of a cold
  // sync's fetch, and a promise, closures and a queue node per file were ~1 kB each (at
  // 5,000 work packages, 12 MB of the live heap before apply).
  const waiting: string[] = [];
  // The open handles of files in `waiting`, by name (at most HELD_HANDLES).
  const held = new Map<string, FileHandle>();
  let workers = 0;
  let idle: (() => void)[] = [];
  let syncError: unknown = null;
  // Set by dispose(): the staged files are about to be removed, so fsyncs still queued
  // (an aborted or failed run) are skipped rather than waited for.
  let disposing = false;
  const syncOne = async (name: string): Promise<void> => {
    const handle = held.get(name);
    if (!handle) {
      if (!disposing) await syncFile(path.join(dir, name));
      return;
    }
    held.delete(name);
    try {
      if (!disposing) await handle.datasync();
    } finally {
      await handle.close();
    }
  };
  const work = async (): Promise<void> => {
    workers += 1;
    try {
      for (let name = waiting.pop(); name !== undefined; name = waiting.pop()) {
        try {
          await syncOne(name);
        } catch (e) {
          syncError ??= e;
        }
      }
    } finally {
      workers -= 1;
      if (workers === 0) {
        const done = idle;
        idle = [];
        for (const wake of done) wake();
      }
    }
  };
  /**
   * A finished file, queued for its fsync. Its handle is closed by the fsync, or here when
   * HELD_HANDLES are held already; a dry run (no fsync) closes it at once.
   */
  const finished = async (name: string, handle: FileHandle): Promise<void> => {
    if (!durable || held.size >= HELD_HANDLES) await handle.close();
    else held.set(name, handle);
    if (!durable) return;
    // Names, not paths: on a slow disk the fsyncs of a cold sync fall tens of thousands behind.
    waiting.push(name);
    if (workers < SYNC_CONCURRENCY) void work();
  };
  const settle = async (): Promise<void> => {
    while (workers > 0 || waiting.length > 0) {
      if (workers === 0) void work();
      await new Promise<void>((wake) => idle.push(wake));
    }
    if (syncError) throw syncError;
  };
  const refuseIfDisposing = (): void => {
    if (disposing) throw new Error('the run is ending: staging is being removed');
  };
  // Names need only be unique inside this run's own folder: a counter (random bytes for
  // each of 20,000 files were measurable CPU). Short, so V8 keeps each as one flat string:
  // `${attachmentId}-${seq}` was 14 characters or more, a concatenation of three strings
  // (~52 bytes against ~20), and a cold sync's plan holds a name per file (a heap snapshot
  // at 100,000: 4.5 MB of them).
  let seq = 0;
  return {
    dir,
    sink() {
      const name = `a${++seq}`;
      const file = path.join(dir, name);
      let sha = '';
      let head: Buffer = Buffer.alloc(0);
      return {
        open() {
          // The file is opened (truncating an earlier attempt's bytes) at the first write
          // batch, or at end() for a small download: the client calls end() after it has
          // given back its request slot, so a small download does no disk work in the slot.
          let fh: FileHandle | null = null;
          const hash = createHash('sha256');
          // Chunks are gathered into writes of WRITE_BATCH bytes (a network chunk is often
          // 16 KiB: one threadpool round trip each was a large share of a cold sync's CPU),
          // and the first HEAD_BYTES are kept, so probing an image or reading a metadata
          // JSON needs no second open and read of the file just written.
          let pending: Uint8Array[] = [];
          let pendingBytes = 0;
          const kept: Uint8Array[] = [];
          let keptBytes = 0;
          const flush = async (): Promise<void> => {
            if (fh === null) refuseIfDisposing();
            fh ??= await open(file, 'w');
            if (!pendingBytes) return;
            const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
            pending = [];
            pendingBytes = 0;
            await fh.write(bytes);
          };
          return {
            file,
            async write(chunk: Uint8Array) {
              hash.update(chunk);
              if (keptBytes < HEAD_BYTES) {
                const part = chunk.subarray(0, HEAD_BYTES - keptBytes);
                kept.push(part);
                keptBytes += part.length;
              }
              pending.push(chunk);
              pendingBytes += chunk.length;
              if (pendingBytes >= WRITE_BATCH) await flush();
            },
            async end() {
              let first: Buffer;
              if (fh === null && pendingBytes === keptBytes) {
                // Nothing written yet and all of it within the head: one buffer is both.
                first = Buffer.concat(pending, pendingBytes);
                pending = [first];
              } else first = Buffer.concat(kept, keptBytes);
              // Let go of the network chunks before the file is written.
              kept.length = 0;
              await flush();
              const handle = fh!;
              fh = null;
              await finished(name, handle);
              sha = hash.digest('hex');
              head = first;
            },
            async abort() {
              pending = [];
              const handle = fh;
              fh = null;
              await handle?.close().catch(() => undefined);
            },
          };
        },
        result: () => ({ file, name, sha256: sha, head }),
      };
    },
    async putText(text) {
      refuseIfDisposing();
      const bytes = Buffer.from(text, 'utf8');
      const name = `t${++seq}`;
      const file = path.join(dir, name);
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(bytes);
      } catch (e) {
        await handle.close().catch(() => undefined);
        throw e;
      }
      await finished(name, handle);
      return { file, name, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    pathOf: (name) => path.join(dir, name),
    settle,
    async dispose() {
      disposing = true;
      await settle().catch(() => undefined);
      // A work package still running when an abort ends the run may have created a file
      // while rm walked the folder (rmdir then fails with ENOTEMPTY): try again. New files
      // are refused from now on, so this ends.
      for (let attempt = 0; ; attempt++) {
        try {
          await rm(dir, { recursive: true, force: true });
          return;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    },
  };
}

/**
 * Remove what a killed run left: staging folders and temp files, all inside the state
 * folder (temp files are never made beside the files a site reads). Only called under the lock.
 */
export async function sweepLeftovers(root: string): Promise<number> {
  let removed = 0;
  await rm(path.join(root, STATE_DIR, 'staging'), { recursive: true, force: true });
  try {
    removed += (await readdir(path.join(root, STATE_DIR, 'tmp'))).length;
  } catch {
    /* none */
  }
  await rm(path.join(root, STATE_DIR, 'tmp'), { recursive: true, force: true });
  try {
    for (const e of await readdir(path.join(root, STATE_DIR))) {
      if (e.startsWith('staging-')) {
        await rm(path.join(root, STATE_DIR, e), { recursive: true, force: true });
        removed++;
      }
    }
  } catch {
    /* no state dir yet */
  }
  // A temp file of the folder stamps' atomic write (folder-stamps.ts), left by a killed run.
  for (const e of await readdir(path.join(root, LOCAL_DIR)).catch(() => [] as string[])) {
    if (!e.startsWith(TEMP_PREFIX)) continue;
    await rm(path.join(root, LOCAL_DIR, e), { force: true });
    removed++;
  }
  return removed;
}
