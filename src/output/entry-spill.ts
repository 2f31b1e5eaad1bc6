// The entries a run maps, kept on disk (in the run's staging folder) until the state is
// written, rather than in memory: a cold sync of 100,000 work packages held ~1 kB of
// objects per entry from the moment it was mapped until its shard was written, most of
// the run's peak memory. Each shard's entries are appended to one file, one line per
// entry (`id JSON`); the last line of an id wins (a page mapped again). A shard's file is
// read back whole when its shard of the state is written.
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { inStableOrder, shardOf, type ManifestWorkPackage } from './manifest.js';
import { makeDir } from './writer.js';

/** Serialized entries buffered before they are appended to their shards' files (all shards together). */
const FLUSH_BYTES = 1 << 20;

export interface EntrySpill {
  /** Records a work package's entry (it replaces one put before for the same id). */
  put(id: number, entry: ManifestWorkPackage): void;
  /** The entries put for one shard's work packages, the last of each id. */
  read(shard: number): Promise<Map<number, ManifestWorkPackage>>;
  /** Shards with at least one entry put. */
  shards(): number[];
}

/**
 * A spill in `dir` (made on first flush), or in memory with `dir` null (tests, and pure
 * callers that never write). The folder belongs to the caller: staging removes it.
 */
export function createEntrySpill(dir: string | null): EntrySpill {
  if (dir === null) return memorySpill();
  const pending = new Map<number, string[]>();
  let pendingBytes = 0;
  /** Per shard, the append in flight (appends to one file stay in order). */
  const appends = new Map<number, Promise<void>>();
  let made: Promise<unknown> | null = null;
  let failure: unknown = null;
  const fileOf = (shard: number): string => path.join(dir, `${shard}.ndjson`);
  const flush = (shard: number): Promise<void> => {
    const lines = pending.get(shard);
    let chain = appends.get(shard) ?? Promise.resolve();
    if (!lines) return chain;
    pending.delete(shard);
    const text = lines.join('');
    made ??= makeDir(dir);
    const ready = made;
    chain = chain.then(async () => {
      await ready;
      await appendFile(fileOf(shard), text);
    });
    // Recorded here and thrown by the next put or read, so it is never an unhandled rejection.
    chain = chain.catch((e: unknown) => {
      failure ??= e;
    });
    appends.set(shard, chain);
    return chain;
  };
  const known = new Set<number>();
  return {
    put(id, entry) {
      if (failure) throw failure;
      const shard = shardOf(id);
      known.add(shard);
      // In the state's key order: read back, the entry is written as it is (stableJson copies nothing).
      const line = `${id} ${JSON.stringify(inStableOrder(entry))}\n`;
      let lines = pending.get(shard);
      if (!lines) pending.set(shard, (lines = []));
      lines.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= FLUSH_BYTES) {
        pendingBytes = 0;
        for (const s of [...pending.keys()]) void flush(s);
      }
    },
    async read(shard) {
      const out = new Map<number, ManifestWorkPackage>();
      if (!known.has(shard)) return out;
      const lines = pending.get(shard);
      if (lines) for (const l of lines) pendingBytes -= l.length;
      await flush(shard);
      if (failure) throw failure;
      const text = await readFile(fileOf(shard), 'utf8');
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start)) {
        const space = text.indexOf(' ', start);
        out.set(Number(text.slice(start, space)), JSON.parse(text.slice(space + 1, end)) as ManifestWorkPackage);
      }
      return out;
    },
    shards: () => [...known].sort((a, b) => a - b),
  };
}

function memorySpill(): EntrySpill {
  const byShard = new Map<number, Map<number, string>>();
  return {
    put(id, entry) {
      const shard = shardOf(id);
      let m = byShard.get(shard);
      if (!m) byShard.set(shard, (m = new Map()));
      // Serialized, as on disk: an entry changed by its mapper after it was put is not the one recorded.
      m.set(id, JSON.stringify(entry));
    },
    async read(shard) {
      return new Map([...(byShard.get(shard) ?? [])].map(([id, text]) => [id, JSON.parse(text) as ManifestWorkPackage]));
    },
    shards: () => [...byShard.keys()].sort((a, b) => a - b),
  };
}
