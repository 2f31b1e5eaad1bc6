// A folder's file names packed (src/output/disk-state.ts `folderNames`): asked by name it
// answers exactly as a set of those names does, prefixes, unicode and surrogate pairs
// included; asked by hash, it holds every name's hash.
import { describe, expect, it } from 'vitest';
import { folderNames } from '../../src/output/disk-state.js';
import { hasHash, nameHash } from '../../src/output/shard-summary.js';
import { rng } from '../../src/simulator/rng.js';

// Characters that order differently by code unit, code point and locale, and names that are prefixes of others.
const PARTS = ['a', 'ab', 'A', 'b', '-', '.md', 'é', 'z', '\u{1F600}', '\uFFFD', ' ', '0'];

function randomName(random: () => number): string {
  let name = '';
  const n = 1 + Math.floor(random() * 4);
  for (let i = 0; i < n; i++) name += PARTS[Math.floor(random() * PARTS.length)];
  return name;
}

describe('folderNames', () => {
  it('answers by name exactly as a set of the names, over random folders', () => {
    const random = rng(7);
    for (let round = 0; round < 300; round++) {
      const names = [...new Set(Array.from({ length: Math.floor(random() * 40) }, () => randomName(random)))];
      const packed = folderNames(names);
      const set = new Set(names);
      for (let q = 0; q < 60; q++) {
        const asked = q < names.length ? names[q]! : randomName(random);
        expect(packed.has(asked), JSON.stringify({ names, asked })).toBe(set.has(asked));
      }
      // A name's prefix and extension are other names.
      for (const name of names) {
        expect(packed.has(name.slice(0, -1))).toBe(set.has(name.slice(0, -1)));
        expect(packed.has(`${name}a`)).toBe(set.has(`${name}a`));
      }
      expect([...packed.hashes]).toEqual(names.map(nameHash).sort((a, b) => a - b));
      for (const name of names) expect(hasHash(packed.hashes, nameHash(name))).toBe(true);
    }
  });

  it('an empty folder holds nothing', () => {
    const packed = folderNames([]);
    expect(packed.has('')).toBe(false);
    expect(packed.has('a.md')).toBe(false);
    expect(packed.hashes.length).toBe(0);
  });
});
