// The previous run's state, as this run reads it: one view of the manifest with the
// lookups the phases need (an entry by id, a source's owned work packages, the owner of a
// path), each built once, on first use.
import type { Manifest, ManifestSource, ManifestWorkPackage, StoredState } from '../output/manifest.js';

export class PreviousState {
  private bySource: Map<string, Map<number, ManifestWorkPackage>> | null = null;
  private pathOwners: Map<string, number> | null = null;

  readonly manifest: Manifest | null;
  /** The shards' digests as read; null: no state, or an old format holding everything inline. */
  readonly shards: ReadonlyMap<number, string> | null;
  /** Why the state's files disagree with each other (StoredState.torn), or null. */
  readonly torn: string | null;

  constructor(stored: StoredState | null) {
    this.manifest = stored?.manifest ?? null;
    this.shards = stored?.shards ?? null;
    this.torn = stored?.torn ?? null;
  }

  get exists(): boolean {
    return this.manifest !== null;
  }

  entry(id: number): ManifestWorkPackage | undefined {
    return this.manifest?.workPackages[String(id)];
  }

  source(name: string): ManifestSource | undefined {
    return this.manifest?.sources[name];
  }

  sourceNames(): string[] {
    return Object.keys(this.manifest?.sources ?? {});
  }

  /** Every previous entry, by id. */
  *entries(): Generator<[number, ManifestWorkPackage]> {
    const wps = this.manifest?.workPackages;
    for (const id in wps) yield [Number(id), wps[id]!];
  }

  /** The work packages a source owned, by id (empty for a source that owned none). */
  ownedBy(source: string): ReadonlyMap<number, ManifestWorkPackage> {
    if (!this.bySource) {
      this.bySource = new Map();
      for (const [id, w] of this.entries()) {
        let m = this.bySource.get(w.source);
        if (!m) this.bySource.set(w.source, (m = new Map()));
        m.set(id, w);
      }
    }
    return this.bySource.get(source) ?? new Map();
  }

  /** Sources that owned work packages (including ones no longer configured). */
  owningSources(): string[] {
    this.ownedBy('');
    return [...this.bySource!.keys()];
  }

  /** The work package whose entry records a path, if any. */
  ownerOf(path: string): number | undefined {
    if (!this.pathOwners) {
      this.pathOwners = new Map();
      for (const [id, w] of this.entries()) for (const p in w.files) this.pathOwners.set(p, id);
    }
    return this.pathOwners.get(path);
  }
}
