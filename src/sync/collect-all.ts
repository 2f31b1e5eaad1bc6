// The list & collect phase of an ordinary run: every source's id listing first (it says
// which source each work package belongs to: moves, overlaps and the profiles' links),
// then each source's walk (collect.ts) deciding what is mapped, kept or gone. A source
// whose listing fails is that source's error; the others sync.
import type { createHasher, PresenceCheck } from '../output/disk-state.js';
import type { Journal } from '../output/journal.js';
import type { ManifestWorkPackage } from '../output/manifest.js';
import type { IdListing } from '../openproject/types.js';
import { DEFAULTS } from '../defaults.js';
import { authorDigests, renamedAuthorsWorkPackages } from './closure.js';
import { collectSource, type CollectContext, type Collected, type ResolvedSource, type SourcePlan } from './collect.js';
import { walkBasis } from './walk-basis.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import type { Membership } from './membership.js';
import { prefetchFirst } from './prefetch.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';
import { listSourceIds, type RunSources } from './run-sources.js';

/** Per walked source: what its walk collected, and the author names its listing showed. */
export type CollectedSources = Map<string, Collected & { authors?: Record<string, string> }>;

export interface CollectDeps {
  previous: PreviousState;
  journal: Journal;
  ledger: Ledger;
  sources: RunSources;
  membership: Membership;
  mapper: Mapper;
  hash: ReturnType<typeof createHasher>;
  /** Which owned files are on disk (one listing per folder, or a folder's stamp: disk-state.ts). */
  presence: PresenceCheck;
}

export async function collectAll(ctx: RunContext, deps: CollectDeps): Promise<CollectedSources> {
  const { options } = ctx;
  const { previous, sources } = deps;
  const full = (options.full ?? false) || previous.torn !== null;
  const overlapMs = (options.overlapSeconds ?? DEFAULTS.overlapSeconds) * 1000;
  const auditIntervalMs = options.auditIntervalMs ?? DEFAULTS.auditHours * 3_600_000;
  const remapAllOf = (name: string): string | null => {
    const kinds = sources.renamed.get(name)!;
    return kinds.length ? `the name of ${kinds.join(', ')} its pages show changed on the server` : null;
  };
  // Each incremental source's changes walk starts now, from its watermark less the
  // overlap, beside the id listings: its walk uses it unless the listing shows that the
  // watermark's row is gone (collect.ts then walks from the newest owned row instead).
  const early = new Map<string, NonNullable<SourcePlan['early']>>();
  for (const src of sources.resolved) {
    const name = src.spec.name;
    const basis = walkBasis(
      { full, clock: ctx.clock, walkStart: sources.walkStart, auditIntervalMs },
      previous.source(name),
      src.fingerprint,
      remapAllOf(name),
    );
    if (!basis.incremental) continue;
    const from = basis.storedMark! - overlapMs;
    early.set(name, { from, pages: prefetchFirst(options.client.listChanges(src.query, new Date(from).toISOString())) });
  }
  try {
    return await collectListed(ctx, deps, { full, overlapMs, auditIntervalMs, remapAllOf, early });
  } finally {
    for (const e of early.values()) e.pages.cancel();
  }
}

