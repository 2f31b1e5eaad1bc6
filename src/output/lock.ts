// One sync per output root at a time: `.curate/lock`, created with O_EXCL. A lock is
// stale, and taken over with a warning, when its process is gone (same host, pid not
// alive) or when it is older than a generous limit (a pid reused after a reboot, or a
// lock copied from another machine with the site repository).
//
// The lock records the REAL wall-clock start time, not the sync's injected clock: a
// run with `--now 2021-…` must not look five years old to the next run.
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { LockedError } from '../errors.js';
import { STATE_DIR } from './manifest.js';

export const LOCK_FILE = `${STATE_DIR}/lock`;

/** A lock older than this is stale whoever holds it. No sync of a site takes half a day. */
export const STALE_LOCK_MS = 12 * 60 * 60 * 1000;

/** What the lock file holds (one JSON line). */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time, wall clock of the process that took the lock. */
  startedAt: string;
}

export interface LockOptions {
  /** @default STALE_LOCK_MS */
  staleAfterMs?: number;
  /** Wall clock, for tests. @default () => new Date() */
  clock?: () => Date;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a held lock may be taken over, or null when its holder may still be running. */
export function staleReason(other: LockInfo, host: string, nowMs: number, staleAfterMs: number): string | null {
  if (other.hostname === host && !alive(other.pid)) return `pid ${other.pid} is not running`;
  const started = Date.parse(other.startedAt);
  if (Number.isFinite(started) && nowMs - started > staleAfterMs) return `it is older than ${Math.round(staleAfterMs / 3_600_000)} h`;
  return null;
}

export interface Lock {
  release(): Promise<void>;
  /** Set when a stale lock was taken over: who held it and why it was judged stale. */
  tookOver: (LockInfo & { reason: string }) | null;
}

async function readLock(file: string): Promise<LockInfo | null | 'absent'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.startedAt === 'string') return { pid: v.pid, hostname: v.hostname, startedAt: v.startedAt };
  } catch {
    /* being written right now, or corrupt */
  }
  return null;
}

function lockedMessage(root: string, other: LockInfo | null): string {
  const who = other ? `pid ${other.pid} on ${other.hostname}, started ${other.startedAt}` : 'another process';
  return `another curate sync (${who}) is writing to this output root; wait for it, or remove ${path.join(root, LOCK_FILE)} if you are sure it is gone`;
}

export async function acquireLock(root: string, options: LockOptions = {}): Promise<Lock> {
  const file = path.join(root, LOCK_FILE);
  const clock = options.clock ?? (() => new Date());
  const staleAfterMs = options.staleAfterMs ?? STALE_LOCK_MS;
  await mkdir(path.join(root, STATE_DIR), { recursive: true });
  const me: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: clock().toISOString() };
  let tookOver: Lock['tookOver'] = null;
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
    const other = await readLock(file);
    if (other === 'absent') continue; // released between our open and our read
    const reason = other === null ? null : staleReason(other, me.hostname, clock().getTime(), staleAfterMs);
    if (reason === null) {
      // An unreadable lock is most likely being written this instant: look again shortly.
      if (other === null && attempt < 2) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw new LockedError(lockedMessage(root, other));
    }
    tookOver = { ...other!, reason };
    await rm(file, { force: true });
  }
  throw new LockedError(`could not take the lock ${path.join(root, LOCK_FILE)}`);
}

/**
 * For dry runs, which must create nothing: fail with LockedError when a live sync holds
 * the root (its files and manifest may be half applied), without touching the lock.
 */
export async function assertNotLocked(root: string, options: LockOptions = {}): Promise<void> {
  const file = path.join(root, LOCK_FILE);
  const clock = options.clock ?? (() => new Date());
  const other = await readLock(file);
  if (other === 'absent') return;
  if (other !== null && staleReason(other, hostname(), clock().getTime(), options.staleAfterMs ?? STALE_LOCK_MS) !== null) return;
  throw new LockedError(`${lockedMessage(root, other)}; a dry run now could show a half-applied state`);
}
