// A shard kept as text (src/output/shard-text.ts): the index finds every entry, and a
// patched shard's bytes and summary are exactly what writing the merged entries afresh
// (stableJson, summarizeShard) gives, over random shards and random patches.
import { describe, expect, it } from 'vitest';
import { stableJson, type ManifestWorkPackage } from '../../src/output/manifest.js';
import { summarizeShard } from '../../src/output/shard-summary.js';
import { entryPaths, indexShardText, parseEntry, patchBytes, patchEmpty, patchSummary, patchText, type ShardPatch } from '../../src/output/shard-text.js';
import { rng } from '../../src/simulator/rng.js';

const SOURCES = ['news', 'events', 'pandemic'];
// Names a scan could trip on: quotes, backslashes, the indentation of a key line, unicode.
const NAMES = ['a.md', 'b-featuredImage.png', 'q"uote.md', 'back\\slash.md', 'nl\n    "files": {.md', 'été.md', '\u2028sep.md', 'tab\t.md'];
const DIRS = ['news/2021/01', 'events/past', '.', 'sp ace/x'];

function randomEntry(random: () => number, id: number, source = SOURCES[Math.floor(random() * SOURCES.length)]!, names = NAMES): ManifestWorkPackage {
  const files: Record<string, string> = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) {
    const dir = DIRS[Math.floor(random() * DIRS.length)]!;
    const name = `${id}-${names[Math.floor(random() * names.length)]}`;
    files[dir === '.' ? name : `${dir}/${name}`] = 'f'.repeat(64);
  }
  const e: ManifestWorkPackage = {
    source,
    updatedAt: new Date(Date.UTC(2021, 0, 1) + Math.floor(random() * 1e10)).toISOString().replace('.000Z', random() < 0.5 ? '.123456Z' : 'Z'),
    lockVersion: Math.floor(random() * 5),
    files,
    attachments: random() < 0.5 ? {} : { [String(id * 10)]: { md5: 'm', size: 3, sha256: 's', probe: { kind: 'image', valid: true, format: 'PNG', width: 1, height: 2 } } },
    digest: `d${id}`,
  };
  if (random() < 0.2) e.validFrom = new Date(Date.UTC(2021, 0, 1 + Math.floor(random() * 30))).toISOString();
  if (random() < 0.2) e.validUntil = new Date(Date.UTC(2021, 1, 1 + Math.floor(random() * 30))).toISOString();
  if (random() < 0.25) e.refs = { [String(Math.floor(random() * 5))]: random() < 0.5 ? null : `news@f${Math.floor(random() * 3)}${random() < 0.5 ? '~abc' : ''}` };
  if (random() < 0.2) e.memory = { aliases: ['/x/"\n    "source": "fake"'], n: 1 };
  return e;
}

function randomShard(random: () => number, shard: number, size: number): Record<string, ManifestWorkPackage> {
  const entries: Record<string, ManifestWorkPackage> = {};
  for (let i = 0; i < size; i++) {
    const id = shard * 1000 + Math.floor(random() * 1000);
    entries[String(id)] = randomEntry(random, id);
  }
  return entries;
}

