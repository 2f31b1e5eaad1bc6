// Which work packages of a source must be mapped, kept or removed, with proof.
//
// - The id listing (every run) says what the source matches now.
// - The changes walk says what changed: keyset-paged from the watermark (incremental,
//   see OpenProjectClient.listChanges) or every work package (first run, --full, a source
//   whose fingerprint or shown names changed, an untrusted watermark, a restore, or the
//   periodic audit). A row is unchanged when its digest (every attribute and link title it
//   carries) is the one mapped.
// - Everything listed that the walk did not hand over is kept only when nothing else could
//   have changed its output (same fingerprint and names, not retried, its author not
//   renamed, still valid at `now`, its references unchanged, its files on disk);
//   otherwise it is fetched by id.
// - An owned work package absent from the listing is removed only once confirmed by the
//   server's own filters. A listing that missed it (rows shifting under a concurrent
//   deletion) cannot delete innocent files.
// ARCHITECTURE.md, "A page's closure", says why each of these signals exists.
import type { OpenProjectClient, WorkPackageQuery } from '../openproject/types.js';
import { parseRecentRow, recentRow, shardOf, type ManifestSource, type ManifestWorkPackage, type RecentRows } from '../output/manifest.js';
import { summaryValidAt, type ShardSummary } from '../output/shard-summary.js';
import type { SourceSpec, WorkPackage } from '../types.js';
import type { SyncEvent } from './events.js';
import type { Ledger } from './ledger.js';
import type { PreviousState } from './previous-state.js';
import { rowDigest } from './closure.js';
import { MIXED_FINGERPRINT } from './next-state.js';
import { eachLimited, mapLimited } from './pool.js';
import type { Prefetched } from './prefetch.js';
import { walkBasis, watermarkAfterWalk, type WalkBasis } from './walk-basis.js';
import { referencesChanged, validAt } from './process.js';

export interface ResolvedSource {
  spec: SourceSpec;
  query: WorkPackageQuery;
  fingerprint: string;
}

export interface CollectContext {
  client: OpenProjectClient;
  ledger: Ledger;
  previous: PreviousState;
  full: boolean;
  now: Date;
  overlapMs: number;
  /** The most rows a `recent` record holds (RECENT_ROWS unless a test says otherwise). */
  recentRowsMax?: number;
  /** The server's clock when the walks began (its Date header), or null if it sends none (or garbage). */
  walkStart: Date | null;
  /** This machine's clock. */
  clock(): Date;
  /** How long after a source's last complete walk the next one is due (the audit). */
  auditIntervalMs: number;
  /** Ids listed by more than one source: already recorded as failures. */
  overlapping: ReadonlySet<number>;
  sourceNameOf(id: number): string | undefined;
  /** How pages record the source of a work package they link to (closure.ts `refKey`). */
  refOf(id: number): string | null;
  /** Hands a work package to processing. */
  schedule(src: ResolvedSource, wp: WorkPackage): void;
  /** Every row received, changed or not: other pages may show its facts (facts.ts). */
  saw?(wp: WorkPackage): void;
  /** Resolves when processing has room for another page of work packages. */
  queueRoom(): Promise<void>;
  /** Whether every file an entry records is on disk. */
  filesPresent(entry: ManifestWorkPackage): Promise<boolean>;
  /** Whether every file an unread shard's summary records is on disk (by its name hashes; once per shard and run). */
  shardFilesPresent(shard: number): Promise<boolean>;
  checkpoint(): void;
  isAborted(): boolean;
  emit(e: SyncEvent): void;
  warn(message: string): void;
}

/** What besides the changes walk decides a source's work packages this run. */
export interface SourcePlan {
  /** Why every work package of the source is mapped again (names its pages show changed), or null. */
  remapAll: string | null;
  /** Work packages mapped again whatever their updatedAt (their author was renamed). */
  force: ReadonlySet<number>;
  /** The changes walk started beside the listing, from `from` (ms): used when the walk starts there. */
  early?: { from: number; pages: Prefetched<WorkPage> } | undefined;
}

/** A page of a walk, as the client yields it. */
type WorkPage = { offset: number; total: number; workPackages: WorkPackage[]; invalid: { id: number | null; message: string }[] };


