// Issue 12 item 11: taking over a stale lock is atomic (many racers, exactly one holder),
// release() removes only its own lock, an old empty lock file is stale, and a claim left
// by a process killed mid-takeover does not block the root for good.
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { acquireLock, STALE_LOCK_MS, type Lock } from '../../src/output/lock.js';
import { ROOT, tempDir } from '../helpers/env.js';

/** A pid that surely is not running: a child that already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const lockPath = (root: string): string => path.join(root, '.curate', 'lock');

async function writeStaleLock(root: string, pid: number): Promise<void> {
  await mkdir(path.join(root, '.curate'), { recursive: true });
  await writeFile(lockPath(root), `${JSON.stringify({ pid, hostname: hostname(), startedAt: new Date().toISOString() })}\n`);
}

const nonceOf = async (root: string): Promise<string> => (JSON.parse(await readFile(lockPath(root), 'utf8')) as { nonce: string }).nonce;

describe('stale-lock takeover', () => {
  it('40 times, 8 racers take over one stale lock at once: exactly one holds it, the others are refused', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const dead = deadPid();
      for (let round = 0; round < 40; round++) {
        await writeStaleLock(dir, dead);
        const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(dir)));
        const held = results.filter((r): r is PromiseFulfilledResult<Lock> => r.status === 'fulfilled').map((r) => r.value);
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(held, `round ${round}`).toHaveLength(1);
        for (const r of refused) expect(r.reason, `round ${round}`).toBeInstanceOf(LockedError);
        // The holder's lock is the one on disk, and no claim is left behind.
        expect(held[0]!.tookOver?.pid === dead || held[0]!.tookOver === null).toBe(true);
        await held[0]!.release();
        expect(await readdir(path.join(dir, '.curate')), `round ${round}`).toEqual([]);
      }
    } finally {
      await cleanup();
    }
  });

  it('separate processes racing for one stale lock: exactly one holds it (6 rounds × 4 processes)', async () => {
    const { dir, cleanup } = await tempDir();
    const lockModule = pathToFileURL(path.join(ROOT, 'dist', 'output', 'lock.js')).href;
    // Each racer reports "held" or "refused", then keeps the lock until its stdin closes.
    const script = `
      import { acquireLock } from ${JSON.stringify(lockModule)};
      const root = process.argv[1];
      let lock = null;
      try { lock = await acquireLock(root); process.stdout.write('held\\n'); }
      catch (e) { process.stdout.write((e.code === 'LOCKED' ? 'refused' : 'error ' + e.message) + '\\n'); }
      process.stdin.resume();
      process.stdin.on('end', async () => { await lock?.release(); process.exit(0); });`;
    try {
      const dead = deadPid();
      for (let round = 0; round < 6; round++) {
        await writeStaleLock(dir, dead);
        const children = Array.from({ length: 4 }, () => spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
        const said = await Promise.all(
          children.map(
            (c) =>
              new Promise<string>((resolve) => {
                let out = '';
                c.stdout.on('data', (d: Buffer) => {
                  out += d.toString();
                  if (out.includes('\n')) resolve(out.trim());
                });
                c.on('close', () => resolve(out.trim()));
              }),
          ),
        );
        expect(said.filter((s) => s === 'held'), `round ${round}: ${said.join(', ')}`).toHaveLength(1);
        expect(said.filter((s) => s === 'refused'), `round ${round}: ${said.join(', ')}`).toHaveLength(3);
        await Promise.all(children.map((c) => new Promise((r) => (c.on('close', r), c.stdin.end()))));
        expect(await readdir(path.join(dir, '.curate')), `round ${round}`).toEqual([]);
      }
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('release() never removes a lock that is not its own: a holder judged stale and taken over leaves the new lock alone', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // A's lock says it started long ago, so B (real clock) judges it stale by age and takes over.
      const a = await acquireLock(dir, { clock: () => new Date(Date.now() - STALE_LOCK_MS - 60_000) });
      const b = await acquireLock(dir);
      expect(b.tookOver?.reason).toMatch(/older than 12 h/);
      const bNonce = await nonceOf(dir);
      await a.release();
      expect(await nonceOf(dir)).toBe(bNonce);
      // A third run is still refused: B holds the root.
      await expect(acquireLock(dir)).rejects.toThrow(LockedError);
      await b.release();
      expect(await readdir(path.join(dir, '.curate'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('a lock naming this very pid that this process does not hold (a restarted container reuses its pid) is stale and taken over', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(path.dirname(lockPath(dir)), { recursive: true });
      await writeFile(lockPath(dir), `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), nonce: 'cd'.repeat(12) })}\n`);
      const l = await acquireLock(dir);
      expect(l.tookOver?.reason).toMatch(/names this process/);
      // While held, the same process's next attempt is refused: the lock is live.
      await expect(acquireLock(dir)).rejects.toThrow(LockedError);
      await l.release();
    } finally {
      await cleanup();
    }
  });

  it('release() after the lock file was replaced by hand (another run started) leaves that file as it is', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const a = await acquireLock(dir);
      const other = `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), nonce: 'ab'.repeat(12) })}\n`;
      await writeFile(lockPath(dir), other);
      await a.release();
      expect(await readFile(lockPath(dir), 'utf8')).toBe(other);
    } finally {
      await cleanup();
    }
  });

  it('an empty lock file is refused while young and taken over once it is older than a few minutes', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(path.join(dir, '.curate'), { recursive: true });
      await writeFile(lockPath(dir), '');
      await expect(acquireLock(dir)).rejects.toThrow(LockedError);
      expect(await readFile(lockPath(dir), 'utf8')).toBe('');
      const old = new Date(Date.now() - 10 * 60_000);
      await utimes(lockPath(dir), old, old);
      const lock = await acquireLock(dir);
      expect(lock.tookOver?.reason).toMatch(/empty or unreadable and older than 5 min/);
      expect(await nonceOf(dir)).toMatch(/^[0-9a-f]{24}$/);
      await lock.release();
      expect(await readdir(path.join(dir, '.curate'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('a claim left by a process killed mid-takeover blocks only while it is fresh', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeStaleLock(dir, deadPid());
      const { nonce } = JSON.parse(await readFile(lockPath(dir), 'utf8')) as { nonce?: string };
      expect(nonce).toBeUndefined(); // a lock of an older version: known by inode and mtime
      const names = async (): Promise<string[]> => (await readdir(path.join(dir, '.curate'))).sort();
      // Learn the claim name the way a taker-over would: let one racer get as far as claiming.
      const before = await readFile(lockPath(dir), 'utf8');
      const { stat } = await import('node:fs/promises');
      const st = await stat(lockPath(dir), { bigint: true });
      const claim = `${lockPath(dir)}.i${st.ino}-${st.mtimeNs}.claim`;
      await writeFile(claim, '{"pid":1}\n');
      // Fresh claim: someone is removing this lock right now, so this run does not, and is refused.
      await expect(acquireLock(dir)).rejects.toThrow(LockedError);
      expect(await readFile(lockPath(dir), 'utf8')).toBe(before);
      // The same claim a minute later: its process was killed; the next claim number takes over.
      const old = new Date(Date.now() - 60_000);
      await utimes(claim, old, old);
      const lock = await acquireLock(dir);
      expect(lock.tookOver?.reason).toMatch(/is not running/);
      expect(await names()).toEqual(['lock']);
      await lock.release();
      expect(await names()).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
