// The resolve phase: the server's names (projects, types, statuses, the sources' custom
// fields) → each configured source's query and what its pages show, compared with what
// the previous run recorded. A source whose names the server lacks is that source's item
// error; the others sync. A targeted run meeting a changed config or renamed names becomes
// an ordinary run (pages of the other shape would otherwise stay).
import { describeInvisible, invisibleFields } from '../openproject/field-visibility.js';
import type { IdListing } from '../openproject/types.js';
import type { NamedRef, Project, SourceSpec } from '../types.js';
import { nameDigests, renamedKinds } from './closure.js';
import type { ResolvedSource } from './collect.js';
import { startTargetedReads, type TargetedReads } from './collect-targeted.js';
import type { EarlyListings } from './early-listings.js';
import { sourceFingerprint } from './fingerprint.js';
import type { Ledger } from './ledger.js';
import type { PreviousState } from './previous-state.js';
import { fetchServerNames, readSchemaFields, resolveSources, unresolvedConfig, unresolvedMessage, type ServerNames } from './resolve.js';
import type { RunContext } from './run-context.js';
import { clockSkewWarning } from './walk-basis.js';

export interface RunSources {
  /** Sources whose names resolved, in config order. */
  resolved: ResolvedSource[];
  specByName: ReadonlyMap<string, SourceSpec>;
  fingerprints: ReadonlyMap<string, string>;
  projects: ReadonlyMap<number, Project>;
  /** The type and status lists read this run (the names `##N` shows, facts.ts). */
  types: readonly NamedRef[];
  statuses: readonly NamedRef[];
  /** The server's clock before any listing (null when it sends none, or garbage). */
  walkStart: Date | null;
  /** Per resolved source: digests of the names its pages show, as read now. */
  namesNow: ReadonlyMap<string, Record<string, string>>;
  /** Per resolved source: the kinds of names renamed since the previous run (empty: none). */
  renamed: ReadonlyMap<string, string[]>;
  /** The ids of a targeted run, or undefined for an ordinary one. */
  onlyIds: number[] | undefined;
  /** A targeted run: the sources' answers for its ids, asked beside the schemas read (collect-targeted.ts). */
  targetedReads?: TargetedReads;
  /** An ordinary run: each resolved source's id listing (collect-all.ts), asked beside the schemas read. */
  listings?: Promise<IdListing | Error>[];
}

/** What the resolve phase asks the server before it needs the previous state. */
export interface ResolveStarted {
  names: ServerNames;
  walkStart: Date | null;
  queries: ReturnType<typeof resolveSources>['queries'];
  problems: ReturnType<typeof resolveSources>['problems'];
  fingerprints: Map<string, string>;
  resolved: ResolvedSource[];
  fields: Awaited<ReturnType<typeof readSchemaFields>>;
  early: TargetedReads | undefined;
  /** An ordinary run: each resolved source's id listing (or why it failed), asked beside the schemas. */
  listings: Promise<IdListing | Error>[] | undefined;
}

/**
 * The server's names, then the sources' schemas (and a targeted run's ids), asked for
 * before the run reads its state: the answers arrive while the state is read and parsed
 * (a few hundred milliseconds at 30,000 work packages) instead of after it. A run that
 * fails before resolving leaves the answer unobserved, not unhandled.
 */
/**
 * `authorsAnsweredBefore`: whether the previous run's state shows the server answered the
 * id listings' author select (run.ts resolves it once the state is read, which happens
 * while the names are asked for). `earlyListings`: listings asked before the names answered
 * (early-listings.ts): a source's is used when the names confirm its query, the rest dropped.
 */
export function startResolve(ctx: RunContext, authorsAnsweredBefore: Promise<boolean> = Promise.resolve(false), earlyListings: () => EarlyListings | undefined = () => undefined): Promise<ResolveStarted> {
  const started = (async (): Promise<ResolveStarted> => {
    const { client, sources, profile } = ctx.options;
    const names = await fetchServerNames(client);
    const walkStart = client.lastServerDate();
    const { queries, problems } = resolveSources(names, sources);
    // Nothing resolves: the config (or the URL, or the key) is wrong as a whole.
    if (problems.every((p) => p.length > 0)) throw unresolvedConfig(problems);
    const fingerprints = new Map(sources.map((s) => [s.name, sourceFingerprint(profile, s)]));
    const resolved: ResolvedSource[] = [];
    sources.forEach((spec, i) => {
      const query = queries[i];
      if (query) resolved.push({ spec, query, fingerprint: fingerprints.get(spec.name)! });
    });
    // Names the pages show that the server renames without touching any work package.
    const fieldsRead = readSchemaFields(client, resolved, names, ctx.warn, ctx.isAborted);
    // A targeted run asks the sources for its ids now, beside the schemas (one round trip
    // less); the answers wait for the schemas to be normalized with their names.
    const early = ctx.options.onlyIds && resolved.length ? startTargetedReads(client, resolved, ctx.options.onlyIds) : undefined;
    // An ordinary run lists every source's ids now too: the listings need only the queries.
    // (Not awaited here: the schemas' promise must be awaited before anything else, or an
    // abort meanwhile rejects it with no handler and ends the process.)
    const asked = earlyListings();
    const listings = ctx.options.onlyIds ? undefined : listSourceIds(ctx, resolved, authorsAnsweredBefore, asked);
    asked?.dropRest();
    return { names, walkStart, queries, problems, fingerprints, resolved, fields: await fieldsRead, early, listings };
  })();
  started.catch(() => undefined);
  return started;
}

