// The only place that records what happened to each work package in a run. Counts,
// item errors, retry lists, which sources hold their watermark and the next manifest's
// entries are all derived from it, so they cannot disagree.
import { inStableOrder, shardOf, type ManifestWorkPackage } from '../output/manifest.js';
import type { ItemError, SyncEvent } from './events.js';
import { keepsPrevious } from './keep.js';
import type { PreviousState } from './previous-state.js';

export type Outcome =
  /** Mapped again: `entry` replaces the previous one. */
  | { kind: 'mapped'; source: string; entry: ManifestWorkPackage }
  /** Unchanged: the previous entry and its files stay. */
  | { kind: 'kept'; source: string }
  /** Failed: its last good files (if any) stay and it is retried next run. */
  | { kind: 'failed'; source: string }
  /** Not yet (an attachment still uploading or awaiting its virus scan): like failed, but not an error. */
  | { kind: 'deferred'; source: string }
  /** Confirmed gone (deleted, moved out of every source, or its source was removed): its files go. */
  | { kind: 'gone'; source: string };

export class Ledger {
  private readonly outcomes = new Map<number, Outcome>();
  private readonly keptBy = new Map<string, Outcome>();
  readonly errors: ItemError[] = [];
  /** Sources with a failure that names no work package (e.g. an element without an id). */
  private readonly held = new Set<string>();
  /** Work packages listed by the sources (distinct ids). */
  listed = 0;

  constructor(
    private readonly previous: PreviousState,
    private readonly emit: (e: SyncEvent) => void,
  ) {}

  mapped(source: string, id: number, entry: ManifestWorkPackage): void {
    if (this.outcomes.get(id)?.kind === 'failed') return; // a failure sticks for the run
    // In the state's key order now, so writing its shard shares it instead of copying it.
    this.outcomes.set(id, { kind: 'mapped', source, entry: inStableOrder(entry) as ManifestWorkPackage });
    this.emit({ type: 'workPackage', source, id, skipped: false });
  }

  kept(source: string, id: number): void {
    if (!this.previous.owns(id)) throw new Error(`ledger: work package #${id} cannot be kept, it has no previous entry`);
    if (this.outcomes.has(id)) return;
    // One outcome object per source, shared (a no-change run keeps every work package).
    let k = this.keptBy.get(source);
    if (!k) this.keptBy.set(source, (k = Object.freeze({ kind: 'kept', source })));
    this.outcomes.set(id, k);
    this.emit({ type: 'workPackage', source, id, skipped: true });
  }

  gone(source: string, id: number): void {
    if (this.outcomes.has(id)) return;
    this.outcomes.set(id, { kind: 'gone', source });
  }

  /** An item error. With an id, the work package's outcome becomes `failed` whatever it was. */
  failed(error: ItemError & { source: string }): void {
    this.errors.push(error);
    this.emit({ type: 'itemError', error });
    if (error.workPackageId === undefined) this.held.add(error.source);
    else this.outcomes.set(error.workPackageId, { kind: 'failed', source: error.source });
  }

  /** Not an error: reported as a warning by the caller; its last good files stay and it is retried. */
  deferred(source: string, id: number): void {
    if (this.outcomes.get(id)?.kind === 'failed') return;
    this.outcomes.set(id, { kind: 'deferred', source });
  }

  outcome(id: number): Outcome | undefined {
    return this.outcomes.get(id);
  }

  /** Ids of one kind. */
  ids(kind: Outcome['kind']): Set<number> {
    const out = new Set<number>();
    for (const [id, o] of this.outcomes) if (o.kind === kind) out.add(id);
    return out;
  }

  /** A source with any failure keeps its previous watermark: what failed is retried by id, and nothing newer is skipped. */
  holds(source: string): boolean {
    if (this.held.has(source)) return true;
    for (const o of this.outcomes.values()) if (o.kind === 'failed' && o.source === source) return true;
    return false;
  }

  retry(source: string): number[] {
    const out: number[] = [];
    for (const [id, o] of this.outcomes) if ((o.kind === 'failed' || o.kind === 'deferred') && o.source === source) out.push(id);
    return out.sort((a, b) => a - b);
  }

  counts(): { listed: number; mapped: number; skipped: number; failed: number; deferred: number } {
    let mapped = 0;
    let skipped = 0;
    let deferred = 0;
    let failed = this.errors.filter((e) => e.workPackageId === undefined).length;
    for (const o of this.outcomes.values()) {
      if (o.kind === 'mapped') mapped += 1;
      else if (o.kind === 'kept') skipped += 1;
      else if (o.kind === 'failed') failed += 1;
      else if (o.kind === 'deferred') deferred += 1;
    }
    return { listed: this.listed, mapped, skipped, failed, deferred };
  }

  /**
   * The next manifest's work packages (keep.ts says which previous entries stay). A previous
   * entry with no outcome is kept: nothing is ever dropped (and its files deleted) without a
   * recorded reason. `released` removes
   * paths a lower id took from a kept work package. `changed`: the ids whose entry is new,
   * different or gone. Entries of shards the run did not read stay as they are (every work
   * package with a new entry is in a read shard: checked here).
   */
  nextWorkPackages(released: ReadonlyMap<number, string[]>): { entries: Record<string, ManifestWorkPackage>; changed: Set<number> } {
    const entries: Record<string, ManifestWorkPackage> = {};
    const changed = new Set<number>();
    for (const [id, old] of this.previous.loadedEntries()) {
      const kind = this.outcomes.get(id)?.kind;
      if (!keepsPrevious(kind)) {
        changed.add(id); // gone: dropped; mapped: replaced below
        continue;
      }
      const lost = released.get(id);
      if (lost?.length) {
        changed.add(id);
        const files = { ...old.files };
        for (const p of lost) delete files[p];
        entries[String(id)] = { ...old, files };
      } else entries[String(id)] = old;
    }
    for (const [id, o] of this.outcomes) {
      if ((o.kind === 'mapped' || o.kind === 'gone') && !this.previous.isLoaded(shardOf(id))) throw new Error(`ledger: work package #${id} is ${o.kind}, but its shard of the state was not read`);
      if (o.kind !== 'mapped') continue;
      entries[String(id)] = o.entry;
      changed.add(id);
    }
    return { entries, changed };
  }
}
