// Plan counts and the summary, the manifest's stable JSON, and lock staleness: the pure
// parts of the sync engine.
import { hostname } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { staleReason, STALE_LOCK_MS } from '../../src/output/lock.js';
import { emptyManifest, readManifest, stableJson, stableJsonChunks } from '../../src/output/manifest.js';
import { renderPlanSummary } from '../../src/plan/render.js';
import { countPlan, hasChanges, type PlannedFile } from '../../src/plan/types.js';
import { tempDir } from '../helpers/env.js';

const file = (p: Partial<PlannedFile> & Pick<PlannedFile, 'path' | 'action' | 'source'>): PlannedFile => ({ workPackageId: 1, sha256: null, oldSha256: null, binary: false, ...p });

describe('plan summary', () => {
  const files: PlannedFile[] = [
    file({ path: 'events/a.md', action: 'create', source: 'events' }),
    file({ path: 'news/b.md', action: 'create', source: 'news', renamedFrom: 'news/old-b.md' }),
    file({ path: 'news/c.md', action: 'update', source: 'news' }),
    file({ path: 'news/d.md', action: 'unchanged', source: 'news' }),
    file({ path: 'news/old-b.md', action: 'delete', source: 'news' }),
  ]; // sorted by path, as a SyncPlan is

  it('counts per action, renames separately', () => {
    expect(countPlan(files)).toEqual({ create: 2, update: 1, delete: 1, unchanged: 1, rename: 1 });
    expect(hasChanges({ files })).toBe(true);
    expect(hasChanges({ files: [files[3]!] })).toBe(false);
  });

  it('renders totals, then per source (sorted), then the changed files', () => {
    expect(renderPlanSummary({ files })).toEqual([
      'Plan: 2 to create, 1 to update, 1 to delete (1 renamed), 1 unchanged',
      '  events: 1 to create, 0 to update, 0 to delete, 0 unchanged',
      '  news: 1 to create, 1 to update, 1 to delete (1 renamed), 1 unchanged',
      '  + events/a.md',
      '  + news/b.md (renamed from news/old-b.md)',
      '  ~ news/c.md',
      '  - news/old-b.md',
    ]);
    expect(renderPlanSummary({ files }, { maxFiles: 1 }).slice(-2)).toEqual(['  + events/a.md', '  … and 3 more (--verbose lists them all)']);
  });
});