export interface Collected {
  /** The watermark the source may store if all of its work packages succeed. */
  watermark: string | null;
  /** The rows the next changes walk returns again (`ManifestSource.recent`), stored with the watermark. */
  recent?: RecentRows;
  /** Whether this run walked every work package of the source (first run, --full, audit, or a fallback). */
  walkedAll: boolean;
}

/** The ids a source owned: asked one by one, or by shard in ascending order (PreviousState keeps them; no copy per source). */
export interface OwnedIds {
  has(id: number): boolean;
  /** Shard → the source's ids in it, ascending; shards ascending. */
  readonly byShard: ReadonlyMap<number, readonly number[]>;
}

/**
 * `owned`: the ids the source owned. Their entries are read from the state as needed
 * (PreviousState.load): a shard none of whose work packages came back, went or must be
 * read again is kept whole when its summary proves what each entry would.
 */
export async function collectSource(
  ctx: CollectContext,
  src: ResolvedSource,
  listed: ReadonlySet<number>,
  owned: OwnedIds,
  plan: SourcePlan,
): Promise<Collected> {
  const source = new SourceCollection(ctx, src, listed, owned, plan);
  source.warnWhyWalkedInFull();
  const walkedAll = source.basis.incremental ? await source.walkFromWatermark() : await source.walkEverything();
  source.warnFutureRows();
  await source.settleUnwalked();
  await source.settleAbsent();
  const watermark = source.nextWatermark(walkedAll);
  const recent = source.recentRows(watermark);
  return { watermark, walkedAll, ...(recent ? { recent } : {}) };
}

/** One source's collection in one run: what its walks received, and how each row was decided. */
class SourceCollection {
  readonly basis: WalkBasis;
  private readonly name: string;
  /** What the previous run recorded for this source. */
  private readonly stored: ManifestSource | undefined;
  private readonly previous: PreviousState;
  private readonly retry: Set<number>;
  /** Shards holding a work package that is retried or forced: never kept whole on their summary. */
  private readonly singled: Set<number>;
  /** The owned ids, by shard (OwnedIds.byShard). */
  private readonly ownedShards: ReadonlyMap<number, readonly number[]>;
  /** Owned ids the listing did not return (found while settling the listed ones; settleAbsent). */
  private unlisted: number[] = [];
  private readonly received = new Set<number>();
  /** The newest updatedAt a walk returned that is not in the future. */
  private newest: { ms: number; text: string } | null = null;
  private future = 0;
  /** The server's data went backwards (restored from a backup): an owned row older than what was mapped. */
  private regressed: string | null = null;
  /** Unchanged owned work packages: kept once their files are confirmed on disk. */
  private readonly toCheck: number[] = [];
  private readonly unchanged = new Map<number, WorkPackage>();
  /**
   * The stored `recent` rows (id → record), when they cover this walk's bound (set once
   * it is known): a returned row equal to its record needs no entry read.
   */
  private record: Map<number, string> | null = null;
  /** Rows equal to their record: decided with the listed rows the walk did not return. */
  private readonly asRecorded = new Map<number, WorkPackage>();
  /**
   * Rows received that may be at or after the next bound, as the next `recent` record
   * holds them (with their instant); null once more than RECENT_ROWS are (a bulk import
   * inside the overlap): the source then stores no record.
   */
  private candidates: Map<number, { ms: number; row: WorkPackage | null; record: string }> | null = new Map();
  private candidatesPruned = 0;

  constructor(
    private readonly ctx: CollectContext,
    private readonly src: ResolvedSource,
    private readonly listed: ReadonlySet<number>,
    private readonly owned: OwnedIds,
    private readonly plan: SourcePlan,
  ) {
    this.name = src.spec.name;
    this.stored = ctx.previous.source(this.name);
    this.previous = ctx.previous;
    this.basis = walkBasis(ctx, this.stored, src.fingerprint, plan.remapAll);
    this.retry = new Set(this.stored?.retry ?? []);
    this.singled = new Set([...this.retry, ...plan.force].map(shardOf));
    this.ownedShards = owned.byShard;
  }

