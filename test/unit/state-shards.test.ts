// The sharded sync state (src/output/manifest.ts): manifest.json records each shard's
// digest; a run rewrites only the shards whose entries changed; files that disagree with
// the record (a run killed between writing a shard and manifest.json, a merge, a hand edit)
// are reported as torn; state from a newer curate, or git conflict markers, are refused
// with what to do.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStateCache, emptyManifest, readState, SHARD_DIR, shardedEntries, shardFile, stageState, STATE_CACHE_SHARDS, TornShardError, writeState, type Manifest, type ManifestWorkPackage, type ShardRead } from '../../src/output/manifest.js';
import { holdsText, stageDurably } from '../../src/output/writer.js';
import { tempDir } from '../helpers/env.js';

const entry = (n: number): ManifestWorkPackage => ({ source: 'news', updatedAt: '2021-01-01T00:00:00.000Z', lockVersion: n, files: { [`news/${n}.md`]: `h${n}` }, attachments: {} });

function manifest(ids: number[]): Manifest {
  const m = emptyManifest('medigy');
  m.sources.news = { watermark: '2021-01-01T00:00:00.000Z', retry: [] };
  for (const id of ids) m.workPackages[String(id)] = entry(id);
  return m;
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir();
  try {
    await fn(dir);
  } finally {
    await cleanup();
  }
}

