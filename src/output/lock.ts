// One sync per output root at a time: `.curate/lock`, created with O_EXCL. A lock is
// stale, and taken over with a warning, when its process is gone (same host, pid not
// alive), when it is older than a generous limit (a pid reused after a reboot, or a lock
// copied from another machine with the site repository), or when it is an empty or
// unreadable file older than a few minutes (a process killed between creating and
// writing it).
//
// The lock records the REAL wall-clock start time, not the sync's injected clock: a
// run with `--now 2021-…` must not look five years old to the next run.
//
// Removing a lock is the racy part: "read it, judge it stale, unlink it" lets a slow
// process unlink the lock a faster one has just created in its place, and then both
// hold the root. So every removal of a lock file, by a process taking over a stale lock
// and by its holder on release alike, first claims that very lock: it creates
// `lock.<identity>.claim` (O_EXCL) for the lock's identity (the random nonce it
// records; an unreadable file: its inode and mtime). Only the claimant removes it, after
// checking that the lock is still the same file. A new lock only ever appears where
// there is none (O_EXCL), so while the claimed lock is in place nobody can swap it, and
// since identities never repeat a claim can never remove a later lock. A claim left by a
// process killed mid-takeover is itself stale after a while; the next claimant then
// takes the next number (`.claim.2`, …), again with O_EXCL, so exactly one process
// removes any given lock.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { LockedError } from '../errors.js';
import { STATE_DIR } from './manifest.js';
import { makeDir } from './writer.js';

export const LOCK_FILE = `${STATE_DIR}/lock`;

/** A lock older than this is stale whoever holds it. No sync of a site takes half a day. */
export const STALE_LOCK_MS = 12 * 60 * 60 * 1000;

/**
 * An empty or unreadable lock file older than this is stale: a process writes its
 * lock within milliseconds of creating it, so only a crash leaves one empty this long.
 */
export const STALE_EMPTY_LOCK_MS = 5 * 60 * 1000;

/** A claim (see the header) older than this was left by a killed process; claims live for milliseconds. */
export const STALE_CLAIM_MS = 30 * 1000;

/** How many stale claims on one lock are passed over before giving up. */
const MAX_CLAIMS = 8;

/** What the lock file holds (one JSON line). */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time, wall clock of the process that took the lock. */
  startedAt: string;
  /** Random, unique per lock: what a claim on this lock is named after. Absent in locks of older versions. */
  nonce?: string;
}

export interface LockOptions {
  /** @default STALE_LOCK_MS */
  staleAfterMs?: number;
  /** @default STALE_EMPTY_LOCK_MS */
  staleEmptyAfterMs?: number;
  /** Wall clock, for tests. @default () => new Date() */
  clock?: () => Date;
}

/** Whether a process with this pid runs on this machine (the model tests' scratch sweep asks too). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Nonces of the locks this process holds now. A lock naming this very pid on this host
 * that is not among them was left by an earlier process that had the same pid: a
 * container restarted after a hard kill usually gets the pid its predecessor had, and
 * "pid alive" would then keep it waiting on its own dead lock for hours.
 */
const heldHere = new Set<string>();

/** Why a held lock may be taken over, or null when its holder may still be running. */
export function staleReason(other: LockInfo, host: string, nowMs: number, staleAfterMs: number): string | null {
  if (other.hostname === host && other.pid === process.pid && !(other.nonce && heldHere.has(other.nonce))) return `it names this process (pid ${other.pid}), which does not hold it: an earlier process with the same pid left it`;
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

/** One lock file as read: its parsed content (null: empty or unreadable) and its identity. */
interface Seen {
  info: LockInfo | null;
  identity: string;
  mtimeMs: number;
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.startedAt === 'string') {
      return { pid: v.pid, hostname: v.hostname, startedAt: v.startedAt, ...(typeof v.nonce === 'string' && /^[0-9a-f]{8,64}$/.test(v.nonce) ? { nonce: v.nonce } : {}) };
    }
  } catch {
    /* being written right now, or corrupt */
  }
  return null;
}

/** Content and identity from one open file, so they describe the same lock. */
async function readSeen(file: string): Promise<Seen | 'absent'> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  try {
    const st = await fh.stat({ bigint: true });
    const info = parseLock(await fh.readFile('utf8'));
    // A nonce names the lock for good; a file without one is known by inode and mtime.
    const identity = info?.nonce ?? `i${st.ino}-${st.mtimeNs}`;
    return { info, identity, mtimeMs: Number(st.mtimeMs) };
  } finally {
    await fh.close();
  }
}

const claimName = (file: string, identity: string, n: number): string => `${file}.${identity}.claim${n > 1 ? `.${n}` : ''}`;

/**
 * Remove the lock `seen` if it is still the file at `file`, as the one process allowed
 * to: true when this call removed it (or it is already gone), false when someone else
 * holds the claim on it or the file there now is another lock.
 */