  /** Why every work package of the source is read this run, when that is not what the user asked for. */
  warnWhyWalkedInFull(): void {
    const { ctx, name, stored, src, plan } = this;
    const { storedMark, trusted, sameShape, clockNow } = this.basis;
    if (!ctx.full && stored?.fingerprint === MIXED_FINGERPRINT) {
      ctx.warn(
        `source "${name}": the last sync failed part-way through mapping it again (pages of two shapes are on disk); mapping all of its work packages again`,
      );
    } else if (!ctx.full && stored && stored.fingerprint !== src.fingerprint && Object.keys(stored).length) {
      ctx.warn(
        `source "${name}": its configuration, the profile's options or curate's mapping changed since the last sync; mapping all of its work packages again`,
      );
    } else if (!ctx.full && plan.remapAll) ctx.warn(`source "${name}": ${plan.remapAll}; mapping all of its work packages again`);
    if (storedMark !== null && !trusted && !ctx.full && sameShape) {
      ctx.warn(
        `source "${name}": the stored watermark ${stored!.watermark} is in the future of the server's clock (${ctx.walkStart?.toISOString() ?? 'not sent'}) and of this machine's (${new Date(clockNow).toISOString()}); reading every work package of the source once to find edits it would hide`,
      );
    }
  }

  warnFutureRows(): void {
    if (!this.future) return;
    const { ctx } = this;
    ctx.warn(
      `source "${this.name}": ${this.future} work package(s) have an updatedAt in the future (the server's clock said ${ctx.walkStart?.toISOString() ?? 'nothing'}, this machine's ${new Date(this.basis.clockNow).toISOString()}); they are synced, and read again by every run until the clocks pass them`,
    );
  }

  /** Whether an owned work package's files can stay without looking at its data again. */
  private stillValid(id: number, w: ManifestWorkPackage): boolean {
    const { ctx, plan } = this;
    return this.basis.sameShape && !ctx.full && !this.retry.has(id) && !plan.force.has(id) && validAt(w, ctx.now) && !referencesChanged(w, ctx.refOf);
  }

  /** stillValid for every entry of an unread shard at once, from its summary, and its files on disk. */
  private async shardStillValid(shard: number, s: ShardSummary): Promise<boolean> {
    const { ctx } = this;
    return this.basis.sameShape && !ctx.full && !this.singled.has(shard) && summaryValidAt(s, ctx.now) &&
      !referencesChanged(s, ctx.refOf) && (await ctx.shardFilesPresent(shard));
  }

  /** Each owned id whose shard is read, in the owned ids' order (ascending: a shard's are one run). */
  private forEachReadOwned(visit: (id: number) => void): void {
    for (const [shard, ids] of this.ownedShards) if (this.previous.isLoaded(shard)) ids.forEach(visit);
  }

  /**
   * Which listed ids the source owned, asked in the listing's order, and (`rest`, once all
   * were asked) the owned ids not listed. Both ascend (a listing's ids are sorted;
   * OwnedIds.byShard), so one walk over the owned ids answers, with no lookup per id: a
   * no-change run at 30,000 asked a map of every owned id 30,000 times here, then a set of
   * the listed ids 30,000 times for the absent ones. Ids asked out of order are answered
   * by lookups (never for a listing, whose ids come sorted).
   */
  private ownedWalk(): { has(id: number): boolean; rest(): number[] } {
    const lists = [...this.ownedShards.values()];
    const unlisted: number[] = [];
    let list = 0;
    let at = 0;
    let last = -Infinity;
    let ordered = true;
    return {
      has: (id) => {
        if (ordered && id <= last) ordered = false;
        last = id;
        if (!ordered) return this.owned.has(id);
        for (; list < lists.length; list += 1, at = 0) {
          const ids = lists[list]!;
          while (at < ids.length && ids[at]! < id) unlisted.push(ids[at++]!);
          if (at < ids.length) {
            if (ids[at] !== id) return false;
            at += 1;
            return true;
          }
        }
        return false;
      },
      rest: () => {
        if (!ordered) {
          const out: number[] = [];
          this.ownedShards.forEach((ids) => ids.forEach((id) => !this.listed.has(id) && out.push(id)));
          return out;
        }
        for (; list < lists.length; list += 1, at = 0) {
          const ids = lists[list]!;
          while (at < ids.length) unlisted.push(ids[at++]!);
        }
        return unlisted;
      },
    };
  }

