// The sync state under an output root as one object (manifest.json and its shards merged),
// read by the product's own reader: tests look at entries, not at how they are stored.
import { readManifest, shardOf, type Manifest } from '../../src/output/manifest.js';

export async function readStateJson(root: string): Promise<Manifest> {
  const m = await readManifest(root);
  if (!m) throw new Error(`no sync state under ${root}`);
  return m;
}

/**
 * The shards an ordinary run's changes walks will not read, by the state under `root`: none
 * of their rows is as new as its source's watermark minus the overlap (300 s by default).
 * Their ids, by shard.
 */
export async function shardsNoWalkReads(root: string, overlapMs = 300_000): Promise<Map<number, number[]>> {
  const state = await readStateJson(root);
  const bound = (source: string): number => Date.parse(state.sources[source]?.watermark ?? '1970-01-01T00:00:00Z') - overlapMs;
  const byShard = new Map<number, number[]>();
  const loud = new Set<number>();
  for (const [id, w] of Object.entries(state.workPackages)) {
    const shard = shardOf(Number(id));
    if (Date.parse(w.updatedAt) >= bound(w.source)) loud.add(shard);
    byShard.set(shard, [...(byShard.get(shard) ?? []), Number(id)]);
  }
  for (const shard of loud) byShard.delete(shard);
  return byShard;
}
