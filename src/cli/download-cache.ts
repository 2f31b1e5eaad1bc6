// Verified downloads kept between runs: a dry run and the real run after it (or a run
// stopped with Ctrl-C and the next one) download each attachment once. A wrapper around
// the client's `downloadAttachment`, so the engine is unchanged: a hit streams the cached
// bytes into the engine's sink, checked against the attachment's md5 and size as the
// network bytes are; a miss downloads as before and keeps the bytes once the client has
// verified them (a hard link to the engine's staged file where the filesystem allows, so
// a cold sync writes no second copy; the cached entry may then share its inode with the
// published file, which is why a hit is always checked against md5 and size). Best effort: any cache problem falls back to the network, never fails a run.
//
// The cache lives outside the output root (a dry run writes nothing there):
// $CURATE_CACHE_DIR, else $XDG_CACHE_HOME/curate/downloads, else ~/.cache/curate/downloads;
// `CURATE_CACHE_DIR=off` turns it off. Entries are keyed by instance, attachment id, md5
// and size. A real run that applied removes the entries it used (their bytes are in the
// output tree now, and the manifest's md5 spares the next download), except those of
// failed work packages; entries unused for 7 days are removed.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync, statSync, unlinkSync } from 'node:fs';
import { copyFile, link, mkdir, open, opendir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import type { Dir } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { DownloadResult, DownloadSink, DownloadWriter, OpenProjectClient } from '../openproject/types.js';
import type { Attachment } from '../types.js';

export const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Cache entries settled between two turns of the event loop when a run is done. */
const FINISH_BATCH = 256;

/** The cache folder for this environment, or null when turned off or no home is known. */
export function downloadCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env.CURATE_CACHE_DIR?.trim();
  if (explicit) return explicit === 'off' || explicit === '0' ? null : path.resolve(explicit);
  const base = env.XDG_CACHE_HOME?.trim() || (env.HOME?.trim() ? path.join(env.HOME.trim(), '.cache') : homedir() ? path.join(homedir(), '.cache') : '');
  return base ? path.join(base, 'curate', 'downloads') : null;
}

export interface CachingClient {
  client: OpenProjectClient;
  /** Downloads served from the cache, and downloads kept in it, so far. */
  stats(): { hits: number; stored: number };
  /** After the run: drop the entries a run that applied no longer needs, and stale ones. */
  finish(o: { applied: boolean; failedWorkPackages: ReadonlySet<number> }): Promise<void>;
}