async function removeClaimed(file: string, seen: Seen): Promise<boolean> {
  // Claims are judged by the real clock, never an injected one: a test clock a day ahead
  // must not make a claim taken a millisecond ago look abandoned.
  const me = `${JSON.stringify({ pid: process.pid, hostname: hostname(), at: new Date().toISOString() })}\n`;
  for (let n = 1; n <= MAX_CLAIMS; n++) {
    const claim = claimName(file, seen.identity, n);
    let fh;
    try {
      fh = await open(claim, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Someone else is removing this lock, unless they were killed doing it long ago.
      const st = await stat(claim).catch(() => null);
      if (st && Date.now() - st.mtimeMs > STALE_CLAIM_MS) continue;
      return false;
    }
    try {
      await fh.writeFile(me);
    } finally {
      await fh.close();
    }
    try {
      const now = await readSeen(file);
      if (now === 'absent') return true;
      if (now.identity !== seen.identity) return false;
      await unlink(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      return true;
    } finally {
      // The lock is gone (or was never ours to remove): the claims on it serve no one now.
      for (let k = 1; k <= n; k++) await unlink(claimName(file, seen.identity, k)).catch(() => undefined);
    }
  }
  return false;
}

/** Claims on locks that are gone: left by a process killed mid-takeover or mid-release. */
async function sweepClaims(file: string, keep: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/\.(claim(\.\d+)?|new)$/.test(name) || name.includes(keep)) continue;
    await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

function lockedMessage(root: string, other: LockInfo | null): string {
  const who = other ? `pid ${other.pid} on ${other.hostname}, started ${other.startedAt}` : 'another process';
  return `another curate sync (${who}) is writing to this output root; wait for it, or remove ${path.join(root, LOCK_FILE)} if you are sure it is gone`;
}

/** Why `seen` may be taken over, or null when its holder may still be running (or writing it). */
function seenStaleReason(seen: Seen, host: string, nowMs: number, options: LockOptions): string | null {
  if (seen.info) return staleReason(seen.info, host, nowMs, options.staleAfterMs ?? STALE_LOCK_MS);
  const limit = options.staleEmptyAfterMs ?? STALE_EMPTY_LOCK_MS;
  return nowMs - seen.mtimeMs > limit ? `it is empty or unreadable and older than ${Math.round(limit / 60_000)} min` : null;
}

export async function acquireLock(root: string, options: LockOptions = {}): Promise<Lock> {
  const file = path.join(root, LOCK_FILE);
  const clock = options.clock ?? (() => new Date());
  await makeDir(path.join(root, STATE_DIR));
  const nonce = randomBytes(12).toString('hex');
  const me: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: clock().toISOString(), nonce };
  // Known as ours before the file exists: another acquireLock in this process that reads it
  // the moment it appears must see a live lock, not one "left by an earlier process".
  heldHere.add(nonce);
  try {
    return await acquireAs(file, me, nonce, root, clock, options);
  } catch (e) {
    heldHere.delete(nonce);
    throw e;
  }
}

async function acquireAs(file: string, me: LockInfo, nonce: string, root: string, clock: () => Date, options: LockOptions): Promise<Lock> {
  let tookOver: Lock['tookOver'] = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // Written whole and durable under a name of its own, then linked into place: link()
      // fails with EEXIST like O_EXCL, and the lock never exists empty (a process killed
      // between creating the lock and writing it left an empty lock that refused every
      // run for minutes).
      const fresh = `${file}.${nonce}.new`;
      const fh = await open(fresh, 'w', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(fresh, file);
      } catch (e) {
        // ENOENT: the holder of a lock we then lost to swept our file meanwhile; try again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      } finally {
        await unlink(fresh).catch(() => undefined);
      }
      await sweepClaims(file, nonce);
      const mine: Seen = { info: me, identity: nonce, mtimeMs: 0 };
      return {
        tookOver,
        // Only this lock: if it was judged stale and taken over meanwhile, the file there
        // now belongs to someone else and stays.
        release: async () => {
          heldHere.delete(nonce);
          await removeClaimed(file, mine);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const seen = await readSeen(file);
    if (seen === 'absent') continue; // released between our open and our read
    const reason = seenStaleReason(seen, me.hostname, clock().getTime(), options);
    if (reason === null) {
      // An unreadable lock is most likely being written this instant: look again shortly.
      if (seen.info === null && attempt < 2) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw new LockedError(lockedMessage(root, seen.info));
    }
    // Whether we removed it or a racer did, the lock is free again: compete for it anew.
    if (await removeClaimed(file, seen)) {
      tookOver = { ...(seen.info ?? { pid: 0, hostname: 'unknown', startedAt: new Date(seen.mtimeMs).toISOString() }), reason };
    } else {
      // Another process is removing it this instant: its new lock is what we will meet next.
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new LockedError(`could not take the lock ${file}: other processes kept taking it over at the same time`);
}

/**
 * For dry runs, which must create nothing: fail with LockedError when a live sync holds
 * the root (its files and manifest may be half applied), without touching the lock.
 */
export async function assertNotLocked(root: string, options: LockOptions = {}): Promise<void> {
  const file = path.join(root, LOCK_FILE);
  const clock = options.clock ?? (() => new Date());
  const seen = await readSeen(file);
  if (seen === 'absent') return;
  if (seenStaleReason(seen, hostname(), clock().getTime(), options) !== null) return;
  throw new LockedError(`${lockedMessage(root, seen.info)}; a dry run now could show a half-applied state`);
}

/**
 * A dry run takes no lock (it must create nothing): it refuses to read a root a live sync
 * is applying, and `check()` at its end fails with LockedError when a sync applied
 * anything meanwhile (the lock held, or manifest.json changed), so its plan never mixes
 * two states.
 */
export async function guardDryRun(root: string, manifestFile: string, options: LockOptions = {}): Promise<{ check(): Promise<void> }> {
  const read = (): Promise<Buffer | null> => readFile(path.join(root, manifestFile)).catch(() => null);
  const before = await read();
  await assertNotLocked(root, options);
  return {
    async check() {
      await assertNotLocked(root, options);
      const after = await read();
      if (!(before === null ? after === null : after?.equals(before))) {
        throw new LockedError('a curate sync applied changes to this output root while the dry run was reading it; run the dry run again');
      }
    },
  };
}
