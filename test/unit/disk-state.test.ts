// A folder's file names as keys (src/output/disk-state.ts): asked by name it answers as a
// set of those names does, prefixes, unicode and surrogate pairs included; asked by a
// shard summary's name hash, it holds every name's hash; listed from a real folder (in
// batches), only regular files count.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPresenceCheck, folderNames, listFolder } from '../../src/output/disk-state.js';
import { encodeHashes, nameHash } from '../../src/output/shard-summary.js';
import { rng } from '../../src/simulator/rng.js';
import { TEST_TMP } from '../helpers/env.js';

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
      for (const name of names) expect(packed.hasHash(nameHash(name))).toBe(true);
      const hashes = new Set(names.map(nameHash));
      for (let q = 0; q < 20; q++) {
        const h = nameHash(randomName(random));
        expect(packed.hasHash(h)).toBe(hashes.has(h));
      }
    }
  });

  it('an empty folder holds nothing', () => {
    const packed = folderNames([]);
    expect(packed.has('')).toBe(false);
    expect(packed.has('a.md')).toBe(false);
    expect(packed.hasHash(nameHash('a.md'))).toBe(false);
  });

  it('lists a real folder in batches: regular files only, not folders or symlinks', async () => {
    const dir = await mkdtemp(path.join(TEST_TMP, 'curate-list-'));
    try {
      const names = Array.from({ length: 2500 }, (_, i) => `page-${i}.md`);
      for (const name of names) await writeFile(path.join(dir, name), '');
      await mkdir(path.join(dir, 'folder.md'));
      await symlink(path.join(dir, 'page-1.md'), path.join(dir, 'link.md'));
      const listed = await listFolder(dir);
      for (const name of names) expect(listed.has(name)).toBe(true);
      expect(listed.has('folder.md')).toBe(false);
      expect(listed.has('link.md')).toBe(false);
      expect(listed.has('page-2500.md')).toBe(false);
      expect(listed.hasHash(nameHash('page-2499.md'))).toBe(true);
      expect(listed.hasHash(nameHash('folder.md'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createPresenceCheck', () => {
  // An ordinary run prefetches the folders its state names (collect-all.ts) so that their
  // listings overlap the requests in flight: the answers later in the run come from those
  // listings, and no folder is listed twice.
  it('answers from the listings a prefetch started, each folder listed once', async () => {
    const root = await mkdtemp(path.join(TEST_TMP, 'curate-presence-'));
    try {
      await mkdir(path.join(root, 'news'));
      await writeFile(path.join(root, 'news', 'a.md'), '');
      await writeFile(path.join(root, 'top.md'), '');
      const check = createPresenceCheck(root);
      await Promise.all(['news', '.', 'missing'].map(check.prefetch));
      // The tree changes after the listings: a folder listed again would show it.
      await rm(path.join(root, 'news', 'a.md'));
      await writeFile(path.join(root, 'news', 'b.md'), '');
      expect(await check.files(['news/a.md', 'top.md'])).toBe(true);
      expect(await check.files(['news/b.md'])).toBe(false);
      expect(await check.hashes({ news: encodeHashes([nameHash('a.md')]) })).toBe(true);
      expect(await check.hashes({ missing: encodeHashes([nameHash('x.md')]) })).toBe(false);
      // A folder no prefetch named is listed when first asked about.
      const fresh = createPresenceCheck(root);
      expect(await fresh.files(['news/b.md'])).toBe(true);
      expect(await fresh.files(['news/a.md'])).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('once stopped, begins no listing and ends one under way at its next batch', async () => {
    const root = await mkdtemp(path.join(TEST_TMP, 'curate-presence-'));
    try {
      // More names than one batch (1,024), so the listing yields before it is done.
      await mkdir(path.join(root, 'big'));
      await Promise.all(Array.from({ length: 3000 }, (_, i) => writeFile(path.join(root, 'big', `${i}.md`), '')));
      await mkdir(path.join(root, 'small'));
      const check = createPresenceCheck(root);
      const big = check.prefetch('big');
      check.stop();
      await Promise.all([big, check.prefetch('small')]);
      expect([...check.observed().keys()]).toEqual([]);
      // Listed by itself, the same folder is complete.
      expect((await listFolder(path.join(root, 'big'))).has('2999.md')).toBe(true);
      // Stopped at its first batch boundary, a listing holds only what it read before it.
      let batches = 0;
      const partial = await listFolder(path.join(root, 'big'), () => ++batches >= 1);
      expect(batches).toBe(1);
      const held = Array.from({ length: 3000 }, (_, i) => `${i}.md`).filter((n) => partial.has(n)).length;
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(1024);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
