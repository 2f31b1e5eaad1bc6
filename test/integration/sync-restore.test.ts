// Owned files that went missing or were edited by hand: an incremental run restores the
// missing ones (downloading only what it must), `full` restores edited ones, unchanged
// files are never rewritten, and an attachment that cannot be fetched again is an item
// error that holds the watermark and is retried.
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, FIXTURE_EXPECTED, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator } from '../helpers/sync-harness.js';
import { readStateJson } from '../helpers/state.js';

const same = { missing: [], extra: [], different: [] };

interface ManifestJson {
  sources: Record<string, { watermark: string | null; retry: number[] }>;
  workPackages: Record<string, { source: string; files: Record<string, string>; attachments: Record<string, unknown> }>;
}

const readManifestJson = async (dir: string): Promise<ManifestJson> => (await readStateJson(dir)) as ManifestJson;

/** Two different work packages that each own a markdown file and at least one cached attachment file. */
function pickOwners(m: ManifestJson): Array<{ id: string; md: string; asset: string; attachmentId: string }> {
  const out = [];
  for (const [id, w] of Object.entries(m.workPackages).sort(([a], [b]) => Number(a) - Number(b))) {
    const md = Object.keys(w.files).find((f) => f.endsWith('.md'));
    const asset = Object.keys(w.files).find((f) => !f.endsWith('.md'));
    const attachmentId = Object.keys(w.attachments)[0];
    if (md && asset && attachmentId && Object.keys(w.attachments).length === 1) out.push({ id, md, asset, attachmentId });
  }
  return out;
}

async function mtimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const rel of (await treeHashes(dir)).keys()) out.set(rel, (await stat(path.join(dir, rel))).mtimeMs);
  return out;
}

describe('lost and edited owned files', () => {
  it('incremental restores missing files with only the downloads it needs; full restores edited ones; nothing else is rewritten', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const expected = await treeHashes(FIXTURE_EXPECTED);
      await medigySync(sim, dir);
      const owners = pickOwners(await readManifestJson(dir));
      expect(owners.length).toBeGreaterThanOrEqual(3);
      const [a, b, c] = owners as [(typeof owners)[0], (typeof owners)[0], (typeof owners)[0]];
      await unlink(path.join(dir, a.md)); // a lost markdown file
      await unlink(path.join(dir, b.asset)); // a lost image
      await writeFile(path.join(dir, c.asset), 'edited by hand'); // an edited image
      const before = await mtimes(dir);

      sim.resetCounts();
      const r = await medigySync(sim, dir);
      expect(r.errors).toEqual([]);
      expect(r.counts.total).toMatchObject({ create: 2, update: 0, delete: 0 });
      expect(r.touchedFiles.filter((f) => !f.startsWith('.curate/')).sort()).toEqual([a.md, b.asset].sort());
      // Only the lost image is downloaded again (plus metadata JSON of the two re-mapped work packages, never cached).
      const contentPaths = sim.log().filter((l) => l.route === 'content').map((l) => l.path);
      expect(contentPaths.filter((p) => p.includes(`/attachments/${b.attachmentId}/`))).toHaveLength(1);
      expect(contentPaths.filter((p) => p.includes(`/attachments/${a.attachmentId}/`))).toHaveLength(0);
      const now = await treeHashes(dir);
      expect(now.get(a.md)).toBe(expected.get(a.md));
      expect(now.get(b.asset)).toBe(expected.get(b.asset));
      // A hand edit to a file of an unchanged work package is kept until it changes or a full run.
      expect(await readFile(path.join(dir, c.asset), 'utf8')).toBe('edited by hand');
      const afterIncremental = await mtimes(dir);
      for (const [rel, t] of before) if (rel !== a.md && rel !== b.asset) expect(afterIncremental.get(rel), rel).toBe(t);

      const full = await medigySync(sim, dir, { full: true });
      expect(full.counts.total).toMatchObject({ create: 0, update: 1, delete: 0 });
      expect(full.touchedFiles.filter((f) => !f.startsWith('.curate/'))).toEqual([c.asset]);
      expect(diffTrees(await treeHashes(dir), expected)).toEqual(same);
      const afterFull = await mtimes(dir);
      for (const [rel, t] of afterIncremental) if (rel !== c.asset) expect(afterFull.get(rel), rel).toBe(t);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a lost file whose attachment now fails to download is an item error: the run goes on, the watermark holds, the next run restores it', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const m = await readManifestJson(dir);
      const [victim] = pickOwners(m);
      const source = m.workPackages[victim!.id]!.source;
      await unlink(path.join(dir, victim!.asset));
      sim.inject({ kind: 'status', status: 404, route: 'content', match: ({ path: p }) => p.includes(`/attachments/${victim!.attachmentId}/`), times: 1000 });
      const r = await medigySync(sim, dir);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatchObject({ kind: 'attachment', workPackageId: Number(victim!.id), attachmentId: Number(victim!.attachmentId), source });
      expect(r.errors[0]!.message).toMatch(/missing on disk.*404/s);
      const held = await readManifestJson(dir);
      expect(held.sources[source]!.retry).toEqual([Number(victim!.id)]);
      expect(held.sources[source]!.watermark).toBe(m.sources[source]!.watermark);
      sim.clearFaults();
      const again = await medigySync(sim, dir);
      expect(again.errors).toEqual([]);
      expect((await readManifestJson(dir)).sources[source]!.retry).toEqual([]);
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