describe('shard text', () => {
  it('indexes every entry of a shard as stableJson writes it: ids, bounds, source, updatedAt, paths', () => {
    const random = rng(11);
    for (let round = 0; round < 60; round++) {
      const entries = randomShard(random, round % 3, 1 + Math.floor(random() * 40));
      const st = indexShardText(stableJson(entries));
      expect(st).not.toBeNull();
      expect(st!.ids).toEqual(Object.keys(entries).map(Number));
      st!.ids.forEach((id, i) => {
        const e = entries[String(id)]!;
        expect(parseEntry(st!, i)).toEqual(e);
        expect(st!.sources[i]).toBe(e.source);
        expect(st!.updatedAts[i]).toBe(e.updatedAt);
        expect(entryPaths(st!, i).sort()).toEqual(Object.keys(e.files).sort());
      });
    }
  });

  it('refuses text not laid out as curate writes it (the caller parses it whole)', () => {
    const text = stableJson({ '5': randomEntry(rng(1), 5), '7': randomEntry(rng(2), 7) });
    expect(indexShardText(text)).not.toBeNull();
    for (const bad of [JSON.stringify(JSON.parse(text)), text.replace('"5"', '"9"'), text.replace(/\n {2}"/g, '\n   "'), `${text}\n`, '{}\n', text.replace('"source"', '"sorce"')]) expect(indexShardText(bad)).toBeNull();
    // Keys that are not a work package id as JSON writes one.
    for (const key of ['05', '-5', '5a', '', '5.0', ' 5']) expect(indexShardText(text.replace('"5": {', `"${key}": {`)), key).toBeNull();
    expect(indexShardText(stableJson({ '0': randomEntry(rng(3), 0), '7': randomEntry(rng(2), 7) }))?.ids).toEqual([0, 7]);
  });

  it('a patched shard is byte for byte the merged entries written afresh, with the same summary; spliced from the bytes (ASCII) too', () => {
    const random = rng(23);
    let rebuiltNames = 0;
    let replacedAlike = 0;
    let spliced = 0;
    // Every other round ASCII only (a shard with any other character is not spliced from its bytes).
    const ascii = NAMES.filter((n) => Buffer.byteLength(n) === n.length);
    for (let round = 0; round < 400; round++) {
      const shard = round % 4;
      const names = round % 2 ? ascii : NAMES;
      const before: Record<string, ManifestWorkPackage> = {};
      for (let i = 1 + Math.floor(random() * 30); i > 0; i--) {
        const id = shard * 1000 + Math.floor(random() * 1000);
        before[String(id)] = randomEntry(random, id, undefined, names);
      }
      const text = stableJson(before);
      const base = indexShardText(text)!;
      const dropped = new Map<number, ManifestWorkPackage>();
      const put = new Map<number, ManifestWorkPackage>();
      for (const id of base.ids) {
        const r = random();
        if (r < 0.15) dropped.set(id, before[String(id)]!); // gone
        else if (r < 0.35) {
          // mapped again: sometimes the same files (an edit), sometimes other names (a rename), another source
          dropped.set(id, before[String(id)]!);
          const next = randomEntry(random, id);
          if (random() < 0.5) next.files = { ...before[String(id)]!.files };
          // Often an edit that leaves the page's links and validity as they were (references
          // as an equal copy, in another key order), and sometimes one that changes only one key.
          const old = before[String(id)]!;
          if (random() < 0.6) {
            for (const key of ['validFrom', 'validUntil', 'refs'] as const) delete next[key];
            if (old.validFrom !== undefined) next.validFrom = old.validFrom;
            if (old.validUntil !== undefined) next.validUntil = old.validUntil;
            if (old.refs !== undefined) next.refs = Object.fromEntries(Object.entries(old.refs).reverse());
            if (old.refs !== undefined && random() < 0.2) next.refs = { ...next.refs, [Object.keys(old.refs)[0]!]: 'news@changed' };
          }
          put.set(id, next);
        } else if (r < 0.4 && Object.keys(before[String(id)]!.files).length) {
          // kept with a file released to another work package
          dropped.set(id, before[String(id)]!);
          const files = { ...before[String(id)]!.files };
          delete files[Object.keys(files)[0]!];
          put.set(id, { ...before[String(id)]!, files });
        }
      }
      // new work packages
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const id = shard * 1000 + Math.floor(random() * 1000);
        if (!(String(id) in before)) put.set(id, randomEntry(random, id));
      }
      const merged: Record<string, ManifestWorkPackage> = {};
      for (const id of base.ids) if (!dropped.has(id)) merged[String(id)] = before[String(id)]!;
      for (const [id, e] of put) merged[String(id)] = e;
      const patch: ShardPatch = { base, baseSummary: summarizeShard(before, Buffer.byteLength(text)), dropped, put };
      expect(patchEmpty(patch)).toBe(Object.keys(merged).length === 0);
      if (patchEmpty(patch)) continue;
      const out = patchText(patch);
      expect(out).toBe(stableJson(merged));
      if (Buffer.byteLength(text) === text.length) {
        spliced += 1;
        expect(Buffer.concat(patchBytes(patch, Buffer.from(text))).equals(Buffer.from(out))).toBe(true);
      }
      expect(patchSummary(patch, Buffer.byteLength(out))).toEqual(summarizeShard(merged, Buffer.byteLength(out)));
      const had = [...dropped].filter(([, e]) => e.validFrom || e.validUntil || e.refs);
      if (had.length) rebuiltNames += 1;
      // Every dropped entry with validity or references replaced by one with the same: the
      // summary combines the previous one with the new entries (no kept entry read).
      const same = (a: ManifestWorkPackage, b: ManifestWorkPackage | undefined): boolean =>
        !!b && a.validFrom === b.validFrom && a.validUntil === b.validUntil && JSON.stringify(Object.entries(a.refs ?? {}).sort()) === JSON.stringify(Object.entries(b.refs ?? {}).sort()) && (a.refs === undefined) === (b.refs === undefined);
      if (had.length && had.every(([id, e]) => same(e, put.get(id)))) replacedAlike += 1;
    }
    // The rounds crossed the slow paths (validity or references read from the kept text).
    expect(rebuiltNames).toBeGreaterThan(50);
    expect(replacedAlike).toBeGreaterThan(20);
    expect(spliced).toBeGreaterThan(150);
  });
});