  /** The owned entry of a work package (its shard read). */
  private ownedEntry(id: number): ManifestWorkPackage | undefined {
    return this.owned.has(id) ? this.previous.entry(id) : undefined;
  }

  /**
   * A row received: counted once, shown to other pages, and kept in mind for the watermark
   * and the next `recent` record. False for a row already received or listed by two sources.
   */
  private receive(wp: WorkPackage, force: boolean): boolean {
    const { ctx } = this;
    if (this.received.has(wp.id)) return false;
    this.received.add(wp.id);
    ctx.saw?.(wp);
    if (ctx.overlapping.has(wp.id)) return false;
    const t = Date.parse(wp.updatedAt);
    if (t > this.basis.ceiling) this.future += 1;
    // Only rows a walk returned bound the watermark: a row read by id after the walk may
    // carry an edit made after it, newer than edits the walk did not see.
    else if (!force && (this.newest === null || t > this.newest.ms)) this.newest = { ms: t, text: wp.updatedAt };
    // The next record holds rows at or after the next watermark less the overlap. That
    // watermark is the newest row received, or the server's clock when the walks began if
    // that is earlier (watermarkAfterWalk), so a row older than both less the overlap is out.
    const floor = Math.min(this.newest?.ms ?? -Infinity, ctx.walkStart?.getTime() ?? Infinity) - ctx.overlapMs;
    const candidates = this.candidates;
    if (candidates && t >= floor) {
      // The row is digested only if it survives a pruning: a walk in id order of rows
      // created in order makes every row the newest so far, for a moment.
      candidates.set(wp.id, { ms: t, row: wp, record: '' });
      if (candidates.size >= 2 * this.candidatesPruned + 64) {
        for (const [id, c] of candidates) {
          if (c.ms < floor) candidates.delete(id);
          else if (c.row) candidates.set(id, { ms: c.ms, row: null, record: recentRecord(c.row) });
        }
        this.candidatesPruned = candidates.size;
        if (candidates.size > (this.ctx.recentRowsMax ?? RECENT_ROWS)) this.candidates = null;
      }
    }
    return true;
  }

  /**
   * Whether a returned row can be decided without its entry: listed, owned, equal to the
   * stored record of the rows at or after this walk's bound (so equal to its entry), and
   * nothing else asks for it to be mapped. Its shard is then decided from its summary, as
   * the listed rows the walk did not return are.
   */
  private isAsRecorded(wp: WorkPackage, force: boolean): boolean {
    const record = this.record?.get(wp.id);
    return record !== undefined && !force && this.listed.has(wp.id) && this.owned.has(wp.id) && !this.retry.has(wp.id) &&
      !this.plan.force.has(wp.id) && !this.ctx.overlapping.has(wp.id) && !this.previous.isLoaded(shardOf(wp.id)) &&
      record === recentRecord(wp);
  }

  /** A row received from a walk, or read by id (`force`: it had to be mapped, not a mere listing row). */
  private accept(wp: WorkPackage, force = false): void {
    const { ctx } = this;
    if (!this.receive(wp, force)) return;
    const t = Date.parse(wp.updatedAt);
    const w = this.ownedEntry(wp.id);
    if (w && this.regressed === null && (wp.lockVersion < w.lockVersion || t < Date.parse(w.updatedAt))) {
      this.regressed =
        `work package #${wp.id} is at lockVersion ${wp.lockVersion}, updatedAt ${wp.updatedAt}, older than the ${w.lockVersion}, ${w.updatedAt} synced before`;
    }
    if (!force && w && sameRow(w, wp) && this.stillValid(wp.id, w)) {
      this.toCheck.push(wp.id);
      this.unchanged.set(wp.id, wp);
    } else ctx.schedule(this.src, wp);
  }

  private markInvalid(bad: { id: number | null; message: string }): void {
    if (bad.id !== null) this.received.add(bad.id);
    this.ctx.ledger.failed({ kind: 'payload', source: this.name, ...(bad.id !== null ? { workPackageId: bad.id } : {}), message: bad.message });
  }

