// Which folder stamps a run records (src/sync/folder-trust.ts): one rule per condition.
import { describe, expect, it } from 'vitest';
import { folderNames, type ObservedFolder } from '../../src/output/disk-state.js';
import { encodeHashes, nameHash, type ShardSummary } from '../../src/output/shard-summary.js';
import { hashesByFolder, stampsToRecord } from '../../src/sync/folder-trust.js';

const AT = 1_000_000;
const listed = (names: string[], stamp = 's1', changedMs = AT - 5000): ObservedFolder => ({ before: { stamp, changedMs }, at: AT, names: folderNames(names), trusted: false });
const hashes = (...names: string[]): number[] => names.map(nameHash);

describe('stampsToRecord', () => {
  it('records a listed folder that held every recorded name, changed long enough before, and is unchanged now', () => {
    const out = stampsToRecord(new Map([['a', listed(['x.md', 'y.md'])]]), new Map([['a', { stamp: 's1', changedMs: AT - 5000 }]]), new Map([['a', hashes('x.md')]]), 2000);
    expect(out).toEqual(new Map([['a', 's1']]));
  });

  it('not when the folder changed during the run (by curate or anyone), or is gone', () => {
    const observed = new Map([['a', listed(['x.md'])], ['b', listed(['x.md'])]]);
    const out = stampsToRecord(observed, new Map([['a', { stamp: 's2', changedMs: AT }], ['b', null]]), new Map(), 2000);
    expect(out.size).toBe(0);
  });

  it('not when a name the state records there was missing from the listing (a failed work package keeps files that may be gone)', () => {
    const out = stampsToRecord(new Map([['a', listed(['x.md'])]]), new Map([['a', { stamp: 's1', changedMs: AT - 5000 }]]), new Map([['a', hashes('x.md', 'lost.md')]]), 2000);
    expect(out.size).toBe(0);
  });

  it('not when its last change was within the margin before it was looked at (a change in the same clock tick would not show), nor from the future', () => {
    const recent = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT - 1999)]]), new Map([['a', { stamp: 's1', changedMs: AT - 1999 }]]), new Map(), 2000);
    expect(recent.size).toBe(0);
    const ahead = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT + 60_000)]]), new Map([['a', { stamp: 's1', changedMs: AT + 60_000 }]]), new Map(), 2000);
    expect(ahead.size).toBe(0);
    const old = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT - 2000)]]), new Map([['a', { stamp: 's1', changedMs: AT - 2000 }]]), new Map(), 2000);
    expect(old.size).toBe(1);
  });

  it('keeps a trusted folder that is unchanged, drops one that changed, and never records a folder that is not there', () => {
    const trusted: ObservedFolder = { before: { stamp: 't', changedMs: AT - 10 }, at: AT, names: null, trusted: true };
    const missing: ObservedFolder = { before: null, at: AT, names: null, trusted: false };
    const observed = new Map([['kept', trusted], ['moved', { ...trusted }], ['gone', missing]]);
    const now = new Map([['kept', { stamp: 't', changedMs: AT - 10 }], ['moved', { stamp: 'u', changedMs: AT }], ['gone', null]]);
    expect(stampsToRecord(observed, now, new Map(), 2000)).toEqual(new Map([['kept', 't']]));
  });
});

describe('hashesByFolder', () => {
  it('gathers the name hashes every shard records in the folders asked about', () => {
    const summary = (names: Record<string, string>): ShardSummary => ({ names }) as unknown as ShardSummary;
    const a = summary({ f: encodeHashes(hashes('1.md')), g: encodeHashes(hashes('2.md')) });
    const b = summary({ f: encodeHashes(hashes('3.md')) });
    const out = hashesByFolder([a, b], new Set(['f']));
    expect([...out.keys()]).toEqual(['f']);
    expect([...out.get('f')!].sort()).toEqual(hashes('1.md', '3.md').sort());
  });
});
