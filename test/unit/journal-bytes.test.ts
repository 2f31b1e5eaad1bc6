// The journal's bytes (src/output/journal.ts journalChunks) are stableJson({ files }), written
// without building that object: checked against stableJson on generated journals.
import { describe, expect, it } from 'vitest';
import { journalChunks, journalChunksOf } from '../../src/output/journal.js';
import { stableJson } from '../../src/output/manifest.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('journal bytes', () => {
  it('equal stableJson({ files }) for journals with index-like, unicode, quoted and nested keys', () => {
    const pieces = ['a', 'B', 'é', '"q"', 'x\\y', '0', '7', '10', '01', '4294967295', 'dir/', 'ü/ß', ' ', '\n'];
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const journal = new Map<string, string>();
      const n = Math.floor(r() * 12);
      for (let i = 0; i < n; i++) {
        let k = '';
        for (let j = 0, len = 1 + Math.floor(r() * 3); j < len; j++) k += pieces[Math.floor(r() * pieces.length)];
        journal.set(k, Math.floor(r() * 1e9).toString(16));
      }
      expect([...journalChunks(journal)].join('')).toBe(stableJson({ files: Object.fromEntries(journal) }));
    }
  });

  it('a plan\'s sorted writes merged with an earlier journal: the bytes of the merged map, the writes winning', () => {
    const pieces = ['a', 'B', 'é', '"q"', 'x\\y', '0', '7', '10', '01', '4294967295', 'dir/', 'ü/ß', ' ', '\n'];
    const key = (r: () => number): string => {
      let k = '';
      for (let j = 0, len = 1 + Math.floor(r() * 3); j < len; j++) k += pieces[Math.floor(r() * pieces.length)];
      return k;
    };
    let overlaps = 0;
    let indexLike = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const extra = new Map<string, string>();
      for (let i = 0, n = Math.floor(r() * 8); i < n; i++) extra.set(key(r), `old${i}`);
      const writes = new Map<string, string>();
      for (let i = 0, n = Math.floor(r() * 10); i < n; i++) writes.set(r() < 0.3 && extra.size ? [...extra.keys()][Math.floor(r() * extra.size)]! : key(r), `new${i}`);
      // As a plan lists them: by path, by code unit.
      const sorted = [...writes].sort(([x], [y]) => (x < y ? -1 : 1));
      const merged = new Map([...extra, ...writes]);
      overlaps += [...writes.keys()].filter((k) => extra.has(k)).length;
      indexLike += [...merged.keys()].filter((k) => /^(0|[1-9]\d*)$/.test(k)).length;
      expect([...journalChunksOf(extra, sorted)].join('')).toBe(stableJson({ files: Object.fromEntries(merged) }));
    }
    // The cases the merge is about did occur.
    expect(overlaps).toBeGreaterThan(20);
    expect(indexLike).toBeGreaterThan(20);
  });
});