describe('manifest JSON', () => {
  it('is the same bytes whatever the key order, pretty-printed with a final newline', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const shuffled = Object.fromEntries(Object.entries(obj).reverse());
        expect(stableJson(shuffled)).toBe(stableJson(obj));
        expect(JSON.parse(stableJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
      { numRuns: 200 },
    );
    // Streamed in pieces, the bytes are exactly those of stringifying a key-sorted copy
    // (integer-like keys first, ascending, as JavaScript orders them).
    const reference = (value: unknown): string => {
      const sort = (v: unknown): unknown => (Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v);
      return `${JSON.stringify(sort(value), null, 2)}\n`;
    };
    const key = fc.oneof(fc.string(), fc.nat({ max: 100_000 }).map(String), fc.constantFrom('10', '9', '01', '-1', '4294967295', '__proto__'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 6 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect([...stableJsonChunks(v)].join('')).toBe(reference(v));
        expect(stableJson(v)).toBe(reference(v));
      }),
      { numRuns: 500 },
    );
    expect(stableJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{\n  "a": {\n    "c": null,\n    "d": [\n      2,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });

  it('reads back what it wrote; refuses other versions, other profiles and broken JSON with a way out', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const m = emptyManifest('medigy');
      m.sources.news = { watermark: '2021-01-01T00:00:00Z', retry: [3] };
      m.workPackages['3'] = { source: 'news', updatedAt: '2021-01-01T00:00:00Z', lockVersion: 2, files: { 'news/a.md': 'ab' }, attachments: { '9': { md5: null, size: 4, sha256: 'cd', probe: { kind: 'image', valid: true, format: 'PNG', width: 2, height: 3 } } } };
      await mkdir(path.join(dir, '.curate'));
      const put = (v: unknown): Promise<void> => writeFile(path.join(dir, '.curate', 'manifest.json'), typeof v === 'string' ? v : stableJson(v));
      expect(await readManifest(dir, 'medigy')).toBeNull();
      // Version 2 held every entry inline: read and upgraded.
      await put({ ...m, version: 2 });
      expect(await readManifest(dir, 'medigy')).toEqual(m);
      await expect(readManifest(dir, 'default')).rejects.toThrow(/written by the "medigy" profile/);
      // Version 3 records its shards; entries inline are not its format.
      await put({ ...m, version: 3 });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/shards: expected object, got undefined/);
      // Version 1 (before fingerprints) is read and upgraded.
      await put({ ...m, version: 1 });
      expect(await readManifest(dir, 'medigy')).toEqual(m);
      // A bad entry is named by its full key path.
      const bad = structuredClone(m) as unknown as { workPackages: Record<string, { attachments: Record<string, { probe: { format: string } }> }> };
      bad.workPackages['3']!.attachments['9']!.probe.format = 'BMP';
      await put({ ...bad, version: 2 });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/manifest\.json: workPackages\.3\.attachments\.9\.probe\.format: expected JPEG \| PNG .*, got string; delete it/);
      await put({ ...m, version: 2, workPackages: { '3': { ...m.workPackages['3'], lockVersion: '2' } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/workPackages\.3\.lockVersion: expected number, got string/);
      const wp3 = m.workPackages['3']!;
      await put({ ...m, version: 2, workPackages: { '3': { ...wp3, files: { 'news/a.md': 5 } } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/workPackages\.3\.files\.news\/a\.md: expected string, got number/);
      await put({ ...m, version: 2, workPackages: { '3': { ...wp3, attachments: { '9': { ...wp3.attachments['9'], md5: 1 } } } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/workPackages\.3\.attachments\.9\.md5: expected string or null, got number/);
      await put({ ...m, version: 2, workPackages: { '3': { ...wp3, attachments: { '9': [] } } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/workPackages\.3\.attachments\.9: expected object, got array/);
      await put({ ...m, version: 2, sources: { news: { watermark: null, retry: ['3'] } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/sources\.news\.retry: expected array of numbers, got array/);
      // The record of recent rows (format 5): an instant and `updatedAt lockVersion digest` rows.
      await put({ ...m, version: 5, sources: { news: { watermark: null, retry: [], recent: { from: 'yesterday', rows: {} } } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/sources\.news\.recent\.from: expected an ISO 8601 instant, got string/);
      await put({ ...m, version: 5, sources: { news: { watermark: null, retry: [], recent: { from: '2026-01-01T00:00:00Z', rows: { '3': '2026-01-01T00:00:00Z x d' } } } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/sources\.news\.recent\.rows\.3: expected "<updatedAt> <lockVersion> <digest>"/);
      // State from a newer curate is refused as such (upgrade), not as something to rebuild.
      await put({ ...m, version: 7 });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/written by a newer curate \(state format 7; this curate reads formats 1 to 5\): upgrade curate/);
      await put({ ...m, version: 0 });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/version: expected 1, 2, 3, 4 or 5, got number/);
      await put({ ...m, version: 2, sources: { news: { watermark: 'soon', retry: [] } } });
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/sources\.news\.watermark: expected an ISO 8601 instant or null, got string/);
      // Unknown keys are dropped, as before.
      await put({ ...m, version: 2, extra: true, workPackages: { '3': { ...m.workPackages['3'], note: 'x' } } });
      expect(await readManifest(dir, 'medigy')).toEqual(m);
      await put('{"version":1,');
      await expect(readManifest(dir, 'medigy')).rejects.toThrow(/not valid JSON.*--full/);
    } finally {
      await cleanup();
    }
  });
});

describe('lock staleness', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const fresh = new Date(now - 60_000).toISOString();
  it('a live pid on this host holds; a dead one does not; an old lock never holds', () => {
    // A live pid of another process (the parent of this test process) is not stale; our own pid
    // in a lock we do not hold is (a restarted container reuses its predecessor's pid).
    expect(staleReason({ pid: process.ppid, hostname: hostname(), startedAt: fresh }, hostname(), now, STALE_LOCK_MS)).toBeNull();
    expect(staleReason({ pid: process.pid, hostname: hostname(), startedAt: fresh, nonce: 'abcdef0123456789' }, hostname(), now, STALE_LOCK_MS)).toMatch(/names this process/);
    expect(staleReason({ pid: 2 ** 22 + 12345, hostname: hostname(), startedAt: fresh }, hostname(), now, STALE_LOCK_MS)).toMatch(/not running/);
    // Another host's pid means nothing here: only the age counts.
    expect(staleReason({ pid: 2 ** 22 + 12345, hostname: 'other', startedAt: fresh }, hostname(), now, STALE_LOCK_MS)).toBeNull();
    expect(staleReason({ pid: process.ppid, hostname: hostname(), startedAt: new Date(now - STALE_LOCK_MS - 1).toISOString() }, hostname(), now, STALE_LOCK_MS)).toMatch(/older than 12 h/);
    expect(staleReason({ pid: process.ppid, hostname: hostname(), startedAt: 'garbage' }, hostname(), now, STALE_LOCK_MS)).toBeNull();
  });
});
