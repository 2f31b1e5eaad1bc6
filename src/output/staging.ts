// Downloads land in a staging folder first (under the output root for a real run, so
// moving them into place is a rename on the same filesystem; in the system temp folder
// for a dry run, which must write nothing under the root). Each attempt truncates.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DownloadSink } from '../openproject/types.js';
import { STATE_DIR } from './manifest.js';

export interface Staging {
  dir: string;
  /** A sink for one attachment; `result()` gives the file and its sha256 once the download ended. */
  sink(attachmentId: number): DownloadSink & { result(): { file: string; sha256: string } };
  /**
   * Stage a rendered text file. Held on disk rather than in memory until apply moves it
   * into place: with tens of thousands of work packages the texts would dominate memory.
   */
  putText(text: string): Promise<{ file: string; sha256: string }>;
  /** The first `max` bytes of a staged file (image probes need only the header). */
  head(file: string, max: number): Promise<Buffer>;
  dispose(): Promise<void>;
}

export async function createStaging(root: string, dryRun: boolean): Promise<Staging> {
  let dir: string;
  if (dryRun) dir = await mkdtemp(path.join(tmpdir(), 'curate-dry-run-'));
  else {
    dir = path.join(root, STATE_DIR, `staging-${process.pid}-${randomBytes(3).toString('hex')}`);
    await mkdir(dir, { recursive: true });
  }
  return {
    dir,
    sink(attachmentId) {
      const file = path.join(dir, `${attachmentId}-${randomBytes(4).toString('hex')}`);
      let sha = '';
      return {
        async open() {
          const fh = await open(file, 'w');
          const hash = createHash('sha256');
          return {
            async write(chunk: Uint8Array) {
              hash.update(chunk);
              await fh.write(chunk);
            },
            async end() {
              // No fsync here: it would hold a request slot. The file is fsynced when it is
              // moved into place (moveIntoPlace), off the network's critical path.
              await fh.close();
              sha = hash.digest('hex');
            },
            async abort() {
              await fh.close().catch(() => undefined);
            },
          };
        },
        result: () => ({ file, sha256: sha }),
      };
    },
    async putText(text) {
      const bytes = Buffer.from(text, 'utf8');
      const file = path.join(dir, `text-${randomBytes(6).toString('hex')}`);
      await writeFile(file, bytes, { flag: 'wx' });
      return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    async head(file, max) {
      const fh = await open(file, 'r');
      try {
        // Sized to the file when it is smaller: a fresh 1 MiB buffer per small image was
        // most of a cold sync's memory churn.
        const buf = Buffer.alloc(Math.min(max, (await fh.stat()).size));
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    async dispose() {
      await rm(dir, { recursive: true, force: true });
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
  return removed;
}
