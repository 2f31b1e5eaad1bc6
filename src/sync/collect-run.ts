// The collect phase of a run: every source listed and walked (collect-all.ts), or the work
// packages a targeted run was asked about read by id (collect-targeted.ts), with mapping
// fed as rows arrive (mapper.ts). Then, every walk done, pages whose shown facts of other
// work packages changed meanwhile (a target's row arrived later, a target renamed) are
// mapped again in the same run (facts.ts), and the rows mapped are checked for edits made
// while the run went on (recheck.ts).
import { createPresenceCheck, type PresenceCheck } from '../output/disk-state.js';
import type { WorkPackage } from '../types.js';
import { collectAll, type CollectDeps, type CollectedSources } from './collect-all.js';
import { collectTargeted } from './collect-targeted.js';
import { reconcileInRun, type FactsBook } from './facts.js';
import { eachLimited } from './pool.js';
import type { PreviousState } from './previous-state.js';
import { recheckMapped } from './recheck.js';
import type { RunContext } from './run-context.js';

/**
 * Folders holding at least this many of the state's files get a stamp (folder-trust.ts): a
 * medigy site's folders hold hundreds to tens of thousands, a default-profile site has a
 * folder of a few files per page, which costs as much to stat as to list, and 30,000 of
 * whose stamps would make a 3 MB file rewritten with every change.
 */
export const STAMPED_FOLDER_NAMES = 64;
/** Folders listed at a time (each an open directory while it is listed: a default-profile site has one per page). */
const PREFETCH_LISTINGS = 8;

/**
 * The presence check of an ordinary run, with its listings started now. Every folder the
 * state's summaries name is checked for its files (a kept shard by its name hashes, a read
 * one by its entries' paths), and the listings need nothing but those summaries, so runSync
 * starts them as soon as the state is read: until the server's names are in, the main thread
 * has nothing else to do (a run that maps everything lists nothing: it keeps nothing). A few
 * at a time: a listing that failed for too many open files would count its folder as
 * missing; a listing never rejects. `stop()` once the run is over.
 */
export function checkPresence(ctx: RunContext, previous: PreviousState): PresenceCheck {
  const { options } = ctx;
  const names = previous.folderNameCounts();
  const least = options.folderStampMinFiles ?? STAMPED_FOLDER_NAMES;
  const presence = createPresenceCheck(ctx.root, previous.folderStamps, (dir) => (names.get(dir) ?? 0) >= least);
  const full = (options.full ?? false) || previous.torn !== null;
  if (!full) void eachLimited(previous.summarizedFolders(), PREFETCH_LISTINGS, presence.prefetch);
  return presence;
}

export interface CollectedRun {
  /** Per walked source, what its walk collected (an ordinary run; empty in a targeted one). */
  collected: CollectedSources;
  /** Per source, the rows a targeted run scheduled (empty in an ordinary run). */
  targetedRows: Map<string, WorkPackage[]>;
}

export async function collectRun(ctx: RunContext, deps: Omit<CollectDeps, 'presence'> & { facts: FactsBook; presence: PresenceCheck | null }): Promise<CollectedRun> {
  const { options } = ctx;
  const { ledger, previous, sources, membership, mapper, facts } = deps;
  let collected: CollectedSources = new Map();
  let targetedRows = new Map<string, WorkPackage[]>();
  if (sources.onlyIds) {
    const targeted = { client: options.client, ledger, previous, membership, schedule: mapper.schedule, checkpoint: ctx.checkpoint, isAborted: ctx.isAborted };
    targetedRows = await collectTargeted(targeted, sources.resolved, sources.onlyIds, sources.targetedReads);
  } else {
    if (!deps.presence) throw new Error('collectRun: an ordinary run needs its presence check (checkPresence)');
    collected = await collectAll(ctx, { ...deps, presence: deps.presence });
  }
  await mapper.scheduler.drained();
  ctx.checkpoint();
  await reconcileInRun({
    facts,
    ledger,
    previous,
    targeted: sources.onlyIds !== undefined,
    client: options.client,
    sources: sources.resolved,
    mapper,
    checkpoint: ctx.checkpoint,
    isAborted: ctx.isAborted,
  });
  await recheckMapped(ctx, { ledger, mapper, sources });
  return { collected, targetedRows };
}