async function collectListed(
  ctx: RunContext,
  deps: CollectDeps,
  walkOptions: {
    full: boolean;
    overlapMs: number;
    auditIntervalMs: number;
    remapAllOf: (name: string) => string | null;
    early: ReadonlyMap<string, NonNullable<SourcePlan['early']>>;
  },
): Promise<CollectedSources> {
  const { options } = ctx;
  const { previous, ledger, sources, membership, mapper } = deps;
  // The previous state's id → source index is built now, while the listings are in flight,
  // rather than at its first question after the last page (~2 ms of a no-change run at
  // 30,000 taken off its end).
  previous.indexOwners();
  // Asked while the state was read (run-sources.ts), unless this run was to be targeted.
  // Each listing's own part (its ids as a set and as members, its authors' digests) is done
  // as it arrives, while the others are still paging.
  const asked = sources.listings ?? listSourceIds(ctx, sources.resolved);
  const answers = await Promise.all(
    asked.map((p, i) =>
      p.then((a) => {
        if (a instanceof Error) return a;
        membership.add(sources.resolved[i]!.spec.name, a.ids);
        return prepareListing(previous, sources.resolved[i]!, a);
      }),
    ),
  );
  if (answers.length && answers.every((a) => a instanceof Error)) throw answers[0];
  const listed: PreparedListing[] = [];
  answers.forEach((a, i) => {
    const src = sources.resolved[i]!;
    if (a instanceof Error)
      ledger.failed({
        kind: 'source',
        source: src.spec.name,
        message: `source "${src.spec.name}" was not synced, its work packages could not be listed (its files stay as they are): ${a.message}`,
      });
    else listed.push(a);
  });
  ledger.listed = membership.size;
  const overlapping = membership.recordOverlaps(ledger);
  for (const { src, listing } of listed) {
    const mine = previous.ownedCount(src.spec.name);
    if (listing.total === 0 && mine && !options.allowMassDelete) {
      ctx.brake(
        `source "${src.spec.name}": the server returned no work packages, but ${mine} are synced; refusing to delete them all (check the filters and the key's permissions, or pass --allow-mass-delete)`,
      );
    }
  }
  // Work packages of sources no longer in the config: moved if another source lists them,
  // else gone (the config no longer asks for them).
  for (const name of previous.owningSources()) {
    if (sources.specByName.has(name)) continue;
    const gone = previous.ownedIds(name).filter((id) => !membership.has(id));
    await previous.loadFor(gone);
    for (const id of gone) ledger.gone(name, id);
  }

  const filesPresent = deps.presence;
  // A shard's files are checked once, whichever of its sources asks first.
  const shardsPresent = new Map<number, Promise<boolean>>();
  // A path the journal lists was being written by a run that stopped before its manifest:
  // it may hold that run's bytes rather than the ones this manifest records (an edit the
  // server has since undone, a restore), so it is compared, not just found.
  const filesAsRecorded = async (w: ManifestWorkPackage): Promise<boolean> => {
    const paths = Object.keys(w.files);
    if (!(await filesPresent.files(paths))) return false;
    for (const p of paths) if (deps.journal.has(p) && (await deps.hash(p)) !== w.files[p]) return false;
    return true;
  };
  const collectContext: CollectContext = {
    client: options.client,
    ledger,
    previous,
    full: walkOptions.full,
    now: options.now,
    overlapMs: walkOptions.overlapMs,
    ...(options.recentRows !== undefined ? { recentRowsMax: options.recentRows } : {}),
    walkStart: sources.walkStart,
    clock: ctx.clock,
    auditIntervalMs: walkOptions.auditIntervalMs,
    overlapping,
    sourceNameOf: (id: number) => membership.sourceOf(id),
    refOf: mapper.refOf,
    schedule: mapper.schedule,
    saw: mapper.saw,
    queueRoom: mapper.scheduler.room,
    filesPresent: filesAsRecorded,
    shardFilesPresent: (shard) => {
      let p = shardsPresent.get(shard);
      if (!p) shardsPresent.set(shard, (p = filesPresent.hashes(previous.summary(shard)!.names)));
      return p;
    },
    checkpoint: ctx.checkpoint,
    isAborted: ctx.isAborted,
    emit: ctx.emit,
    warn: ctx.warn,
  };
  const collected: CollectedSources = new Map();
  await Promise.all(
    listed.map(async ({ src, ids, authors, force }) => {
      const name = src.spec.name;
      const kinds = sources.renamed.get(name)!;
      if (force.size && kinds.length === 0 && !options.full)
        ctx.warn(`source "${name}": an author's name changed on the server; mapping their ${force.size} work package(s) again`);
      const result = await collectSource(
        collectContext,
        src,
        ids,
        { has: (id) => previous.sourceOf(id) === name, byShard: previous.ownedByShard(name) },
        { remapAll: walkOptions.remapAllOf(name), force, early: walkOptions.early.get(name) },
      );
      collected.set(name, { ...result, ...(authors ? { authors } : {}) });
    }),
  );
  return collected;
}

/** A source's listing as the walk uses it: its ids as a set, and what its authors' names say. */
interface PreparedListing {
  src: ResolvedSource;
  listing: IdListing;
  ids: ReadonlySet<number>;
  /** The digest of each author's name (absent: the server did not answer the author select). */
  authors: Record<string, string> | undefined;
  /** Work packages whose author's name changed since the previous run. */
  force: Set<number>;
}

function prepareListing(previous: PreviousState, src: ResolvedSource, listing: IdListing): PreparedListing {
  const authors = listing.authors ? authorDigests(listing.authors, listing.ids) : undefined;
  const force = listing.authors ? renamedAuthorsWorkPackages(previous.source(src.spec.name)?.authors, authors!, listing.authors) : new Set<number>();
  // Each row's author is not needed past this point, and the listing is held until the
  // run ends: at 100,000 work packages that map was ~4 MB of a cold sync's peak.
  delete listing.authors;
  return { src, listing, ids: listing.idSet ?? new Set(listing.ids), authors, force };
}