  /** `force`: pages fetched by id because their work packages must be mapped (not part of the listing, so not reported as listing pages to progress). */
  private async drain(pages: AsyncIterable<WorkPage>, force = false): Promise<void> {
    const { ctx } = this;
    for await (const page of pages) {
      ctx.checkpoint();
      // The entries of the rows' shards, before a row is compared or mapped (any shard
      // holding one of them may be written, and is then written whole); not for rows equal
      // to their record.
      const recorded = new Set(page.workPackages.filter((wp) => this.isAsRecorded(wp, force)).map((wp) => wp.id));
      await this.previous.loadFor([
        ...page.workPackages.flatMap((wp) => (recorded.has(wp.id) ? [] : [wp.id])),
        ...page.invalid.flatMap((b) => (b.id === null ? [] : [b.id])),
      ]);
      if (!force) ctx.emit({ type: 'page', source: this.name, offset: page.offset, total: page.total, workPackages: page.workPackages.length });
      for (const wp of page.workPackages) {
        // Its shard may have been read meanwhile (another page's rows): then it is compared as usual.
        if (recorded.has(wp.id) && !this.previous.isLoaded(shardOf(wp.id))) {
          if (this.receive(wp, force)) this.asRecorded.set(wp.id, wp);
        } else this.accept(wp, force);
      }
      for (const bad of page.invalid) if (bad.id === null || !this.received.has(bad.id)) this.markInvalid(bad);
      // Listing outpaces processing (a page is one request, its work packages hundreds):
      // ask for more only when there is room, or every work package would wait in memory.
      await ctx.queueRoom();
    }
  }

  /** Every work package of the source (first run, --full, audit, or a fallback). Returns walkedAll. */
  async walkEverything(): Promise<boolean> {
    this.plan.early?.pages.cancel();
    await this.drain(this.ctx.client.listWorkPackages(this.src.query));
    return true;
  }

  /**
   * The changes walk from the watermark, then the proof that nothing went back in time:
   * falls back to walking everything when something did. Returns walkedAll.
   */
  async walkFromWatermark(): Promise<boolean> {
    const { ctx, previous, name, listed, owned } = this;
    const { ceiling, storedMark } = this.basis;
    const early = this.plan.early;
    // From the watermark, or from the newest owned row that is still listed if that is
    // older (the watermark's row was deleted): that row must come back, which is what
    // proves a restore below even when the restore also removed the newer rows.
    // An unread shard whose owned rows are all listed and none in the future: its summary's newest.
    let newestOwned = -Infinity;
    const readFor = [...this.ownedShards].filter(([shard, ids]) => {
      if (previous.isLoaded(shard)) return false;
      const t = Date.parse(previous.summary(shard)!.newest[name]!);
      if (t > ceiling || !ids.every((id) => listed.has(id))) return true;
      newestOwned = Math.max(newestOwned, t);
      return false;
    });
    await previous.load(readFor.map(([shard]) => shard));
    this.forEachReadOwned((id) => {
      const t = Date.parse(previous.updatedAtOf(id)!);
      if (t > newestOwned && t <= ceiling && listed.has(id)) newestOwned = t;
    });
    const from = Math.min(storedMark!, newestOwned === -Infinity ? storedMark! : newestOwned) - ctx.overlapMs;
    // The stored record of the rows at or after its bound holds every owned row this walk
    // must return when its bound is not after this one's.
    const recent = this.stored?.recent;
    if (recent && Date.parse(recent.from) <= from) this.record = new Map(Object.entries(recent.rows).map(([id, row]) => [Number(id), row]));
    // A walk started beside the listing from elsewhere than this run's bound is dropped.
    const pages = early?.from === from ? early.pages : ctx.client.listChanges(this.src.query, new Date(from).toISOString());
    if (pages !== early?.pages) early?.pages.cancel();
    await this.drain(pages);
    // Every owned row at or after the walk's bound must have come back, edited or not: one
    // that is still listed but did not has an older updatedAt than the one synced (or was
    // deleted since the listing: reading it by id tells which). Only a server restored from
    // a backup (or a clock set back) makes rows older; what it lost or changed can then be
    // anywhere, so every work package of the source is read.
    if (this.regressed === null) {
      const suspects: number[] = [];
      const isSuspect = (id: number, updatedAt: number): boolean =>
        listed.has(id) && !this.received.has(id) && !ctx.overlapping.has(id) && updatedAt >= from;
      if (this.record) {
        // The record holds them: no shard is read.
        for (const [id, row] of this.record) if (owned.has(id) && isSuspect(id, parseRecentRow(row)!)) suspects.push(id);
      } else {
        // Only a shard holding a row as new as the bound can hold a suspect.
        await previous.load(
          [...this.ownedShards.keys()].filter((shard) => !previous.isLoaded(shard) && Date.parse(previous.summary(shard)!.newest[name]!) >= from),
        );
        this.forEachReadOwned((id) => {
          if (isSuspect(id, Date.parse(previous.updatedAtOf(id)!))) suspects.push(id);
        });
      }
      if (suspects.length) await this.drain(ctx.client.listWorkPackages({ ...this.src.query, ids: suspects }), true);
    }
    if (this.regressed === null) return false;
    ctx.warn(
      `source "${name}": the server's data went back in time (restored from a backup, or its clock set back): ${this.regressed}; reading every work package of the source`,
    );
    await this.drain(ctx.client.listWorkPackages(this.src.query));
    return true;
  }

