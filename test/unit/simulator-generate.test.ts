// Synthetic datasets: deterministic, realistic proportions, lazily made bytes whose
// size and md5 match the metadata, and a folder round trip the simulator can serve.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDataset, loadDataset, writeDataset, type LazyContent } from '../../src/simulator/index.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TEST_TMP } from '../helpers/env.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('generateDataset', () => {
  const ds = generateDataset({ workPackages: 2000, seed: 9 });

  it('is deterministic per seed and differs between seeds', () => {
    const again = generateDataset({ workPackages: 2000, seed: 9 });
    expect(JSON.stringify([...again.workPackages.values()])).toBe(JSON.stringify([...ds.workPackages.values()]));
    // As JSON text, as the work packages above: a deep equality of 2,900 objects took ~1 s.
    expect(JSON.stringify([...again.attachments.values()].map((a) => a.meta))).toBe(JSON.stringify([...ds.attachments.values()].map((a) => a.meta)));
    const other = generateDataset({ workPackages: 2000, seed: 10 });
    expect(JSON.stringify([...other.workPackages.values()])).not.toBe(JSON.stringify([...ds.workPackages.values()]));
  });

  it('has the train set proportions: mostly Curated Content in CCM, decoys, ~1.45 attachments per item', () => {
    const types = new Map<string, number>();
    for (const wp of ds.workPackages.values()) {
      const k = String((wp._links.type as { title: string }).title);
      types.set(k, (types.get(k) ?? 0) + 1);
    }
    expect(types.get('Curated Content')! / 2000).toBeGreaterThan(0.55);
    expect((types.get('Task') ?? 0) + (types.get('Bug') ?? 0)).toBeGreaterThan(40);
    expect(types.get('Curated Event')).toBeGreaterThan(50);
    const perWp = ds.attachments.size / ds.workPackages.size;
    expect(perWp).toBeGreaterThan(1.3);
    expect(perWp).toBeLessThan(1.6);
    const names = new Set([...ds.attachments.values()].map((a) => a.meta.fileName));
    for (const n of ['Curated_Featured_Image.png', 'Curated_Featured_Image.jpg', 'Curated_Source_FavIcon.png', 'Lectio_Extension_Curation.json', 'Curated_Featured_Image.pdf']) expect(names).toContain(n);
  });

  it('every work package matches its schema; custom field keys are those of the schema (or fewer)', () => {
    for (const wp of ds.workPackages.values()) {
      const key = String((wp._links.schema as { href: string }).href).split('/').pop()!;
      const active = ds.instance.schemas[key];
      expect(active, key).toBeDefined();
      const cfs = Object.keys(wp).filter((k) => k.startsWith('customField')).map((k) => Number(k.slice(11)));
      for (const id of cfs) expect(active).toContain(id);
      expect(wp.updatedAt >= wp.createdAt).toBe(true);
    }
  });

  it('makes bytes on demand: sizes and md5 match the metadata, headers are real formats', () => {
    let checked = 0;
    for (const { meta, content } of ds.attachments.values()) {
      expect(Buffer.isBuffer(content)).toBe(false);
      if (checked++ > 300) continue;
      const bytes = (content as LazyContent).read();
      expect(bytes.length).toBe(meta.fileSize);
      expect(md5(bytes)).toBe((meta.digest as { hash: string }).hash);
      expect((content as LazyContent).read().equals(bytes)).toBe(true);
      const type = String(meta.contentType);
      if (type === 'image/png') expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      if (type === 'image/jpeg') expect(bytes.subarray(0, 3).toString('hex')).toBe('ffd8ff');
      if (type === 'application/pdf') expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
      if (type === 'application/json') expect(() => JSON.parse(bytes.toString()) as unknown).not.toThrow();
      if (String(meta.fileName).startsWith('Curated_Featured_Image') && type.startsWith('image/')) {
        expect(bytes.length).toBeGreaterThanOrEqual(20_000);
        expect(bytes.length).toBeLessThanOrEqual(200_000);
      }
    }
    const hashes = new Set([...ds.attachments.values()].map((a) => (a.meta.digest as { hash: string }).hash));
    expect(hashes.size).toBe(ds.attachments.size);
  });

  // 3,000 rather than 10,000 work packages: the bound is per work package (20 KB of heap,
  // about twice what they take: 18 MB for 3,000, 42 MB for 10,000), and generating 10,000
  // took over the unit timeout on a loaded machine. Measured between full collections:
  // without them, garbage of the tests before, freed during the generation, could make the
  // growth come out small or negative. (Attachment bytes are Buffers outside the heap; this
  // bounds the work packages' and metadata's objects, as the 10,000 version did.)
  it('3,000 work packages stay small in memory', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const used = (): number => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = used();
    const big = generateDataset({ workPackages: 3_000, seed: 1 });
    const grown = used() - before;
    expect(big.attachments.size).toBeGreaterThan(3_900);
    expect(grown).toBeLessThan(3_000 * 20 * 1024);
  });

  /** A small generated dataset written to a temp folder for `check`, removed after. */
  async function inFolder(check: (small: ReturnType<typeof generateDataset>, dir: string) => Promise<void>): Promise<void> {
    const small = generateDataset({ workPackages: 15, seed: 3 });
    const dir = await mkdtemp(path.join(TEST_TMP, 'curate-simgen-'));
    try {
      await writeDataset(small, dir);
      await check(small, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('writeDataset → loadDataset round-trips', () =>
    inFolder(async (small, dir) => {
      const back = await loadDataset(dir);
      expect(back.instance).toEqual(small.instance);
      expect([...back.workPackages.keys()].sort()).toEqual([...small.workPackages.keys()].sort());
      for (const [id, { meta, content }] of small.attachments) {
        const b = back.attachments.get(id)!;
        expect(b.meta).toEqual(meta);
        expect(md5(b.content as Buffer)).toBe((content as LazyContent).md5);
      }
    }));

  it('loadDataset reads a folder once per process, yet every load is a copy of what is on disk now', () =>
    inFolder(async (small, dir) => {
      const first = await loadDataset(dir);
      const [id, wp] = [...first.workPackages][0]!;
      const [attId, att] = [...first.attachments][0]!;
      // A copy: changing what one load returned changes no later load.
      wp.subject = 'changed in memory';
      (att.content as Buffer).fill(0);
      const second = await loadDataset(dir);
      expect(second.workPackages.get(id)!.subject).toBe(small.workPackages.get(id)!.subject);
      expect(md5(second.attachments.get(attId)!.content as Buffer)).toBe((small.attachments.get(attId)!.content as LazyContent).md5);
      // A file rewritten on disk (same name, other bytes) is read again.
      await writeFile(path.join(dir, 'work_packages', `${id}.json`), JSON.stringify({ ...small.workPackages.get(id)!, subject: 'changed on disk' }));
      expect((await loadDataset(dir)).workPackages.get(id)!.subject).toBe('changed on disk');
    }));
});
