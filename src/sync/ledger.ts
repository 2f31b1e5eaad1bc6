// The only place that records what happened to each work package in a run. Counts,
// item errors, retry lists, which sources hold their watermark and the next manifest's
// entries are all derived from it, so they cannot disagree.
import { createEntrySpill, type EntrySpill } from '../output/entry-spill.js';
import { shardOf, type ManifestWorkPackage } from '../output/manifest.js';
import type { ShardPatch } from '../output/shard-text.js';
import type { ItemError, SyncEvent } from './events.js';
import { keepsPrevious } from './keep.js';
import type { PreviousState } from './previous-state.js';

export type Outcome =
  /** Mapped again: its new entry (in the ledger's spill) replaces the previous one. */
  | { kind: 'mapped'; source: string }
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
  /**
   * The work packages whose outcome is `failed` or `deferred` (what `holds` and `retry` ask
   * for, per source): a run's few, rather than a pass over every outcome for each source
   * (at 30,000 work packages and seven sources, 14 passes and ~20 MB of garbage).
   */
  private readonly unsettled = new Map<number, Outcome>();
  private readonly keptBy = new Map<string, Outcome>();
  private readonly mappedBy = new Map<string, Outcome>();
  /** Mapped, but their rows changed while the run went on (recheck.ts): retried next run. */
  private readonly rechecks = new Set<number>();
  /** Mapped entries' recorded references (only those that have some): what facts.ts checks after the walks. */
  private readonly refsOf = new Map<number, NonNullable<ManifestWorkPackage['refs']>>();
  /** Files whose bytes turned out other than mapped (tree.ts): path → sha256, applied when the entry is read back. */
  private readonly amended = new Map<number, Map<string, string>>();
  readonly errors: ItemError[] = [];
  /** Sources with a failure that names no work package (e.g. an element without an id). */
  private readonly held = new Set<string>();
  /** Work packages listed by the sources (distinct ids). */
  listed = 0;

  /**
   * @param spill where mapped entries wait for the state to be written (the run's staging
   * folder; in memory by default): a run holds no entry it mapped.
   */
  constructor(
    private readonly previous: PreviousState,
    private readonly emit: (e: SyncEvent) => void,
    private readonly spill: EntrySpill = createEntrySpill(null),
  ) {}

  /** Every outcome is recorded here, so that `unsettled` follows `outcomes`. */
  private record(id: number, outcome: Outcome): void {
    this.outcomes.set(id, outcome);
    if (outcome.kind === 'failed' || outcome.kind === 'deferred') this.unsettled.set(id, outcome);
    else this.unsettled.delete(id);
  }

  mapped(source: string, id: number, entry: ManifestWorkPackage): void {
    if (this.outcomes.get(id)?.kind === 'failed') return; // a failure sticks for the run
    this.spill.put(id, entry);
    this.rechecks.delete(id);
    this.amended.delete(id);
    if (entry.refs && Object.keys(entry.refs).length) this.refsOf.set(id, entry.refs);
    else this.refsOf.delete(id);
    let m = this.mappedBy.get(source);
    if (!m) this.mappedBy.set(source, (m = Object.freeze({ kind: 'mapped', source })));
    this.record(id, m);
    this.emit({ type: 'workPackage', source, id, skipped: false });
  }

  /**
   * A mapped work package whose row changed after the run read it (recheck.ts): its files
   * stay as mapped, and it goes on the retry list (`retry`), not an error.
   */
  recheck(id: number): void {
    if (this.outcomes.get(id)?.kind === 'mapped') this.rechecks.add(id);
  }

  /** Whether the run mapped any work package of the source. */
  mappedAny(source: string): boolean {
    return this.mappedBy.has(source);
  }

  /** A mapped work package's file whose bytes turned out to be other than mapped (re-downloaded): its entry records these. */
  amend(id: number, path: string, sha256: string): void {
    if (this.outcomes.get(id)?.kind !== 'mapped') return;
    let m = this.amended.get(id);
    if (!m) this.amended.set(id, (m = new Map()));
    m.set(path, sha256);
  }

  /** The references recorded by each page mapped this run that has some. */
  *mappedRefs(): Generator<[number, { refs: NonNullable<ManifestWorkPackage['refs']> }]> {
    for (const [id, refs] of this.refsOf) if (this.outcomes.get(id)?.kind === 'mapped') yield [id, { refs }];
  }

  kept(source: string, id: number): void {
    if (this.keep(source, id)) this.emit({ type: 'workPackage', source, id, skipped: true });
  }

  /** Work packages of one shard kept whole, decided from the shard's summary (their entries not read): one event. */
  keptShard(source: string, shard: number, ids: readonly number[]): void {
    // What keep does for each, with the ownership checked in one walk over the shard's
    // owned ids (a lookup per id was ~1 ms of a no-change run at 30,000); an id without
    // an outcome has none to leave `unsettled` either.
    if (!this.previous.ownsAllIn(source, shard, ids)) {
      const stray = ids.find((id) => this.previous.sourceOf(id) !== source)!;
      throw new Error(`ledger: work package #${stray} cannot be kept by "${source}", it has no previous entry of that source`);
    }
    const k = this.keptOutcome(source);
    const kept = ids.filter((id) => {
      if (this.outcomes.has(id)) return false;
      this.outcomes.set(id, k);
      return true;
    });
    if (kept.length) this.emit({ type: 'keptShard', source, shard, ids: kept });
  }

  /** Records a work package as kept; false when it already had an outcome. */
  private keep(source: string, id: number): boolean {
    if (!this.previous.owns(id)) throw new Error(`ledger: work package #${id} cannot be kept, it has no previous entry`);
    if (this.outcomes.has(id)) return false;
    this.record(id, this.keptOutcome(source));
    return true;
  }

  /** One outcome object per source, shared (a no-change run keeps every work package). */
  private keptOutcome(source: string): Outcome {
    let k = this.keptBy.get(source);
    if (!k) this.keptBy.set(source, (k = Object.freeze({ kind: 'kept', source })));
    return k;
  }

  gone(source: string, id: number): void {
    if (this.outcomes.has(id)) return;
    this.record(id, { kind: 'gone', source });
  }

  /** An item error. With an id, the work package's outcome becomes `failed` whatever it was. */
  failed(error: ItemError & { source: string }): void {
    this.errors.push(error);
    this.emit({ type: 'itemError', error });
    if (error.workPackageId === undefined) this.held.add(error.source);
    else this.record(error.workPackageId, { kind: 'failed', source: error.source });
  }

  /** Not an error: reported as a warning by the caller; its last good files stay and it is retried. */
  deferred(source: string, id: number): void {
    if (this.outcomes.get(id)?.kind === 'failed') return;
    this.record(id, { kind: 'deferred', source });
  }

  outcome(id: number): Outcome | undefined {
    return this.outcomes.get(id);
  }

  /** Ids of one kind. */
  ids(kind: Outcome['kind']): Set<number> {
    const out = new Set<number>();
    this.outcomes.forEach((o, id) => o.kind === kind && out.add(id));
    return out;
  }

  /** A source with any failure keeps its previous watermark: what failed is retried by id, and nothing newer is skipped. */
  holds(source: string): boolean {
    if (this.held.has(source)) return true;
    for (const o of this.unsettled.values()) if (o.kind === 'failed' && o.source === source) return true;
    return false;
  }

  /** What the next run maps again by id: failed, deferred, or mapped from a row that changed while the run went on. */
  retry(source: string): number[] {
    const out: number[] = [];
    for (const [id, o] of this.unsettled) if (o.source === source) out.push(id);
    this.rechecks.forEach((id) => {
      const o = this.outcomes.get(id);
      if (o?.kind === 'mapped' && o.source === source) out.push(id);
    });
    return out.sort((a, b) => a - b);
  }

  counts(): { listed: number; mapped: number; skipped: number; failed: number; deferred: number } {
    let mapped = 0;
    let skipped = 0;
    let deferred = 0;
    let failed = this.errors.filter((e) => e.workPackageId === undefined).length;
    this.outcomes.forEach((o) => {
      if (o.kind === 'mapped') mapped += 1;
      else if (o.kind === 'kept') skipped += 1;
      else if (o.kind === 'failed') failed += 1;
      else if (o.kind === 'deferred') deferred += 1;
    });
    return { listed: this.listed, mapped, skipped, failed, deferred };
  }

  /**
   * The next state's work packages, shard by shard (keep.ts says which previous entries
   * stay). A previous entry with no outcome is kept: nothing is ever dropped (and its files
   * deleted) without a recorded reason. `released` removes paths a lower id took from a
   * kept work package. `dirty`: the shards holding an entry that is new, different or gone.
   * `shards`: every shard that may hold an entry (read or mapped this run); those of shards
   * the run did not read stay as they are (every work package with a new entry is in a
   * read shard: checked here).
   */
  nextEntries(released: ReadonlyMap<number, string[]>): NextEntries {
    const dirty = new Set<number>();
    const mappedIn = new Map<number, number>();
    const byShard = new Map<number, number[]>();
    this.previous.loadedIds().forEach((id) => {
      const shard = shardOf(id);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      list.push(id);
      if (!keepsPrevious(this.outcomes.get(id)?.kind) || released.get(id)?.length) dirty.add(shard);
    });
    // forEach, not for…of: a no-change run of 30,000 visits 30,000 outcomes here, and an
    // iteration of for…of allocates (its result, and the entry's pair) in code V8 has not
    // optimized, which a short run's is: such loops were a quarter of its garbage.
    this.outcomes.forEach((o, id) => {
      if ((o.kind === 'mapped' || o.kind === 'gone') && !this.previous.isLoaded(shardOf(id)))
        throw new Error(`ledger: work package #${id} is ${o.kind}, but its shard of the state was not read`);
      if (o.kind === 'mapped') {
        dirty.add(shardOf(id));
        mappedIn.set(shardOf(id), (mappedIn.get(shardOf(id)) ?? 0) + 1);
      }
    });
    const entriesOf = async (shard: number): Promise<Record<string, ManifestWorkPackage> | ShardPatch> => {
      // What replaces each previous entry that does not stay as it was: nothing (gone), a
      // mapped entry, or the entry less the files a lower id took (released).
      const dropped = new Map<number, ManifestWorkPackage>();
      const put = new Map<number, ManifestWorkPackage>();
      (byShard.get(shard) ?? []).forEach((id) => {
        const kind = this.outcomes.get(id)?.kind;
        const lost = released.get(id);
        if (keepsPrevious(kind) && !lost?.length) return;
        const old = this.previous.entry(id)!;
        dropped.set(id, old);
        if (!keepsPrevious(kind)) return; // gone: dropped; mapped: replaced below
        const files = { ...old.files };
        for (const p of lost!) delete files[p];
        put.set(id, { ...old, files });
      });
      for (const [id, entry] of await this.spill.read(shard)) {
        // A work package mapped, then failed (a collision, an attachment): its spilled entry is not the next one.
        if (this.outcomes.get(id)?.kind !== 'mapped') continue;
        for (const [p, sha] of this.amended.get(id) ?? []) entry.files[p] = sha;
        put.set(id, entry);
      }
      const spliced = this.previous.bytesToWrite(shard);
      if (spliced) return { base: spliced.index, baseBytes: spliced.bytes, baseSummary: this.previous.summary(shard)!, dropped, put };
      const base = this.previous.textToWrite(shard);
      if (base) return { base, baseSummary: this.previous.summary(shard)!, dropped, put };
      // A shard read as objects (or no state): the entries that stay, then the new ones.
      const entries: Record<string, ManifestWorkPackage> = {};
      for (const id of byShard.get(shard) ?? []) if (!dropped.has(id)) entries[String(id)] = this.previous.entry(id)!;
      for (const [id, entry] of put) entries[String(id)] = entry;
      return entries;
    };
    const shards = [...new Set([...byShard.keys(), ...this.spill.shards()])].sort((a, b) => a - b);
    return { dirty, shards, entriesOf, fresh: (shard) => mappedIn.get(shard) ?? 0, writeOrder: (order) => this.previous.heldFirst(order) };
  }

  /** Ids with an entry in the next state, among the shards read (see nextEntries). */
  nextOwnedIds(into: Set<number>): Set<number> {
    this.previous.loadedIds().forEach((id) => keepsPrevious(this.outcomes.get(id)?.kind) && into.add(id));
    this.outcomes.forEach((o, id) => o.kind === 'mapped' && into.add(id));
    return into;
  }
}

/** The next state's entries, shard by shard: read on demand so that no more than a few shards' are in memory at once. */
export interface NextEntries {
  /** Shards whose entries changed. */
  dirty: Set<number>;
  /** Every shard that may hold an entry, ascending. */
  shards: number[];
  entriesOf(shard: number): Promise<Record<string, ManifestWorkPackage> | ShardPatch>;
  /** How many of a shard's entries this run mapped. */
  fresh(shard: number): number;
  /** The shards whose previous texts are in memory first (see PreviousState.heldFirst). */
  writeOrder(shards: readonly number[]): number[];
}
