// A shard's summary (src/output/shard-summary.ts): what an ordinary run trusts instead of
// reading a shard, so each of its facts is checked against the entries it summarizes.
import { describe, expect, it } from 'vitest';
import type { ManifestWorkPackage } from '../../src/output/manifest.js';
import { rng } from '../../src/simulator/rng.js';
import { decodeHashes, decodeIds, encodeHashes, encodeIds, nameHash, shardsNaming, summarizeShard, summaryValidAt } from '../../src/output/shard-summary.js';

const entry = (source: string, updatedAt: string, files: string[], extra: Partial<ManifestWorkPackage> = {}): ManifestWorkPackage => ({
  source,
  updatedAt,
  lockVersion: 1,
  files: Object.fromEntries(files.map((f) => [f, 'h'])),
  attachments: {},
  ...extra,
});

describe('shard summary', () => {
  it('ids round-trip through their text, runs collapsed; malformed or unsorted text is refused', () => {
    expect(encodeIds([1, 2, 3, 7, 9, 10])).toBe('1-3,7,9-10');
    expect(encodeIds([])).toBe('');
    const random = rng(7);
    for (let round = 0; round < 200; round++) {
      const ids = [...new Set(Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 1000)))].sort((a, b) => a - b);
      expect(decodeIds(encodeIds(ids))).toEqual(ids);
    }
    for (const bad of ['1,,2', '3-1', '5,4', '1-3,2', 'x', '1;2', '-1', '1,', '1-', ',1', '1--2', '1-2-3', '1 ', ' 1']) expect(decodeIds(bad), bad).toBeNull();
  });

  it('name hashes round-trip sorted through base64, and differ for near names', () => {
    const hashes = ['a.md', 'b.md', 'a.md ', 'A.md', 'été.md', 'x'.repeat(300)].map(nameHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    const back = [...decodeHashes(encodeHashes(hashes))];
    expect(back).toEqual([...hashes].sort((a, b) => a - b));
    expect(hashes.every((h) => Number.isInteger(h) && h >= 0 && h < 2 ** 32)).toBe(true);
  });

  it('summarizes owned ids, newest updatedAt and files per source, name hashes per folder, the validity window and the references', () => {
    const s = summarizeShard(
      {
        '3': entry('news', '2026-01-02T00:00:00.000Z', ['news/a.md', 'news/img/a.png'], { validUntil: '2026-03-01T00:00:00.000Z', refs: { '9': 'news@f1', '12': null } }),
        '1': entry('news', '2026-01-05T00:00:00.000Z', ['news/b.md'], { validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-02-01T00:00:00.000Z', refs: { '9': 'news@f1' } }),
        '2': entry('events', '2025-12-31T00:00:00.000Z', ['top.md'], { validFrom: '2026-01-10T00:00:00.000Z', refs: { '12': 'events@f2~abc' } }),
        '4': entry('events', '2025-12-01T00:00:00.000Z', []),
      },
      1234,
    );
    expect(s.bytes).toBe(1234);
    expect(s.owned).toEqual({ news: [1, 3], events: [2, 4] });
    expect(s.newest).toEqual({ news: '2026-01-05T00:00:00.000Z', events: '2025-12-31T00:00:00.000Z' });
    expect(s.files).toEqual({ news: 3, events: 1 });
    expect(s.validFrom).toBe('2026-01-10T00:00:00.000Z');
    expect(s.validUntil).toBe('2026-02-01T00:00:00.000Z');
    // Two pages that recorded different keys for one target: false, never one of them.
    expect(s.refs).toEqual({ '9': 'news@f1', '12': false });
    expect(Object.keys(s.names).sort()).toEqual(['.', 'news', 'news/img']);
    expect([...decodeHashes(s.names.news!)]).toEqual([nameHash('a.md'), nameHash('b.md')].sort((a, b) => a - b));
    expect([...decodeHashes(s.names['.']!)]).toEqual([nameHash('top.md')]);
    expect(summaryValidAt(s, new Date('2026-01-15T00:00:00Z'))).toBe(true);
    expect(summaryValidAt(s, new Date('2026-01-09T23:59:59Z'))).toBe(false);
    expect(summaryValidAt(s, new Date('2026-02-01T00:00:00Z'))).toBe(false);
    expect(summarizeShard({ '5': entry('a', '2026-01-01T00:00:00Z', ['a.md']) }, 1).refs).toBeUndefined();
  });

  it('the validity window is exactly "every entry valid" (random entries, random instants)', () => {
    const random = rng(11);
    const day = 86_400_000;
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let round = 0; round < 300; round++) {
      const entries: Record<string, ManifestWorkPackage> = {};
      const n = 1 + Math.floor(random() * 5);
      for (let i = 0; i < n; i++) {
        const from = random() < 0.5 ? new Date(base + Math.floor(random() * 20) * day).toISOString() : undefined;
        const until = random() < 0.5 ? new Date(base + Math.floor(random() * 40) * day).toISOString() : undefined;
        entries[String(i)] = entry('s', '2026-01-01T00:00:00Z', [], { ...(from ? { validFrom: from } : {}), ...(until ? { validUntil: until } : {}) });
      }
      const s = summarizeShard(entries, 0);
      const now = new Date(base + Math.floor(random() * 45) * day - day);
      const each = Object.values(entries).every((e) => (!e.validFrom || now.getTime() >= Date.parse(e.validFrom)) && (!e.validUntil || now.getTime() < Date.parse(e.validUntil)));
      expect(summaryValidAt(s, now), `round ${round}`).toBe(each);
    }
  });

  it('shardsNaming: every shard that records one of the paths is named, and (random names) few others', () => {
    const r = rng(22);
    const shards = new Map<number, Record<string, ManifestWorkPackage>>();
    const owner = new Map<string, number>();
    for (let shard = 0; shard < 40; shard++) {
      const entries: Record<string, ManifestWorkPackage> = {};
      for (let i = 0; i < 50; i++) {
        const id = shard * 1000 + i;
        const files = [`news/${id}-${Math.floor(r() * 1e9)}/index.md`, `img/${Math.floor(r() * 1e9)}.png`, `top-${id}.md`];
        for (const f of files) owner.set(f, shard);
        entries[String(id)] = entry('news', '2026-01-01T00:00:00Z', files);
      }
      shards.set(shard, entries);
    }
    const names = new Map([...shards].map(([k, e]) => [k, summarizeShard(e, 1).names]));
    const all = [...owner.keys()];
    for (let trial = 0; trial < 50; trial++) {
      const paths = Array.from({ length: 1 + Math.floor(r() * 5) }, () => all[Math.floor(r() * all.length)]!);
      const named = shardsNaming(names, paths);
      for (const p of paths) expect(named.has(owner.get(p)!)).toBe(true);
      // 32-bit hashes per folder: a stray match is rare, so a few paths name about as many shards.
      expect(named.size).toBeLessThanOrEqual(paths.length + 1);
    }
    expect(shardsNaming(names, ['news/unknown/index.md', 'elsewhere/x.md']).size).toBe(0);
    expect(shardsNaming(names, [])).toEqual(new Set());
  });
});