  /**
   * Listed but not handed over by the walk. Owned ones in unread shards, and in shards read
   * as text (for other rows), are decided a shard at a time: kept whole when its summary
   * proves each entry still valid and its files there (their entries are not parsed), else
   * the shard is read and they are decided one by one. Then the unchanged are kept once
   * their files are confirmed on disk, and the rest is read by id and mapped.
   */
  async settleUnwalked(): Promise<void> {
    const { ctx, previous, name, toCheck } = this;
    const incremental = this.basis.incremental;
    const need: number[] = [];
    const bySummary = new Map<number, number[]>();
    const decide = (id: number): void => {
      const w = incremental ? this.ownedEntry(id) : undefined;
      const row = this.asRecorded.get(id);
      if (w && this.stillValid(id, w)) {
        toCheck.push(id);
        if (row) this.unchanged.set(id, row);
      } else if (row) ctx.schedule(this.src, row);
      else need.push(id);
    };
    const owned = this.ownedWalk();
    this.listed.forEach((id) => {
      const isOwned = owned.has(id);
      if ((this.received.has(id) && !this.asRecorded.has(id)) || ctx.overlapping.has(id)) return;
      const shard = shardOf(id);
      if (incremental && isOwned && (!previous.isLoaded(shard) || previous.isText(shard))) {
        const list = bySummary.get(shard);
        if (list) list.push(id);
        else bySummary.set(shard, [id]);
      } else decide(id);
    });
    this.unlisted = owned.rest();
    const oneByOne: number[] = [];
    await eachLimited(bySummary, 8, async ([shard, ids]) => {
      if (await this.shardStillValid(shard, previous.summary(shard)!)) ctx.ledger.keptShard(name, shard, ids);
      else oneByOne.push(shard);
    });
    await previous.load(oneByOne);
    for (const shard of oneByOne.sort((a, b) => a - b)) for (const id of bySummary.get(shard)!) decide(id);
    // A pool, not a promise per work package: a no-change run of 30,000 checks them all.
    const present = await mapLimited(toCheck, 64, (id) => ctx.filesPresent(previous.entry(id)!));
    toCheck.forEach((id, i) => {
      if (present[i]) ctx.ledger.kept(name, id);
      else if (this.unchanged.has(id)) ctx.schedule(this.src, this.unchanged.get(id)!);
      else need.push(id);
    });
    this.unchanged.clear();
    if (need.length) await this.drain(ctx.client.listWorkPackages({ ...this.src.query, ids: need }), true);
  }

  /** Owned but not received: confirmed gone by the server before anything is removed. */
  async settleAbsent(): Promise<void> {
    const { ctx } = this;
    const absent = this.unlisted.filter((id) => !this.received.has(id) && !ctx.overlapping.has(id));
    // Their shards are read first: each may lose an entry, or have it mapped again.
    await this.previous.loadFor(absent);
    await confirmAbsent(ctx, this.src, absent, (wp, force) => this.accept(wp, force));
  }

