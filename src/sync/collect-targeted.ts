// A targeted sync (`curate watch`): only the given ids. Every source is asked for them with
// its own filters (one request each, full rows): the rows a source returns are both the
// answer to "does it match?" (the server's filters decide, as for deletions) and the data
// to map, so membership and the read are one round trip. A match is mapped, no match
// removes an owned work package's files (deleted, moved out or no longer visible), two
// matches are an item error. Nothing else is listed, kept or touched.
//
// The questions are asked as soon as the sources' queries are known, beside the bulk
// schemas read (run-sources.ts): the run's depth in round trips is names → {schemas, rows}
// → attachments. The client normalizes a row only once a bulk schemas read in flight has
// answered, so rows show the custom field names the run compares with the manifest's, as
// when they were read after it. A run that turns into an ordinary one (names or config
// changed) abandons them.
import type { OpenProjectClient } from '../openproject/types.js';
import type { WorkPackage } from '../types.js';
import type { ResolvedSource } from './collect.js';
import type { Ledger } from './ledger.js';
import type { Membership } from './membership.js';
import type { PreviousState } from './previous-state.js';

export interface TargetedContext {
  client: OpenProjectClient;
  ledger: Ledger;
  previous: PreviousState;
  /** Filled here: which sources match each id asked about. */
  membership: Membership;
  schedule(src: ResolvedSource, wp: WorkPackage): void;
  checkpoint(): void;
  isAborted(): boolean;
}

/** What one source answered for the ids: its matching rows (and malformed ones), or why it could not answer. */
export type SourceAnswer = { rows: WorkPackage[]; invalid: { id: number; message: string }[] } | { error: Error };

/** The sources' answers, in the order of the resolved sources, being read. */
export interface TargetedReads {
  ids: readonly number[];
  answers: Promise<SourceAnswer[]>;
}

/** Asks every source for the ids now (full rows, the source's filters), without waiting for the answers. */
export function startTargetedReads(client: OpenProjectClient, resolved: readonly ResolvedSource[], ids: readonly number[]): TargetedReads {
  const idList = [...new Set(ids)].sort((a, b) => a - b);
  const answers = Promise.all(
    resolved.map(async (src): Promise<SourceAnswer> => {
      const rows: WorkPackage[] = [];
      const invalid: { id: number; message: string }[] = [];
      try {
        for await (const page of client.listWorkPackages({ ...src.query, ids: idList })) {
          rows.push(...page.workPackages);
          for (const bad of page.invalid) if (bad.id !== null) invalid.push({ id: bad.id, message: bad.message });
        }
        return { rows, invalid };
      } catch (e) {
        return { error: e as Error };
      }
    }),
  );
  return { ids: idList, answers };
}

/** Returns the rows handed to processing, by source (their `recent` records are updated from them: next-state.ts). */
export async function collectTargeted(
  ctx: TargetedContext,
  resolved: readonly ResolvedSource[],
  ids: readonly number[],
  reads?: TargetedReads,
): Promise<Map<string, WorkPackage[]>> {
  const scheduled = new Map<string, WorkPackage[]>();
  const ownerOf = (id: number): string | undefined => ctx.previous.sourceOf(id);
  ctx.checkpoint();
  const { ids: idList, answers } = reads ?? startTargetedReads(ctx.client, resolved, ids);
  const answered = await answers;
  ctx.checkpoint();
  // The id filter drops ids that do not exist or are not visible, so "no source" covers
  // deleted and moved out alike; a source that could not answer leaves every id unsettled.
  const failedSources = answered.flatMap((a, i) => ('error' in a ? [{ src: resolved[i]!, error: a.error }] : []));
  if (failedSources.length) {
    for (const { src, error } of failedSources) {
      for (const id of idList)
        ctx.ledger.failed({
          kind: 'unconfirmed-gone',
          source: ownerOf(id) ?? src.spec.name,
          workPackageId: id,
          message: `source "${src.spec.name}" could not be asked whether it matches work package #${id} (its files are kept): ${error.message}`,
        });
    }
    return scheduled;
  }
  const ok = answered as Extract<SourceAnswer, { rows: WorkPackage[] }>[];
  // The state is read lazily: the shards of the ids asked about are what this run decides on.
  await ctx.previous.loadFor(idList);
  ctx.checkpoint();
  ok.forEach((a, i) => ctx.membership.add(resolved[i]!.spec.name, new Set([...a.rows.map((wp) => wp.id), ...a.invalid.map((b) => b.id)])));
  const overlapping = ctx.membership.recordOverlaps(ctx.ledger, idList);
  for (const id of idList)
    if (!overlapping.has(id) && ctx.membership.sourcesOf(id).length === 0 && ownerOf(id) !== undefined) ctx.ledger.gone(ownerOf(id)!, id);
  ok.forEach((a, i) => {
    const src = resolved[i]!;
    const rows = a.rows.filter((wp) => !overlapping.has(wp.id));
    for (const wp of rows) ctx.schedule(src, wp);
    scheduled.set(src.spec.name, rows);
    for (const bad of a.invalid)
      if (!overlapping.has(bad.id))
        ctx.ledger.failed({ kind: 'payload', source: src.spec.name, workPackageId: bad.id, message: bad.message });
  });
  return scheduled;
}
