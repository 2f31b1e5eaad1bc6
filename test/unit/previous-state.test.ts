// PreviousState read lazily (src/sync/previous-state.ts): what it answers from the shards'
// summaries alone, what needs a shard read, and that a shard is read once; a shard read as
// text is parsed entry by entry, and its text let go of and read again when needed.
import { describe, expect, it } from 'vitest';
import { stableJson, type Manifest, type ManifestWorkPackage } from '../../src/output/manifest.js';
import { summarizeShard } from '../../src/output/shard-summary.js';
import { indexShardText } from '../../src/output/shard-text.js';
import { PreviousState } from '../../src/sync/previous-state.js';

const entry = (source: string, files: string[]): ManifestWorkPackage => ({ source, updatedAt: '2026-01-01T00:00:00Z', lockVersion: 1, files: Object.fromEntries(files.map((f) => [f, 'h'])), attachments: {} });
const shards: Record<number, Record<string, ManifestWorkPackage>> = {
  0: { '5': entry('news', ['news/a.md']), '7': entry('events', ['events/x.md', 'events/x.png']) },
  1: { '1001': entry('news', ['news/b.md']) },
  2: { '2500': entry('news', ['news/c.md']), '2600': entry('events', []) },
};

function lazy(): { state: PreviousState; reads: number[] } {
  const reads: number[] = [];
  const manifest: Manifest = { version: 5, profile: 'medigy', sources: {}, workPackages: {} };
  const state = new PreviousState({
    manifest,
    shards: new Map(Object.keys(shards).map((k) => [Number(k), `d${k}`])),
    summaries: new Map(Object.entries(shards).map(([k, e]) => [Number(k), summarizeShard(e, 1)])),
    load: async (shard) => {
      reads.push(shard);
      await new Promise((r) => setTimeout(r, 1));
      return structuredClone(shards[shard]!);
    },
    torn: null,
  });
  return { state, reads };
}

