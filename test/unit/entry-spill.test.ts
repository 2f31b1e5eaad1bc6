// The ledger's spill (src/output/entry-spill.ts): mapped entries wait on disk, shard by
// shard, until the state is written.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEntrySpill } from '../../src/output/entry-spill.js';
import type { ManifestWorkPackage } from '../../src/output/manifest.js';
import { TEST_TMP } from '../helpers/env.js';

const entry = (n: number): ManifestWorkPackage => ({ source: 's', updatedAt: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`, lockVersion: n, files: { [`p/${n}.md`]: 'h'.repeat(64), [`p/${n} "quoted"\nline.png`]: 'i'.repeat(64) }, attachments: {} });

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(path.join(TEST_TMP, 'curate-spill-'));
  dirs.push(d);
  return path.join(d, 'entries');
};

describe('entry spill', () => {
  for (const where of ['disk', 'memory'] as const) {
    it(`${where}: reads back each shard's entries, the last put of an id winning, past the flush size`, async () => {
      const spill = createEntrySpill(where === 'disk' ? await tempDir() : null);
      // ~3,000 entries of ~300 bytes: several flushes of 1 MiB, interleaved across shards.
      for (let round = 0; round < 2; round++) for (let id = 0; id < 3000; id += 1) spill.put(id, entry(id + round * 10_000));
      expect(spill.shards()).toEqual([0, 1, 2]);
      for (const shard of [0, 1, 2]) {
        const got = await spill.read(shard);
        expect(got.size).toBe(1000);
        for (let id = shard * 1000; id < shard * 1000 + 1000; id++) expect(got.get(id)).toEqual(entry(id + 10_000));
      }
      expect((await spill.read(7)).size).toBe(0);
    });
  }

  it('writes its files only in its own folder, and nothing before the first flush', async () => {
    const dir = await tempDir();
    const spill = createEntrySpill(dir);
    spill.put(1, entry(1));
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
    expect((await spill.read(0)).get(1)).toEqual(entry(1));
    expect(await readdir(dir)).toEqual(['0.ndjson']);
  });

  it('a failed append is thrown by the next read, not lost (and never an unhandled rejection)', async () => {
    const file = await tempDir();
    await writeFile(file, 'a file where the spill folder\'s parent belongs');
    const spill = createEntrySpill(path.join(file, 'entries'));
    spill.put(5, entry(5));
    await expect(spill.read(0)).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});