export function withDownloadCache(client: OpenProjectClient, dir: string | null): CachingClient {
  if (dir === null) return { client, stats: () => ({ hits: 0, stored: 0 }), finish: async () => undefined };
  const folder = path.join(dir, createHash('sha256').update(client.baseUrl).digest('hex').slice(0, 16));
  let usable: Promise<boolean> | null = null;
  const ready = (): Promise<boolean> =>
    (usable ??= mkdir(folder, { recursive: true }).then(
      () => true,
      () => false,
    ));
  // An entry's name is `<attachment id>-<md5>-<size>`; `attachmentOf` reads the id back.
  const entryOf = (a: Attachment): string | null => (a.md5 && /^[0-9a-f]{32}$/i.test(a.md5) ? path.join(folder, `${a.id}-${a.md5.toLowerCase()}-${a.fileSize}`) : null);
  const attachmentOf = (name: string): number => Number(name.slice(0, name.indexOf('-')));
  /**
   * Attachments whose entry this run read or wrote, with their work package. Keyed by the
   * attachment's id, not the entry's name: a name sliced from its full path kept that path
   * alive, ~140 bytes an attachment (5.2 MB in a cold sync of 30,000, a heap snapshot).
   * An attachment's id names its bytes (attachments are not edited in place), so every
   * entry of a used id is used.
   */
  const touched = new Map<number, number>();
  let hits = 0;
  let stored = 0;

  /** Stream a cached entry into the sink; null (and the entry removed) when it does not match. */
  const fromCache = async (a: Attachment, entry: string, sink: DownloadSink, maxBytes: number | undefined): Promise<DownloadResult | null> => {
    const st = await stat(entry).catch(() => null);
    if (!st || st.size !== a.fileSize || (maxBytes !== undefined && st.size > maxBytes)) return null;
    const writer = await sink.open();
    const md5 = createHash('md5');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(entry, { highWaterMark: 1 << 18 })) {
        const c = chunk as Buffer;
        md5.update(c);
        bytes += c.length;
        await writer.write(c);
      }
    } catch {
      await writer.abort();
      return null;
    }
    const digest = md5.digest('hex');
    if (bytes !== a.fileSize || digest !== a.md5!.toLowerCase()) {
      await writer.abort();
      await rm(entry, { force: true });
      return null;
    }
    await writer.end();
    const now = new Date();
    await utimes(entry, now, now).catch(() => undefined);
    return { bytes, md5: digest };
  };

  /** Puts a verified file's bytes in the cache: a hard link (no copy) where the filesystem allows, else a copy. */
  const keep = async (file: string, entry: string, a: Attachment): Promise<void> => {
    const tmp = tempName();
    try {
      await link(file, tmp).catch(() => copyFile(file, tmp));
      await rename(tmp, entry);
      touched.set(a.id, a.containerId);
      stored += 1;
    } catch {
      await rm(tmp, { force: true });
    }
  };
  const tempName = (): string => path.join(folder, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

  /**
   * The engine's sink, keeping the bytes once verified: the writer's own file linked into
   * the cache when it has one (the engine's staging), else a copy of each attempt's bytes
   * written beside it. (A copy of every chunk cost a cold sync of 10,000 work packages a
   * third of its CPU time: 19.2 s of fetch against 13.2 s without the cache, no latency.)
   */
  const teeing = (sink: DownloadSink, entry: string, a: Attachment): DownloadSink => ({
    async open(): Promise<DownloadWriter> {
      const inner = await sink.open();
      const own = inner.file;
      if (own !== undefined) {
        return {
          file: own,
          write: (chunk) => inner.write(chunk),
          async end() {
            await inner.end();
            await keep(own, entry, a);
          },
          abort: () => inner.abort(),
        };
      }
      const tmp = tempName();
      let fh: FileHandle | null = await open(tmp, 'w').catch(() => null);
      const drop = async (): Promise<void> => {
        const h = fh;
        fh = null;
        await h?.close().catch(() => undefined);
        await rm(tmp, { force: true });
      };
      return {
        async write(chunk) {
          await inner.write(chunk);
          if (fh) await fh.write(chunk).catch(drop);
        },
        async end() {
          // Called once the client verified size and md5: the copy is good.
          await inner.end();
          if (!fh) return;
          const h = fh;
          fh = null;
          try {
            await h.close();
            await rename(tmp, entry);
            touched.set(a.id, a.containerId);
            stored += 1;
          } catch {
            await rm(tmp, { force: true });
          }
        },
        async abort() {
          await drop();
          await inner.abort();
        },
      };
    },
  });

  const downloadAttachment: OpenProjectClient['downloadAttachment'] = async (a, sink, options) => {
    const entry = entryOf(a);
    if (entry === null || !(await ready())) return client.downloadAttachment(a, sink, options);
    const hit = await fromCache(a, entry, sink, options?.maxBytes).catch(() => null);
    if (hit) {
      hits += 1;
      touched.set(a.id, a.containerId);
      return hit;
    }
    return client.downloadAttachment(a, teeing(sink, entry, a), options);
  };
  // Every other member is the client's own, called on the client itself.
  const wrapped = new Proxy(client, {
    get(target, prop) {
      if (prop === 'downloadAttachment') return downloadAttachment;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });

  return {
    client: wrapped,
    stats: () => ({ hits, stored }),
    async finish({ applied, failedWorkPackages }) {
      if (!(await ready())) return;
      const cutoff = Date.now() - CACHE_MAX_AGE_MS;
      const used = (name: string): boolean => {
        if (!applied) return false;
        const wp = touched.get(attachmentOf(name));
        return wp !== undefined && !failedWorkPackages.has(wp);
      };
      // An entry this run used is a file to remove; another is removed when it is a temp
      // file of a run killed mid-download, or nobody used it for a week.
      const settle = (name: string): void => {
        const p = path.join(folder, name);
        try {
          if (used(name)) unlinkSync(p);
          else {
            const st = statSync(p, { throwIfNoEntry: false });
            if (st && (st.mtimeMs < cutoff || (name.startsWith('.tmp-') && st.mtimeMs < Date.now() - 24 * 3600 * 1000))) rmSync(p, { force: true });
          }
        } catch {
          // Cleaning the cache up never fails a run.
        }
      };
      // The names are read a batch at a time, not all at once: after a first sync of 100,000
      // work packages the cache holds ~126,000 entries, and reading them in one array raised
      // the end of that run, its peak, by 5–7 MB. Entries removed meanwhile are ones already
      // read; the others are each read once. Each is settled with a synchronous call, a
      // batch between two turns of the event loop: a promise and a request object per entry
      // (32 at a time) outlived young collections, 12 MB of garbage at the end of that run,
      // when it peaked (docs/performance.md, twenty-fourth session).
      const dir = await opendir(folder, { bufferSize: 1024 }).catch(() => null);
      if (!dir) return;
      try {
        let n = 0;
        for (const name of namesIn(dir)) {
          settle(name);
          if (++n % FINISH_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        await dir.close().catch(() => undefined);
      }
    },
  };
}

/**
 * The names in a folder, read a batch at a time (`readSync`: one system call per batch of
 * its buffer size). A folder that cannot be read further ends the list: cleaning the cache
 * up never fails a run.
 */
export function* namesIn(dir: Pick<Dir, 'readSync'>): Generator<string> {
  const next = (): string | null => {
    try {
      return dir.readSync()?.name ?? null;
    } catch {
      return null;
    }
  };
  for (let name = next(); name !== null; name = next()) yield name;
}