describe('PreviousState, read lazily', () => {
  it('answers owners and owned ids from the summaries, without reading a shard', () => {
    const { state, reads } = lazy();
    expect(state.lazy).toBe(true);
    expect(state.sourceOf(2500)).toBe('news');
    expect(state.owns(7)).toBe(true);
    expect(state.owns(8)).toBe(false);
    expect(state.ownedIds('news')).toEqual([5, 1001, 2500]);
    expect(state.ownedIds('events')).toEqual([7, 2600]);
    expect(state.owningSources().sort()).toEqual(['events', 'news']);
    expect([...state.unloadedOwnedIds(new Set())].sort((a, b) => a - b)).toEqual([5, 7, 1001, 2500, 2600]);
    expect(state.readCounts()).toEqual({ shards: 3, shardsRead: 0, entriesParsed: 0 });
    expect(reads).toEqual([]);
  });

  it('owned ids by shard, counts, ownsAllIn and owning sources: the same from the summaries as from the entries read whole (the summaries\' own lists, not read)', async () => {
    const { state, reads } = lazy();
    const whole = new PreviousState({ manifest: { version: 5, profile: 'medigy', sources: {}, workPackages: Object.assign({}, ...Object.values(shards)) }, shards: null, summaries: null, load: null, torn: null });
    for (const s of [state, whole]) {
      expect([...s.ownedByShard('news')]).toEqual([[0, [5]], [1, [1001]], [2, [2500]]]);
      expect([...s.ownedByShard('events')]).toEqual([[0, [7]], [2, [2600]]]);
      expect([...s.ownedByShard('gone')]).toEqual([]);
      expect([s.ownedCount('news'), s.ownedCount('events'), s.ownedCount('gone')]).toEqual([3, 2, 0]);
      expect(s.ownsAllIn('news', 2, [2500])).toBe(true);
      expect(s.ownsAllIn('events', 2, [2500])).toBe(false); // another source's
      expect(s.ownsAllIn('events', 0, [7, 8])).toBe(false); // nobody's
      expect(s.ownsAllIn('events', 2, [])).toBe(true);
      expect(s.owningSources().sort()).toEqual(['events', 'news']);
    }
    // Out of order: answered one by one, the same.
    expect(state.ownsAllIn('events', 2, [2600, 7])).toBe(true);
    expect(state.ownsAllIn('events', 2, [2600, 5])).toBe(false);
    expect(state.ownedByShard('news').get(1)).toBe(state.summary(1)!.owned.news);
    expect(reads).toEqual([]);
  });

  it('an entry of a shard not read is a bug it reports; loadFor reads each shard once, concurrent calls included', async () => {
    const { state, reads } = lazy();
    expect(() => state.entry(5)).toThrow(/shard of work package #5 was not read/);
    // A shard no summary records holds nothing to read.
    expect(state.entry(9_999)).toBeUndefined();
    await Promise.all([state.loadFor([5, 7]), state.loadFor([1001, 5]), state.load([0])]);
    expect(reads.sort()).toEqual([0, 1]);
    expect(state.entry(7)!.files).toEqual({ 'events/x.md': 'h', 'events/x.png': 'h' });
    expect([...state.loadedEntries()].map(([id]) => id).sort((a, b) => a - b)).toEqual([5, 7, 1001]);
    expect(state.unloadedShards()).toEqual([2]);
    expect(state.readCounts()).toEqual({ shards: 3, shardsRead: 2, entriesParsed: 3 });
    await state.loadAll();
    expect(state.lazy).toBe(false);
    expect(reads.sort()).toEqual([0, 1, 2]);
  });

  it('loadOwnersOf reads the shards whose name hashes may own a path, and ownerOf then answers for them', async () => {
    const { state, reads } = lazy();
    await state.loadOwnersOf(['news/c.md', 'news/none.md', 'elsewhere/a.md']);
    expect(reads).toEqual([2]);
    expect(state.ownerOf('news/c.md')).toBe(2500);
    expect(state.ownerOf('news/a.md')).toBeUndefined(); // shard 0 not read
    await state.loadOwnersOf(['events/x.png']);
    expect(state.ownerOf('events/x.png')).toBe(7);
    expect([...state.loadedEntries()].filter(([, e]) => e.source === 'news').map(([id]) => id).sort((a, b) => a - b)).toEqual([5, 2500]); // read so far
  });
});

describe('PreviousState, shards read as text', () => {
  /** Four shards of 50 entries; counts the reads, and the texts read again. */
  function textual(textBytesHeld?: number): { state: PreviousState; reads: number[]; rereads: number[]; byteReads: number[]; texts: Map<number, string> } {
    const reads: number[] = [];
    const rereads: number[] = [];
    const byteReads: number[] = [];
    const texts = new Map<number, string>();
    const all: Record<number, Record<string, ManifestWorkPackage>> = {};
    for (let shard = 0; shard < 4; shard++) {
      const entries: Record<string, ManifestWorkPackage> = {};
      for (let k = 0; k < 50; k++) entries[String(shard * 1000 + k * 7)] = { ...entry(k % 2 ? 'news' : 'events', [`s${shard}/p${k}.md`]), updatedAt: `2026-01-0${1 + (k % 9)}T00:00:00Z` };
      all[shard] = entries;
      texts.set(shard, stableJson(entries));
    }
    const manifest: Manifest = { version: 5, profile: 'medigy', sources: {}, workPackages: {} };
    const state = new PreviousState({
      manifest,
      shards: new Map([...texts.keys()].map((k) => [k, `d${k}`])),
      summaries: new Map(Object.entries(all).map(([k, e]) => [Number(k), summarizeShard(e, texts.get(Number(k))!.length)])),
      load: () => Promise.reject(new Error('read as text only')),
      loadText: async (shard) => {
        reads.push(shard);
        return {
          index: indexShardText(texts.get(shard)!)!,
          reread: () => {
            rereads.push(shard);
            return texts.get(shard)!;
          },
          // Shard 3 as if it held a non-ASCII character: no bytes to splice.
          ...(shard === 3 ? {} : {
            rereadBytes: () => {
              byteReads.push(shard);
              return Buffer.from(texts.get(shard)!);
            },
          }),
          check: () => undefined,
        };
      },
      torn: null,
    }, textBytesHeld === undefined ? {} : { textBytesHeld });
    return { state, reads, rereads, byteReads, texts };
  }

  it('bytesToWrite: the bytes of an ASCII shard, read again, with its index (text decoded only when asked for); none for another shard', async () => {
    const { state, rereads, byteReads, texts } = textual(0);
    await state.loadFor([7, 1014, 2021, 3028]);
    const got = state.bytesToWrite(0)!;
    expect(got.bytes.equals(Buffer.from(texts.get(0)!))).toBe(true);
    expect(got.index.ids.length).toBe(50);
    expect(got.index.text).toBe(texts.get(0));
    expect(byteReads).toEqual([0]);
    expect(rereads).toEqual([]);
    expect(state.bytesToWrite(3)).toBeUndefined();
    expect(state.bytesToWrite(9)).toBeUndefined(); // not read as text
  });

  it('keeps the texts within its budget in hand', async () => {
    const { state, rereads } = textual();
    await state.loadFor([7, 1014, 2021, 3028]);
    for (const id of [0, 1000, 2000, 3000]) expect(state.entry(id)).toBeDefined();
    expect(rereads).toEqual([]);
  });

  it('parses only the entries asked for, while each text is in hand; the rest are answered from the index', async () => {
    const { state, reads, rereads } = textual();
    await state.loadFor([7, 1014, 2021, 3028]);
    expect(reads.sort()).toEqual([0, 1, 2, 3]);
    expect(state.readCounts()).toEqual({ shards: 4, shardsRead: 4, entriesParsed: 4 });
    expect(state.entry(2021)!.files).toEqual({ 's2/p3.md': 'h' });
    expect(rereads).toEqual([]);
    // Ids, updatedAt and refs need no parse.
    expect([...state.loadedIds()].length).toBe(200);
    expect(state.updatedAtOf(3035)).toBe('2026-01-06T00:00:00Z');
    expect(state.mayRecordRefs(3035)).toBe(false);
    expect(state.readCounts().entriesParsed).toBe(4);
    expect(rereads).toEqual([]);
  });

  it('lets go of the texts beyond its budget (two kept at least), and reads one again once for the entries asked for later', async () => {
    const { state, rereads } = textual(0);
    await state.loadFor([7, 1014, 2021, 3028]);
    // Shard 0 was read first: its text went; asking for two more of its entries reads it once.
    expect(state.entry(0)!.source).toBe('events');
    expect(state.entry(14)!.source).toBe('events');
    expect(rereads).toEqual([0]);
    expect(state.textOf(0)!.ids.length).toBe(50);
    expect(rereads).toEqual([0]);
    expect(state.readCounts().entriesParsed).toBe(6);
    // A path's owner: only the shard whose name hashes hold it is scanned.
    expect(state.ownerOf('s1/p10.md')).toBe(1070);
    expect(rereads).toEqual([0, 1]);
    expect(state.ownerOf('s9/none.md')).toBeUndefined();
    expect(rereads).toEqual([0, 1]);
  });

  it('finds the owners of many paths scanning each candidate shard once', async () => {
    const { state, rereads } = textual(0);
    await state.loadFor([7, 1014, 2021, 3028]);
    const paths = ['s0/p1.md', 's0/p49.md', 's1/p10.md', 's3/p0.md', 's2/none.md', 's0/p1.md'];
    expect(Object.fromEntries(state.ownersOf(paths))).toEqual({ 's0/p1.md': 7, 's0/p49.md': 343, 's1/p10.md': 1070, 's3/p0.md': 3000 });
    // Two texts are kept: shards 0, 1 and then 3 are read again, once each; shard 2 holds
    // none of the names and is not read.
    expect(rereads).toEqual([0, 1, 3]);
    expect(state.ownerOf('s0/p49.md')).toBe(343);
    expect(state.ownerOf('s2/none.md')).toBeUndefined();
  });

  it('a later page of rows in shards already read and let go of reads each shard again once, not once a row', async () => {
    const { state, rereads } = textual(0);
    await state.loadFor([7, 1014, 2021, 3028]);
    // Texts 0 and 1 were let go of (two kept): the next page holds three rows of each, and
    // one of shard 3, whose text goes while those two are read again.
    await state.loadFor([0, 14, 21, 1000, 1007, 1021, 3035]);
    expect(rereads).toEqual([0, 1, 3]);
    for (const id of [0, 14, 21, 1000, 1007, 1021, 3035]) expect(state.entry(id)!.files).toBeDefined();
    expect(rereads).toEqual([0, 1, 3]);
    expect(state.readCounts().entriesParsed).toBe(11);
  });

  it('two pages asking at once for rows of the same shards: each read parses both pages\' rows, none is read again', async () => {
    // Every source's pages ask for ids in every shard, at once: the second page waits on
    // reads the first one started. Its rows must be parsed as those reads end, while each
    // text is in hand, not read again whole once the run has let go of it.
    const { state, reads, rereads } = textual(0);
    await Promise.all([state.loadFor([7, 1014, 2021, 3028]), state.loadFor([14, 1021, 2028, 3035])]);
    expect(reads.sort()).toEqual([0, 1, 2, 3]);
    expect(state.readCounts().entriesParsed).toBe(8);
    for (const id of [7, 1014, 2021, 3028, 14, 1021, 2028, 3035]) expect(state.entry(id)!.files).toBeDefined();
    expect(rereads).toEqual([]);
  });

  it('heldFirst orders shards to write with the texts in hand first: each other shard is then read again once, not every shard', async () => {
    const writeAll = async (order: (s: PreviousState) => readonly number[]): Promise<number[]> => {
      const { state, rereads } = textual(0);
      await state.loadFor([7, 1014, 2021, 3028]);
      for (const shard of order(state)) expect(state.textToWrite(shard)!.ids.length).toBe(50);
      return rereads;
    };
    // Two texts are kept, the last two read (shards 3, then 2).
    expect(await writeAll((s) => s.heldFirst([0, 1, 2, 3]))).toEqual([0, 1]);
    const { state } = textual(0);
    await state.loadFor([7, 1014, 2021, 3028]);
    expect(state.heldFirst([0, 1, 2, 3])).toEqual([3, 2, 0, 1]);
    expect(state.heldFirst([1, 2])).toEqual([2, 1]);
    // In ascending order each read lets go of a text before its turn: all four are read again.
    expect(await writeAll(() => [0, 1, 2, 3])).toEqual([0, 1, 2, 3]);
  });
});
