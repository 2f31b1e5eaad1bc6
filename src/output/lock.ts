// One sync per output root at a time: `.curate/lock`, created with O_EXCL. A lock whose
// process is gone (same host, pid not alive) is stale and taken over.
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { LockedError } from '../errors.js';
import { STATE_DIR } from './manifest.js';

export const LOCK_FILE = `${STATE_DIR}/lock`;

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Lock {
  release(): Promise<void>;
  /** Set when a stale lock was taken over. */
  tookOver: LockInfo | null;
}

export async function acquireLock(root: string, now: Date = new Date()): Promise<Lock> {
  const file = path.join(root, LOCK_FILE);
  await mkdir(path.join(root, STATE_DIR), { recursive: true });
  const me: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: now.toISOString() };
  let tookOver: LockInfo | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return {
        tookOver,
        release: async () => {
          await rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let other: LockInfo | null = null;
    try {
      other = JSON.parse(await readFile(file, 'utf8')) as LockInfo;
    } catch {
      other = null; // being written right now, or corrupt
    }
    const stale = other !== null && other.hostname === me.hostname && !alive(other.pid);
    if (!stale) {
      if (other === null && attempt < 2) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const who = other ? `pid ${other.pid} on ${other.hostname}, started ${other.startedAt}` : 'another process';
      throw new LockedError(`another curate sync (${who}) is writing to this output root; wait for it, or remove ${path.join(root, LOCK_FILE)} if you are sure it is gone`);
    }
    tookOver = other;
    await rm(file, { force: true });
  }
  throw new LockedError(`could not take the lock ${path.join(root, LOCK_FILE)}`);
}
