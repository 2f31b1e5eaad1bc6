// A targeted sync (`curate watch`): only the given ids. Every source is asked which of them
// it matches, with the server's own filters (one id-only request each); a match is read and
// mapped, no match removes an owned work package's files (deleted, moved out or no longer
// visible), two matches are an item error. Nothing else is listed, kept or touched.
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

export async function collectTargeted(ctx: TargetedContext, resolved: readonly ResolvedSource[], ids: readonly number[]): Promise<void> {
  const ownerOf = (id: number): string | undefined => ctx.previous.entry(id)?.source;
  const idList = [...new Set(ids)].sort((a, b) => a - b);
  // Which source matches each id, by the server's own filters; the id filter drops ids that
  // do not exist or are not visible, so "no source" covers deleted and moved out alike.
  const asked = await Promise.all(
    resolved.map(async (src) => {
      ctx.checkpoint();
      try {
        return (await ctx.client.listWorkPackageIds({ ...src.query, ids: idList })).ids;
      } catch (e) {
        if (ctx.isAborted()) throw e;
        for (const id of idList) ctx.ledger.failed({ kind: 'unconfirmed-gone', source: ownerOf(id) ?? src.spec.name, workPackageId: id, message: `source "${src.spec.name}" could not be asked whether it matches work package #${id} (its files are kept): ${(e as Error).message}` });
        return null;
      }
    }),
  );
  if (asked.includes(null)) return;
  asked.forEach((list, i) => ctx.membership.add(resolved[i]!.spec.name, list!));
  const overlapping = ctx.membership.recordOverlaps(ctx.ledger, idList);
  const bySource = new Map<ResolvedSource, number[]>();
  for (const id of idList) {
    if (overlapping.has(id)) continue;
    const [name] = ctx.membership.sourcesOf(id);
    if (name === undefined) {
      if (ownerOf(id) !== undefined) ctx.ledger.gone(ownerOf(id)!, id);
      continue;
    }
    const src = resolved.find((s) => s.spec.name === name)!;
    bySource.set(src, [...(bySource.get(src) ?? []), id]);
  }
  for (const [src, list] of bySource) {
    try {
      for await (const page of ctx.client.listWorkPackages({ ...src.query, ids: list })) {
        for (const wp of page.workPackages) ctx.schedule(src, wp);
        for (const bad of page.invalid) if (bad.id !== null) ctx.ledger.failed({ kind: 'payload', source: src.spec.name, workPackageId: bad.id, message: bad.message });
      }
    } catch (e) {
      if (ctx.isAborted()) throw e;
      for (const id of list) ctx.ledger.failed({ kind: 'mapping', source: src.spec.name, workPackageId: id, message: `work package #${id} could not be read (its files are kept): ${(e as Error).message}` });
    }
  }
}
