// The journal's bytes (src/output/journal.ts journalChunks) are stableJson({ files }), written
// without building that object: checked against stableJson on generated journals.
import { describe, expect, it } from 'vitest';
import { journalChunks } from '../../src/output/journal.js';
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
});
