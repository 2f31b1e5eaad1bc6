// A targeted sync (`curate watch`): only the given ids. Each is read by id (404 → gone if
// owned), then every source is asked which of the existing ones it matches, with the
// server's own filters; a match is mapped, no match removes an owned work package's files,
// two matches are an item error. Nothing else is listed, kept or touched.
import type { OpenProjectClient } from '../openproject/types.js';
import type { Manifest } from '../output/manifest.js';
import type { WorkPackage } from '../types.js';
import type { ResolvedSource } from './collect.js';
import type { Ledger } from './ledger.js';

export interface TargetedContext {
  client: OpenProjectClient;
  ledger: Ledger;
  previous: Manifest | null;
  /** Filled here: source names that match each id. */
  membership: Map<number, string[]>;
  schedule(src: ResolvedSource, wp: WorkPackage): void;
  checkpoint(): void;
}

export async function collectTargeted(ctx: TargetedContext, resolved: readonly ResolvedSource[], ids: readonly number[]): Promise<void> {
  const ownerOf = (id: number): string | undefined => ctx.previous?.workPackages[String(id)]?.source;
  const fallbackSource = resolved[0]!.spec.name;
  const existing: WorkPackage[] = [];
  await Promise.all(
    [...new Set(ids)].map(async (id) => {
      ctx.checkpoint();
      try {
        const wp = await ctx.client.getWorkPackage(id);
        if (wp) existing.push(wp);
        else if (ownerOf(id) !== undefined) ctx.ledger.gone(ownerOf(id)!, id);
      } catch (e) {
        ctx.ledger.failed({ source: ownerOf(id) ?? fallbackSource, workPackageId: id, message: `work package #${id} could not be read: ${(e as Error).message}` });
      }
    }),
  );
  if (!existing.length) return;
  existing.sort((a, b) => a.id - b.id);
  const idList = existing.map((w) => w.id);
  let failedAll = false;
  await Promise.all(
    resolved.map(async (src) => {
      try {
        for (const id of (await ctx.client.listWorkPackageIds({ ...src.query, ids: idList })).ids) {
          const list = ctx.membership.get(id) ?? [];
          list.push(src.spec.name);
          ctx.membership.set(id, list);
        }
      } catch (e) {
        failedAll = true;
        for (const id of idList) ctx.ledger.failed({ source: src.spec.name, workPackageId: id, message: `source "${src.spec.name}" could not be asked whether it matches work package #${id}: ${(e as Error).message}` });
      }
    }),
  );
  if (failedAll) return;
  for (const wp of existing) {
    const names = (ctx.membership.get(wp.id) ?? []).sort();
    if (names.length === 0) {
      if (ownerOf(wp.id) !== undefined) ctx.ledger.gone(ownerOf(wp.id)!, wp.id);
    } else if (names.length > 1) {
      ctx.ledger.failed({ source: names[0]!, workPackageId: wp.id, message: overlapMessage(wp.id, names) });
    } else {
      ctx.schedule(resolved.find((s) => s.spec.name === names[0])!, wp);
    }
  }
}

export function overlapMessage(id: number, sources: readonly string[]): string {
  return `work package #${id} is matched by sources ${sources.map((s) => `"${s}"`).join(' and ')}; a work package must belong to one source (change their projects, types or statuses). Its files stay as they are`;
}