/**
 * Every source's id listing with its authors, each its own promise (the caller takes each
 * as it arrives); a failed one is its error (that source's, not the run's).
 */
export function listSourceIds(
  ctx: RunContext,
  resolved: readonly ResolvedSource[],
  authorsAnsweredBefore: boolean | Promise<boolean> = false,
  early?: EarlyListings,
): Promise<IdListing | Error>[] {
  return resolved.map((src) => {
    const asked = early?.take(src.spec.name, src.query);
    if (asked) return asked;
    const one = (async (): Promise<IdListing | Error> => {
      const known = await authorsAnsweredBefore;
      try {
        return await ctx.options.client.listWorkPackageIds(src.query, { withAuthors: true, ...(known ? { authorsAnsweredBefore: known } : {}) });
      } catch (e) {
        if (ctx.isAborted()) throw e;
        return e as Error;
      }
    })();
    // Read later (or never, when the run fails first): not an unhandled rejection meanwhile.
    one.catch(() => undefined);
    return one;
  });
}

export async function resolveRunSources(
  ctx: RunContext,
  previous: PreviousState,
  ledger: Ledger,
  asked: Promise<ResolveStarted> = startResolve(ctx),
): Promise<RunSources> {
  const { sources, profile } = ctx.options;
  const { names, walkStart, queries, problems, fingerprints, resolved, fields, early, listings } = await asked;
  const skew = clockSkewWarning(walkStart, ctx.clock());
  if (skew !== null) ctx.warn(skew);
  sources.forEach((spec, i) => {
    if (!queries[i]) ledger.failed({ kind: 'source', source: spec.name, message: unresolvedMessage(spec.name, problems[i]!) });
  });
  // Configured custom fields the key cannot see (admin-only, not on a synced type) write
  // nothing: say so, from the schemas just read (no extra requests).
  const configured = profile.configuredFields?.() ?? [];
  if (fields && configured.length) {
    const invisible = await invisibleFields(configured, resolved.map((r) => r.spec), names, (project, type) => fields.get(`${project}-${type}`) ?? null);
    for (const p of invisible) ctx.warn(describeInvisible(p));
  }
  const namesNow = new Map(resolved.map((src) => [src.spec.name, nameDigests(src.query, names, fields)]));
  const renamed = new Map(resolved.map((src) => [src.spec.name, renamedKinds(previous.source(src.spec.name)?.names, namesNow.get(src.spec.name)!)]));

  // State whose files disagree (a run killed while writing it, a merge, a hand edit): every
  // entry still describes files in place, but which run wrote which is unknown, so every
  // work package is read again (as --full would), and nothing is skipped on its word.
  if (previous.torn !== null) ctx.warn(`the sync state in .curate/ does not agree with itself (${previous.torn}); reading every work package again`);
  let onlyIds = ctx.options.onlyIds;
  if (onlyIds && previous.torn !== null) onlyIds = undefined;
  if (onlyIds) {
    const stale = resolved.filter((src) => {
      const prev = previous.source(src.spec.name);
      return prev !== undefined && (prev.fingerprint !== src.fingerprint || renamed.get(src.spec.name)!.length > 0);
    });
    if (stale.length) {
      ctx.warn(
        `source(s) ${stale.map((s) => `"${s.spec.name}"`).join(', ')}: the configuration, curate's mapping or names on the server changed since the last sync; syncing everything rather than only work package(s) ${onlyIds.map((id) => `#${id}`).join(', ')}`,
      );
      onlyIds = undefined;
    }
  }
  return {
    resolved,
    specByName: new Map(sources.map((s) => [s.name, s])),
    fingerprints,
    projects: new Map(names.projects.map((p) => [p.id, p])),
    walkStart,
    namesNow,
    renamed,
    onlyIds,
    types: names.types,
    statuses: names.statuses,
    ...(onlyIds && early ? { targetedReads: early } : {}),
    ...(!onlyIds && listings ? { listings } : {}),
  };
}
