// The sync state under an output root as one object (manifest.json and its shards merged),
// read by the product's own reader: tests look at entries, not at how they are stored.
import { readManifest, type Manifest } from '../../src/output/manifest.js';

export async function readStateJson(root: string): Promise<Manifest> {
  const m = await readManifest(root);
  if (!m) throw new Error(`no sync state under ${root}`);
  return m;
}
