// PreviousState read lazily (src/sync/previous-state.ts): what it answers from the shards'
// summaries alone, what needs a shard read, and that a shard is read once.
import { describe, expect, it } from 'vitest';
import type { Manifest, ManifestWorkPackage } from '../../src/output/manifest.js';
import { summarizeShard } from '../../src/output/shard-summary.js';
import { PreviousState } from '../../src/sync/previous-state.js';

const entry = (source: string, files: string[]): ManifestWorkPackage => ({ source, updatedAt: '2026-01-01T00:00:00Z', lockVersion: 1, files: Object.fromEntries(files.map((f) => [f, 'h'])), attachments: {} });
const shards: Record<number, Record<string, ManifestWorkPackage>> = {
  0: { '5': entry('news', ['news/a.md']), '7': entry('events', ['events/x.md', 'events/x.png']) },
  1: { '1001': entry('news', ['news/b.md']) },
  2: { '2500': entry('news', ['news/c.md']), '2600': entry('events', []) },
};

function lazy(): { state: PreviousState; reads: number[] } {
  const reads: number[] = [];
  const manifest: Manifest = { version: 4, profile: 'medigy', sources: {}, workPackages: {} };
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
    expect([...state.unloadedOwnedIds()].sort((a, b) => a - b)).toEqual([5, 7, 1001, 2500, 2600]);
    expect(state.readCounts()).toEqual({ shards: 3, shardsRead: 0 });
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
    expect(state.readCounts()).toEqual({ shards: 3, shardsRead: 2 });
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
