// Which folder stamps a run records (src/sync/folder-trust.ts): one rule per condition.
import { describe, expect, it } from 'vitest';
import { folderNames, type ObservedFolder } from '../../src/output/disk-state.js';
import type { FolderStat } from '../../src/output/folder-stamps.js';
import { encodeHashes, nameHash, type ShardSummary } from '../../src/output/shard-summary.js';
import { hashesByFolder, stampsToRecord } from '../../src/sync/folder-trust.js';

const AT = 1_000_000;
const DEV = 7n;
/** A folder's stat: its stamp, its last change in ms (and ns), on device DEV unless told. */
const st = (stamp: string, changedMs: number, dev = DEV): FolderStat => ({ stamp, changedMs, changedNs: BigInt(changedMs) * 1_000_000n, dev });
const listed = (names: string[], stamp = 's1', changedMs = AT - 5000): ObservedFolder => ({ before: st(stamp, changedMs), at: AT, names: folderNames(names), trusted: false });
const hashes = (...names: string[]): number[] => names.map(nameHash);

describe('stampsToRecord', () => {
  it('records a listed folder that held every recorded name, changed long enough before, and is unchanged now', () => {
    const out = stampsToRecord(new Map([['a', listed(['x.md', 'y.md'])]]), new Map([['a', st('s1', AT - 5000)]]), new Map([['a', hashes('x.md')]]), 2000);
    expect(out).toEqual(new Map([['a', 's1']]));
  });

  it('not when the folder changed during the run (by curate or anyone), or is gone', () => {
    const observed = new Map([['a', listed(['x.md'])], ['b', listed(['x.md'])]]);
    const out = stampsToRecord(observed, new Map([['a', st('s2', AT)], ['b', null]]), new Map(), 2000);
    expect(out.size).toBe(0);
  });

  it('not when a name the state records there was missing from the listing (a failed work package keeps files that may be gone)', () => {
    const out = stampsToRecord(new Map([['a', listed(['x.md'])]]), new Map([['a', st('s1', AT - 5000)]]), new Map([['a', hashes('x.md', 'lost.md')]]), 2000);
    expect(out.size).toBe(0);
  });

  it('not when its last change was within the margin before it was looked at (a change in the same clock tick would not show), nor from the future', () => {
    const recent = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT - 1999)]]), new Map([['a', st('s1', AT - 1999)]]), new Map(), 2000);
    expect(recent.size).toBe(0);
    const ahead = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT + 60_000)]]), new Map([['a', st('s1', AT + 60_000)]]), new Map(), 2000);
    expect(ahead.size).toBe(0);
    const old = stampsToRecord(new Map([['a', listed(['x.md'], 's1', AT - 2000)]]), new Map([['a', st('s1', AT - 2000)]]), new Map(), 2000);
    expect(old.size).toBe(1);
  });

  it("a folder listed after apply: compared with the filesystem's clock read before its stat, not with this machine's clock and the margin", () => {
    // Changed a millisecond before the clock read: any later change is stamped later, so recorded
    // (the margin rule would refuse it: changed 1 ms before it was looked at).
    const after = (changedMs: number, clockMs: number, clockDev = DEV): ObservedFolder => ({
      ...listed(['x.md'], 's1', changedMs),
      clock: { dev: clockDev, ns: BigInt(clockMs) * 1_000_000n },
    });
    const record = (seen: ObservedFolder): number => stampsToRecord(new Map([['a', seen]]), new Map([['a', seen.before]]), new Map([['a', hashes('x.md')]]), 2000).size;
    expect(record(after(AT - 1, AT))).toBe(1);
    // One nanosecond earlier than the clock is enough; the same tick is not.
    const sameTick: ObservedFolder = { ...after(AT, AT), before: { ...st('s1', AT), changedNs: BigInt(AT) * 1_000_000n } };
    expect(record(sameTick)).toBe(0);
    expect(record({ ...sameTick, clock: { dev: DEV, ns: BigInt(AT) * 1_000_000n + 1n } })).toBe(1);
    // The machine's clock far ahead of the filesystem's (a network share): the filesystem's decides.
    expect(record({ ...after(AT + 60_000, AT + 60_001) })).toBe(1);
    expect(record({ ...after(AT + 60_000, AT - 5000) })).toBe(0);
    // The clock read on another filesystem says nothing about this one: the margin rule applies.
    expect(record(after(AT - 1, AT, DEV + 1n))).toBe(0);
    expect(record(after(AT - 2000, AT, DEV + 1n))).toBe(1);
    // A name the state records that the listing did not hold: not recorded, whatever the clock.
    expect(stampsToRecord(new Map([['a', after(AT - 1, AT)]]), new Map([['a', st('s1', AT - 1)]]), new Map([['a', hashes('x.md', 'lost.md')]]), 2000).size).toBe(0);
  });

  it('keeps a trusted folder that is unchanged, drops one that changed, and never records a folder that is not there', () => {
    const trusted: ObservedFolder = { before: st('t', AT - 10), at: AT, names: null, trusted: true };
    const missing: ObservedFolder = { before: null, at: AT, names: null, trusted: false };
    const observed = new Map([['kept', trusted], ['moved', { ...trusted }], ['gone', missing]]);
    const now = new Map([['kept', st('t', AT - 10)], ['moved', st('u', AT)], ['gone', null]]);
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
