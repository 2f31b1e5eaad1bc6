// The sources' id listings asked for before the server's names answer. A listing's query
// (project, type and status ids) is resolved from those names (resolve.ts), one round trip
// into the run; the listings, the longest part of a run that finds nothing to do, then
// started only after it. The query the last run listed each source with is recorded
// (output/listing-hint.ts), and each configured source's listing starts with it as soon as
// the names are asked for. Once they answer, a listing is used only when the query they
// resolve to is the recorded one, the same request the run would have made; any other (a
// config edit, a renamed or deleted type, another server) is dropped and listed again with
// the query now resolved. A no-change run at 30,000 work packages: 357.8 against 377.1 ms
// (wall, medians of 16 alternated runs; docs/performance.md, twenty-seventh session).
import type { ListingHint } from '../output/listing-hint.js';
import type { IdListing, WorkPackageQuery } from '../openproject/types.js';
import type { RunContext } from './run-context.js';

export interface EarlyListings {
  /** The early listing of `name` when it was asked with `query` (it is then this run's), else undefined. */
  take(name: string, query: WorkPackageQuery): Promise<IdListing | Error> | undefined;
  /** Drops every early listing not taken (their requests, queued or in flight, are aborted). */
  dropRest(): void;
}

/** The query's filters, in one comparable text (the order of ids is the request's order). */
const queryText = (q: WorkPackageQuery): string => JSON.stringify([q.projectIds ?? null, q.typeIds ?? null, q.statusIds ?? null, q.includeSubprojects ?? null]);

export function startEarlyListings(ctx: RunContext, hint: ListingHint): EarlyListings {
  const started = new Map<string, { query: string; listing: Promise<IdListing | Error>; drop: AbortController; taken: boolean }>();
  for (const spec of ctx.options.sources) {
    const query = hint.queries[spec.name];
    if (!query || started.has(spec.name)) continue;
    const drop = new AbortController();
    const listing = (async (): Promise<IdListing | Error> => {
      try {
        return await ctx.options.client.listWorkPackageIds(query, { withAuthors: true, ...(hint.authorsAnswered ? { authorsAnsweredBefore: true } : {}), signal: drop.signal });
      } catch (e) {
        // The run's abort, or this listing dropped: not the source's error.
        if (ctx.isAborted() || drop.signal.aborted) throw e;
        return e as Error;
      }
    })();
    // Read when taken (or never): not an unhandled rejection meanwhile.
    listing.catch(() => undefined);
    started.set(spec.name, { query: queryText(query), listing, drop, taken: false });
  }
  return {
    take(name, query) {
      const early = started.get(name);
      if (!early || early.taken || early.drop.signal.aborted || early.query !== queryText(query)) return undefined;
      early.taken = true;
      return early.listing;
    },
    dropRest() {
      for (const early of started.values()) if (!early.taken) early.drop.abort(new Error("an early id listing whose query the server's names did not confirm"));
    },
  };
}
