// Which work packages of a source must be mapped, kept or removed, with proof.
//
// - The id listing (every run) says what the source matches now.
// - The changes walk says what changed: keyset-paged from the watermark (incremental,
//   see OpenProjectClient.listChanges) or every work package (first run, --full, or a
//   source whose fingerprint changed).
// - Everything listed that the walk did not hand over is kept only when nothing else could
//   have changed its output (same fingerprint, not retried, still valid at `now`, its
//   references unchanged, its files on disk); otherwise it is fetched by id.
// - An owned work package absent from the listing is removed only once confirmed: 404 on
//   its own URL, or visible but no longer matching the source's filters. A listing that
//   missed it (rows shifting under a concurrent deletion) cannot delete innocent files.
import type { OpenProjectClient, WorkPackageQuery } from '../openproject/types.js';
import type { Manifest, ManifestWorkPackage } from '../output/manifest.js';
import type { SourceSpec, WorkPackage } from '../types.js';
import type { SyncEvent } from './events.js';
import type { Ledger } from './ledger.js';
import { referencesChanged, validAt } from './process.js';

export interface ResolvedSource {
  spec: SourceSpec;
  query: WorkPackageQuery;
  fingerprint: string;
}

export interface CollectContext {
  client: OpenProjectClient;
  ledger: Ledger;
  previous: Manifest | null;
  full: boolean;
  now: Date;
  overlapMs: number;
  /** The server's clock when the walks began (its Date header), or null if it sends none. */
  walkStart: Date | null;
  /** Ids listed by more than one source: already recorded as failures. */
  overlapping: ReadonlySet<number>;
  sourceNameOf(id: number): string | undefined;
  /** Hands a work package to processing. */
  schedule(src: ResolvedSource, wp: WorkPackage): void;
  /** Resolves when processing has room for another page of work packages. */
  queueRoom(): Promise<void>;
  /** Whether every file an entry records is on disk. */
  filesPresent(entry: ManifestWorkPackage): Promise<boolean>;
  checkpoint(): void;
  isAborted(): boolean;
  emit(e: SyncEvent): void;
  warn(message: string): void;
}

export interface Collected {
  /** The watermark the source may store if all of its work packages succeed. */
  watermark: string | null;
}

/** Slack before a work package's updatedAt counts as "in the server's future". */
const FUTURE_SLACK_MS = 60_000;

