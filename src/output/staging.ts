// Downloads land in a staging folder first (under the output root for a real run, so
// moving them into place is a rename on the same filesystem; in the system temp folder
// for a dry run, which must write nothing under the root). Each attempt truncates.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DownloadSink } from '../openproject/types.js';
import { STATE_DIR } from './manifest.js';
import { TEMP_PREFIX } from './writer.js';

export interface Staging {
  dir: string;
  /** A sink for one attachment; `result()` gives the file and its sha256 once the download ended. */
  sink(attachmentId: number): DownloadSink & { result(): { file: string; sha256: string } };
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
    async head(file, max) {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(max);
        const { bytesRead } = await fh.read(buf, 0, max, 0);
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

/** Remove what a killed run left: staging folders and `.curate-tmp-*` files. Only called under the lock. */
export async function sweepLeftovers(root: string): Promise<number> {
  let removed = 0;
  await rm(path.join(root, STATE_DIR, 'staging'), { recursive: true, force: true });
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
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && !e.isSymbolicLink()) await walk(p);
      else if (e.isFile() && e.name.startsWith(TEMP_PREFIX)) {
        await rm(p, { force: true });
        removed++;
      }
    }
  };
  await walk(root);
  return removed;
}
