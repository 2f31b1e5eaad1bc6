// After mapping: the rows of each source that changed while the run went on.
//
// A work package's attachments are read after its row (another request). An attachment
// added or removed in between is on the page (or missing from it), while the state records
// the row as read, without the change: OpenProject moves `updatedAt` when an attachment is
// added or removed (touch_container.rb), so the row in hand is older than the attachments.
// The next run's walk returns the row (it is newer than the watermark), unless the server
// is restored meanwhile to a backup holding exactly the row read: then the row equals its
// entry, no check can tell, and the page keeps what the server no longer has (found by
// fuzz:sync, seed 1212513748). So, once every row is mapped, each source with a work package
// mapped this run is walked again from the instant the run began reading rows: a mapped row
// that comes back other than it was mapped goes on the retry list, and the next run reads it
// again by id. The files are left as mapped: they may be right, and the next run decides.
// A run with nothing mapped skips this; one request per such source otherwise (the rows
// changed since the run began are few). A targeted run asks about the ids it mapped only;
// a dry run, which writes no state, does not ask.
import type { WorkPackage } from '../types.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import type { RunContext } from './run-context.js';
import type { RunSources } from './run-sources.js';

/** What the second walk compares of a row: an attachment added or removed moves `updatedAt` only, an edit both. */
export function rowKey(wp: Pick<WorkPackage, 'updatedAt' | 'lockVersion'>): string {
  return `${wp.updatedAt} ${wp.lockVersion}`;
}

/**
 * Where the second walk starts (ms, the server's clock): meant to be no later than any edit
 * made to the source's rows after the run began reading them. The earlier of the server's
 * `Date` when the walks began (`date`; without one, the source's previous `watermark`, the
 * newest row its last run saw) and this machine's clock as the run began (`machine`).
 * Either may be wrong (a proxy's `Date`, a machine off NTP); the earlier is right while
 * one of them is. But never before the previous watermark when the `Date` is past it (the
 * server's clock had passed it then): a machine clock days behind would otherwise make the
 * second walk read days of rows on every run. A watermark the `Date` is not past may be
 * wrong itself (stored in the server's future): it bounds nothing then.
 */
export function changesFrom(clocks: { date: number | null; watermark: number | null; machine: number }): number {
  const { date, watermark, machine } = clocks;
  const earlier = Math.min(date ?? watermark ?? Infinity, machine);
  return watermark !== null && date !== null && watermark <= date ? Math.max(watermark, earlier) : earlier;
}

export async function recheckMapped(ctx: RunContext, deps: { ledger: Ledger; mapper: Mapper; sources: RunSources }): Promise<void> {
  const { ledger, mapper, sources } = deps;
  // What it finds only goes into the next state, which a dry run does not write.
  if (ctx.dryRun) return;
  await Promise.all(
    sources.resolved.map(async (src) => {
      const name = src.spec.name;
      if (!ledger.mappedAny(name)) return;
      const from = mapper.rowsReadFrom(name);
      // A targeted run asks only about the work packages it mapped (an id listing: chunked,
      // and an id deleted meanwhile is simply absent): it reads no other row (curate watch).
      const since = new Date(from).toISOString();
      const ids = sources.onlyIds?.filter((id) => {
        const outcome = ledger.outcome(id);
        return outcome?.kind === 'mapped' && outcome.source === name;
      });
      if (ids?.length === 0) return;
      const pages = ids ? ctx.options.client.listWorkPackages({ ...src.query, updatedSince: since, ids }) : ctx.options.client.listChanges(src.query, since);
      const changed: number[] = [];
      try {
        for await (const page of pages) {
          ctx.checkpoint();
          for (const wp of page.workPackages) {
            if (ledger.outcome(wp.id)?.kind !== 'mapped' || mapper.mappedRow(wp.id) === rowKey(wp)) continue;
            ledger.recheck(wp.id);
            changed.push(wp.id);
          }
        }
        if (changed.length) {
          const shown = changed.sort((a, b) => a - b).slice(0, 10).map((id) => `#${id}`).join(', ');
          ctx.warn(`source "${name}": ${changed.length} work package(s) changed while this run mapped them (${shown}${changed.length > 10 ? ', …' : ''}); the next run reads them again`);
        }
      } catch (e) {
        if (ctx.isAborted()) throw e;
        ledger.failed({
          kind: 'source',
          source: name,
          message: `source "${name}": its rows could not be read again to find edits made while this run mapped them (its pages are written as mapped; its watermark stays where it was): ${(e as Error).message}`,
        });
      }
    }),
  );
}