describe('sharded state', () => {
  it('round-trips: entries in shard files by id range, manifest.json with the sources and each shard digest', async () => {
    await withRoot(async (root) => {
      const m = manifest([5, 999, 1000, 2500]);
      const touched = await writeState(root, m, null, null);
      expect(touched.sort()).toEqual(['.curate/manifest.json', shardFile(0), shardFile(1), shardFile(2)].sort());
      expect(shardFile(2)).toBe('.curate/work-packages/2000-2999.json');
      const top = JSON.parse(await readFile(path.join(root, '.curate', 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(top).sort()).toEqual(['profile', 'shards', 'sources', 'version']);
      expect(Object.keys(top.shards as object)).toEqual(['0-999', '1000-1999', '2000-2999']);
      expect(Object.keys(JSON.parse(await readFile(path.join(root, shardFile(0)), 'utf8')) as object)).toEqual(['5', '999']);
      const back = await readState(root, 'medigy');
      expect(back!.manifest).toEqual(m);
      expect(back!.torn).toBeNull();
    });
  });

  it('writes only the dirty shards: the others keep their bytes and mtime; an emptied shard is removed', async () => {
    await withRoot(async (root) => {
      const m = manifest([1, 1001, 2001]);
      await writeState(root, m, null, null);
      const before = await readState(root, 'medigy');
      const mtime = async (shard: number): Promise<number> => (await stat(path.join(root, shardFile(shard)))).mtimeMs;
      const untouched = await mtime(0);
      await new Promise((r) => setTimeout(r, 20));
      m.workPackages['1001'] = entry(7);
      delete m.workPackages['2001'];
      const touched = await writeState(root, m, new Set([1, 2]), { digests: before!.shards!, summaries: before!.summaries });
      expect(touched.sort()).toEqual(['.curate/manifest.json', shardFile(1), shardFile(2)].sort());
      expect(await mtime(0)).toBe(untouched);
      expect(await readdir(path.join(root, SHARD_DIR))).toEqual(['0-999.json', '1000-1999.json']);
      const after = await readState(root, 'medigy');
      expect(after!.manifest).toEqual(m);
      expect(after!.torn).toBeNull();
      // Nothing changed: nothing is written.
      expect(await writeState(root, m, new Set(), { digests: after!.shards!, summaries: after!.summaries })).toEqual([]);
    });
  });

  it('files that disagree with manifest.json are reported as torn, and their entries still read', async () => {
    await withRoot(async (root) => {
      await writeState(root, manifest([1, 1001]), null, null);
      // A run killed after writing a shard, before manifest.json.
      const shard1 = path.join(root, shardFile(1));
      const other = JSON.parse(await readFile(shard1, 'utf8')) as Record<string, ManifestWorkPackage>;
      other['1001'] = entry(9);
      await writeFile(shard1, JSON.stringify(other));
      let s = await readState(root, 'medigy');
      expect(s!.torn).toMatch(/1000-1999\.json changed/);
      expect(s!.manifest.workPackages['1001']!.lockVersion).toBe(9);
      await rm(shard1);
      s = await readState(root, 'medigy');
      expect(s!.torn).toMatch(/1000-1999\.json is missing/);
      await writeFile(path.join(root, shardFile(5)), '{}\n');
      expect((await readState(root, 'medigy'))!.torn).toMatch(/5000-5999\.json is not recorded/);
      // Rewriting everything (what a torn state's next run does) makes it whole again.
      await writeState(root, manifest([1]), null, null);
      s = await readState(root, 'medigy');
      expect(s!.torn).toBeNull();
      expect(await readdir(path.join(root, SHARD_DIR))).toEqual(['0-999.json']);
    });
  });

  it('refuses a shard with git conflict markers (saying how to resolve it), an id outside its range, and state from a newer curate', async () => {
    await withRoot(async (root) => {
      await writeState(root, manifest([1]), null, null);
      const shard0 = path.join(root, shardFile(0));
      const text = await readFile(shard0, 'utf8');
      await writeFile(shard0, `<<<<<<< HEAD\n${text}=======\n${text}>>>>>>> other\n`);
      await expect(readState(root, 'medigy')).rejects.toThrow(/0-999\.json is not valid JSON \(it holds git conflict markers: take either side, e\.g\. `git checkout --theirs -- <file>`/);
      await writeFile(shard0, JSON.stringify({ 1500: entry(1) }));
      await expect(readState(root, 'medigy')).rejects.toThrow(/0-999\.json\.1500: expected a work package id from 0 to 999/);
      const top = path.join(root, '.curate', 'manifest.json');
      const m = JSON.parse(await readFile(top, 'utf8')) as { version: number };
      m.version = 6;
      await writeFile(top, JSON.stringify(m));
      await expect(readState(root, 'medigy')).rejects.toThrow(/written by a newer curate \(state format 6; this curate reads formats 1 to 5\): upgrade curate/);
    });
  });

  it('a state cache serves a shard unchanged on disk without reading it, and never one rewritten since', async () => {
    await withRoot(async (root) => {
      const cache = createStateCache();
      const m = manifest([1, 1001]);
      await writeState(root, m, null, null, cache);
      expect([...cache.shards.keys()].sort()).toEqual([0, 1]);
      // Mark the cached copy: a read that uses the cache returns the mark, one that reads the file does not.
      cache.shards.get(0)!.entries['1'] = { ...entry(1), lockVersion: 99 };
      expect((await readState(root, 'medigy', cache))!.manifest.workPackages['1']!.lockVersion).toBe(99);
      // Another process rewrites the shard (same bytes, a new file: rename): read from disk again.
      const file = path.join(root, shardFile(0));
      const bytes = await readFile(file);
      await writeFile(`${file}.new`, bytes);
      await rename(`${file}.new`, file);
      const s = await readState(root, 'medigy', cache);
      expect(s!.manifest.workPackages['1']!.lockVersion).toBe(1);
      expect(s!.torn).toBeNull();
      // And a shard changed by hand is seen as such, cache or not.
      await writeFile(file, JSON.stringify({ 1: entry(5) }));
      const t = await readState(root, 'medigy', cache);
      expect(t!.torn).toMatch(/0-999\.json changed/);
      expect(t!.manifest.workPackages['1']!.lockVersion).toBe(5);
    });
  });

  it(`a state cache keeps the ${STATE_CACHE_SHARDS} shards used last, whatever the size of the state`, async () => {
    await withRoot(async (root) => {
      const cache = createStateCache();
      const ids = Array.from({ length: 3 * STATE_CACHE_SHARDS }, (_, i) => i * 1000 + 7);
      await writeState(root, manifest(ids), null, null, cache);
      expect(cache.shards.size).toBe(STATE_CACHE_SHARDS);
      await readState(root, 'medigy', cache);
      expect(cache.shards.size).toBe(STATE_CACHE_SHARDS);
      // Read one by one: the cache holds the last ones read, and one used again outlives the others.
      const lazy = (await readState(root, 'medigy', cache, { lazy: true }))!;
      for (let shard = 0; shard < STATE_CACHE_SHARDS; shard++) await lazy.load!(shard);
      expect([...cache.shards.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: STATE_CACHE_SHARDS }, (_, i) => i));
      await lazy.load!(0);
      await lazy.load!(STATE_CACHE_SHARDS);
      expect(cache.shards.has(0)).toBe(true);
      expect(cache.shards.has(1)).toBe(false);
      expect(cache.shards.has(STATE_CACHE_SHARDS)).toBe(true);
      expect(cache.shards.size).toBe(STATE_CACHE_SHARDS);
    });
  });

  it('a shard read lazily is read again as bytes only when its text is ASCII, and only if the file is still the one read', async () => {
    await withRoot(async (root) => {
      const m = manifest([5, 1005]);
      m.workPackages['1005']!.files = { 'news/été.md': 'h' };
      await writeState(root, m, null, null);
      const stored = (await readState(root, 'medigy', undefined, { lazy: true }))!;
      const ascii = (await stored.loadText!(0)) as ShardRead;
      const other = (await stored.loadText!(1)) as ShardRead;
      expect(ascii.rereadBytes!().equals(await readFile(path.join(root, shardFile(0))))).toBe(true);
      expect(other.rereadBytes).toBeUndefined();
      // Same size, other bytes, a new file: refused as torn, not spliced.
      const file = path.join(root, shardFile(0));
      const text = await readFile(file, 'utf8');
      await writeFile(`${file}.new`, text.replace('"lockVersion": 5', '"lockVersion": 6'));
      await rename(`${file}.new`, file);
      expect(() => ascii.rereadBytes!()).toThrow(TornShardError);
    });
  });

  it('stages a shard given in pieces (a spliced shard) as their bytes in order, however many pieces', async () => {
    await withRoot(async (root) => {
      await mkdir(path.join(root, 'tmp'));
      for (const n of [1, 3, 256, 300]) {
        const pieces = Array.from({ length: n }, (_, i) => Buffer.from(`piece ${i} é\n`));
        const tmp = await stageDurably(path.join(root, `shard-${n}.json`), pieces, path.join(root, 'tmp'));
        expect((await readFile(tmp)).equals(Buffer.concat(pieces))).toBe(true);
        expect(await holdsText(tmp, pieces)).toBe(true);
      }
    });
  });

  it('writes the shards in the order the entries ask for (the texts in memory first), with the same bytes as in ascending order', async () => {
    const { workPackages, ...top } = manifest([5, 1005, 2005, 3005]);
    const write = async (writeOrder?: (shards: readonly number[]) => readonly number[]): Promise<{ asked: number[]; bytes: string[] }> => {
      const asked: number[] = [];
      let bytes: string[] = [];
      await withRoot(async (root) => {
        const next = shardedEntries(workPackages);
        await (await stageState(root, top, { ...next, entriesOf: (shard) => (asked.push(shard), next.entriesOf(shard)), ...(writeOrder ? { writeOrder } : {}) }, null, null)).commit();
        bytes = await Promise.all([0, 1, 2, 3].map((shard) => readFile(path.join(root, shardFile(shard)), 'utf8')));
        bytes.push(await readFile(path.join(root, '.curate', 'manifest.json'), 'utf8'));
      });
      return { asked, bytes };
    };
    const ascending = await write();
    const held = await write(() => [3, 2, 0, 1]);
    expect(ascending.asked).toEqual([0, 1, 2, 3]);
    expect(held.asked).toEqual([3, 2, 0, 1]);
    expect(held.bytes).toEqual(ascending.bytes);
  });
});