  /**
   * The rows the next walk returns again: those received at or after the next watermark
   * less the overlap, as received (a row that fails keeps its old entry, but then the
   * source keeps its watermark and stores no record). None without a watermark.
   */
  recentRows(watermark: string | null): RecentRows | undefined {
    if (watermark === null || !this.candidates) return undefined;
    const fromMs = Date.parse(watermark) - this.ctx.overlapMs;
    const ids = [...this.candidates].flatMap(([id, row]) => (row.ms >= fromMs ? [id] : [])).sort((a, b) => a - b);
    if (ids.length > (this.ctx.recentRowsMax ?? RECENT_ROWS)) return undefined;
    const rows: Record<string, string> = {};
    for (const id of ids) {
      const c = this.candidates.get(id)!;
      rows[id] = c.row ? recentRecord(c.row) : c.record;
    }
    return { from: new Date(fromMs).toISOString(), rows };
  }

  nextWatermark(walkedAll: boolean): string | null {
    return watermarkAfterWalk({
      newest: this.newest,
      walkedAll,
      walkStart: this.ctx.walkStart,
      trusted: this.basis.trusted,
      storedWatermark: this.stored?.watermark ?? null,
    });
  }
}

/**
 * The most rows a `recent` record holds. More rows inside the overlap (a bulk import or
 * edit) would make manifest.json, and the run's memory, grow with them: such a source
 * stores none, and its next run reads the shards as it did before there was a record.
 */
export const RECENT_ROWS = 1000;

/** A row as a `recent` record holds it. */
export const recentRecord = (wp: WorkPackage): string => recentRow(wp.updatedAt, wp.lockVersion, rowDigest(wp));

/** Whether a received row is the one the entry was mapped from. */
const sameRow = (w: ManifestWorkPackage, wp: WorkPackage): boolean =>
  (w.digest !== undefined ? w.digest === rowDigest(wp) : w.updatedAt === wp.updatedAt && w.lockVersion === wp.lockVersion);

/**
 * Owned work packages the listing did not return. Listed by another source: moved, that
 * source maps it (its files move with it). Otherwise the server is asked, with its own
 * filters (subprojects, closed statuses… are its business, not re-implemented here),
 * which of them this source matches: an id it does not return is gone from the source
 * (deleted, moved out, or no longer visible; the id filter drops unknown ids); one it
 * does return was missed by an incomplete listing and is mapped.
 */
async function confirmAbsent(ctx: CollectContext, src: ResolvedSource, ids: number[], accept: (wp: WorkPackage, force: boolean) => void): Promise<void> {
  const name = src.spec.name;
  const candidates = ids.filter((id) => {
    const other = ctx.sourceNameOf(id);
    return other === undefined || other === name;
  });
  if (!candidates.length) return;
  ctx.checkpoint();
  const keep = (id: number, e: unknown): void =>
    ctx.ledger.failed({
      kind: 'unconfirmed-gone',
      source: name,
      workPackageId: id,
      message: `work package #${id} is missing from the listing of source "${name}" and could not be confirmed gone (its files are kept; it is checked again on the next run): ${(e as Error).message}`,
    });
  let matching: number[];
  try {
    matching = (await ctx.client.listWorkPackageIds({ ...src.query, ids: candidates })).ids;
  } catch (e) {
    if (ctx.isAborted()) throw e;
    for (const id of candidates) keep(id, e);
    return;
  }
  const found = new Set(matching);
  for (const id of candidates) if (!found.has(id)) ctx.ledger.gone(name, id);
  if (!matching.length) return;
  try {
    for await (const page of ctx.client.listWorkPackages({ ...src.query, ids: matching })) {
      for (const wp of page.workPackages) accept(wp, true);
      for (const bad of page.invalid) if (bad.id !== null) ctx.ledger.failed({ kind: 'payload', source: name, workPackageId: bad.id, message: bad.message });
    }
  } catch (e) {
    if (ctx.isAborted()) throw e;
    for (const id of matching) keep(id, e);
  }
  // One that vanished between the two requests has no outcome: its files stay until the
  // next run confirms it.
}