export async function collectSource(ctx: CollectContext, src: ResolvedSource, listed: ReadonlySet<number>, owned: ReadonlyMap<number, ManifestWorkPackage>): Promise<Collected> {
  const name = src.spec.name;
  const prev = ctx.previous?.sources[name];
  const sameShape = prev?.fingerprint === src.fingerprint;
  const incremental = !ctx.full && !!prev?.watermark && sameShape;
  if (!ctx.full && prev && !sameShape && Object.keys(prev).length) {
    ctx.warn(`source "${name}": its configuration, the profile's options or curate's mapping changed since the last sync; mapping all of its work packages again`);
  }
  const retry = new Set(prev?.retry ?? []);
  /** Whether an owned work package's files can stay without looking at its data again. */
  const stillValid = (id: number, w: ManifestWorkPackage): boolean => sameShape && !ctx.full && !retry.has(id) && validAt(w, ctx.now) && !referencesChanged(w, ctx.sourceNameOf);

  const received = new Set<number>();
  let maxUpdated: string | null = null;
  let future = 0;
  /** Unchanged owned work packages: kept once their files are confirmed on disk. */
  const toCheck: number[] = [];
  const unchanged = new Map<number, WorkPackage>();
  /** Whether anything was edited at or after the previous walk's start. */
  let newer = !prev?.watermark;
  // `force`: fetched by id because it had to be mapped (not a mere listing row).
  const accept = (wp: WorkPackage, force = false): void => {
    if (received.has(wp.id)) return;
    received.add(wp.id);
    if (ctx.overlapping.has(wp.id)) return;
    const t = Date.parse(wp.updatedAt);
    if (!maxUpdated || t > Date.parse(maxUpdated)) maxUpdated = wp.updatedAt;
    if (prev?.watermark && t >= Date.parse(prev.watermark)) newer = true;
    if (ctx.walkStart && t > ctx.walkStart.getTime() + FUTURE_SLACK_MS) future += 1;
    const w = owned.get(wp.id);
    if (!force && w && w.updatedAt === wp.updatedAt && w.lockVersion === wp.lockVersion && stillValid(wp.id, w)) {
      toCheck.push(wp.id);
      unchanged.set(wp.id, wp);
    } else ctx.schedule(src, wp);
  };
  const markInvalid = (bad: { id: number | null; message: string }): void => {
    if (bad.id !== null) received.add(bad.id);
    ctx.ledger.failed({ source: name, ...(bad.id !== null ? { workPackageId: bad.id } : {}), message: bad.message });
  };
  // `force`: pages fetched by id because their work packages must be mapped (not part of the
  // listing, so not reported as listing pages to progress).
  const drain = async (pages: AsyncIterable<{ offset: number; total: number; workPackages: WorkPackage[]; invalid: { id: number | null; message: string }[] }>, force = false): Promise<void> => {
    for await (const page of pages) {
      ctx.checkpoint();
      if (!force) ctx.emit({ type: 'page', source: name, offset: page.offset, total: page.total, workPackages: page.workPackages.length });
      for (const wp of page.workPackages) accept(wp, force);
      for (const bad of page.invalid) if (bad.id === null || !received.has(bad.id)) markInvalid(bad);
      // Listing outpaces processing (a page is one request, its work packages hundreds):
      // ask for more only when there is room, or every work package would wait in memory.
      await ctx.queueRoom();
    }
  };

  if (incremental) {
    // Never walk from a point ahead of the server's clock (a restored backup, a hand
    // edit): edits made between the server's now and that point would never be seen.
    let from = Date.parse(prev!.watermark!);
    if (ctx.walkStart && from > ctx.walkStart.getTime()) {
      ctx.warn(`source "${name}": the stored watermark ${prev!.watermark} is ahead of the server's clock (${ctx.walkStart.toISOString()}); walking from the server's clock instead`);
      from = ctx.walkStart.getTime();
    }
    await drain(ctx.client.listChanges(src.query, new Date(from - ctx.overlapMs).toISOString()));
  } else {
    await drain(ctx.client.listWorkPackages(src.query));
  }
  if (future) ctx.warn(`source "${name}": ${future} work package(s) have an updatedAt in the server's future (its clock said ${ctx.walkStart!.toISOString()}); the watermark stays at the server's clock`);

  // Listed but not handed over by the walk.
  const need: number[] = [];
  for (const id of listed) {
    if (received.has(id) || ctx.overlapping.has(id)) continue;
    const w = owned.get(id);
    if (incremental && w && stillValid(id, w)) toCheck.push(id);
    else need.push(id);
  }
  const present = await Promise.all(toCheck.map((id) => ctx.filesPresent(owned.get(id)!)));
  toCheck.forEach((id, i) => {
    if (present[i]) ctx.ledger.kept(name, id);
    else if (unchanged.has(id)) ctx.schedule(src, unchanged.get(id)!);
    else need.push(id);
  });
  unchanged.clear();
  if (need.length) await drain(ctx.client.listWorkPackages({ ...src.query, ids: need }), true);

  // Owned but not received: confirm before anything is removed.
  const absent = [...owned.keys()].filter((id) => !listed.has(id) && !received.has(id) && !ctx.overlapping.has(id));
  await confirmAbsent(ctx, src, absent, accept);

  // The next walk starts at the server's clock before this one: any edit after it has a
  // later updatedAt, and the keyset walk saw everything before it. When nothing was edited
  // since the previous walk began, that walk's start is still exact and is kept, so a run
  // that changes nothing leaves the manifest byte for byte as it was.
  if (!newer) return { watermark: prev!.watermark };
  const start = ctx.walkStart ? ctx.walkStart.toISOString() : maxUpdated;
  return { watermark: start ?? prev?.watermark ?? null };
}

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
    ctx.ledger.failed({ source: name, workPackageId: id, message: `work package #${id} is missing from the listing of source "${name}" and could not be confirmed gone (its files are kept; it is checked again on the next run): ${(e as Error).message}` });
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
      for (const bad of page.invalid) if (bad.id !== null) ctx.ledger.failed({ source: name, workPackageId: bad.id, message: bad.message });
    }
  } catch (e) {
    if (ctx.isAborted()) throw e;
    for (const id of matching) keep(id, e);
  }
  // One that vanished between the two requests has no outcome: its files stay until the
  // next run confirms it.
}
