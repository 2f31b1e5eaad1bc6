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
  const drain = async (pages: AsyncIterable<{ offset: number; total: number; workPackages: WorkPackage[]; invalid: { id: number | null; message: string }[] }>): Promise<void> => {
    for await (const page of pages) {
      ctx.checkpoint();
      ctx.emit({ type: 'page', source: name, offset: page.offset, total: page.total, workPackages: page.workPackages.length });
      for (const wp of page.workPackages) accept(wp);
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
  if (need.length) {
    for await (const page of ctx.client.listWorkPackages({ ...src.query, ids: need })) {
      ctx.checkpoint();
      page.workPackages.forEach((wp) => accept(wp, true));
      for (const bad of page.invalid) if (bad.id === null || !received.has(bad.id)) markInvalid(bad);
    }
  }

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
 * source maps it (its files move with it). Otherwise asked for by id: 404 → gone; visible
 * and still matching this source's filters → the listing was incomplete, it is mapped;
 * visible but not matching → gone from this source.
 */
async function confirmAbsent(ctx: CollectContext, src: ResolvedSource, ids: number[], accept: (wp: WorkPackage, force: boolean) => void): Promise<void> {
  const name = src.spec.name;
  const visible: WorkPackage[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const other = ctx.sourceNameOf(id);
      if (other !== undefined && other !== name) return; // moved: the other source owns it now
      ctx.checkpoint();
      try {
        const wp = await ctx.client.getWorkPackage(id);
        if (wp === null) ctx.ledger.gone(name, id);
        else visible.push(wp);
      } catch (e) {
        ctx.ledger.failed({ source: name, workPackageId: id, message: `work package #${id} is missing from the listing of source "${name}" and could not be confirmed gone (its files are kept): ${(e as Error).message}` });
      }
    }),
  );
  if (!visible.length) return;
  // Ask the server itself whether they match: its filters (subprojects, closed statuses…)
  // are the reference, not a re-implementation here.
  let matching: Set<number>;
  try {
    matching = new Set((await ctx.client.listWorkPackageIds({ ...src.query, ids: visible.map((w) => w.id) })).ids);
  } catch (e) {
    for (const wp of visible) ctx.ledger.failed({ source: name, workPackageId: wp.id, message: `work package #${wp.id} is missing from the listing of source "${name}" and could not be checked against its filters (its files are kept): ${(e as Error).message}` });
    return;
  }
  for (const wp of visible) {
    if (matching.has(wp.id)) accept(wp, true);
    else ctx.ledger.gone(name, wp.id);
  }
}
