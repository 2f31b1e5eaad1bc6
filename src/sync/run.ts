// runSync: the lifetime of one run (lock, staging, abort) around its phases:
//   read state (open-state.ts) → resolve (run-sources.ts) → list, collect and map
//   (collect-run.ts: collect-all.ts or collect-targeted.ts, feeding mapper.ts as pages
//   arrive, then facts.ts) → plan (plan-run.ts: the tree, then plan/plan.ts, pure) → next
//   state (next-manifest.ts, pure) → apply (apply.ts) → report (report.ts).
// Every outcome per work package goes through the ledger (ledger.ts). The plan is complete
// before the first write, so a dry run shows exactly what a real run would do.
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { createHasher, type PresenceCheck } from '../output/disk-state.js';
import { createEntrySpill } from '../output/entry-spill.js';
import { readListingHint, serverKey, writeListingHint } from '../output/listing-hint.js';
import { acquireLock, guardDryRun } from '../output/lock.js';
import { MANIFEST_FILE, TornShardError } from '../output/manifest.js';
import { createStaging, type Staging } from '../output/staging.js';
import { makeDir } from '../output/writer.js';
import { applyRun } from './apply.js';
import { checkPresence, collectRun, STAMPED_FOLDER_NAMES } from './collect-run.js';
import { startEarlyListings, type EarlyListings } from './early-listings.js';
import { folderCounts, FOLDER_STAMP_MARGIN_MS, recordFolderStamps } from './folder-trust.js';
import { factsBookFor } from './facts.js';
import { Ledger } from './ledger.js';
import { createMapper, type Mapper } from './mapper.js';
import { Membership } from './membership.js';
import { nextManifest } from './next-manifest.js';
import { openState } from './open-state.js';
import { planRun } from './plan-run.js';
import { report } from './report.js';
import { createRunContext } from './run-context.js';
import { resolveRunSources, startResolve } from './run-sources.js';
import { createTreeLook } from './tree.js';
import type { SyncOptions, SyncReport } from './types.js';

export type { SyncOptions, SyncReport } from './types.js';

export async function runSync(options: SyncOptions): Promise<SyncReport> {
  try {
    return await runOnce(options, true);
  } catch (e) {
    // A shard read lazily was not the one manifest.json describes (a hand edit or a merge
    // that kept its size), found when it was read or read again to be written: the run
    // starts again reading every shard, which finds the state torn and reads every work
    // package again (pages this one already put in place are in its journal, which that
    // run checks).
    if (!(e instanceof TornShardError)) throw e;
    return runOnce(options, false);
  }
}

async function runOnce(options: SyncOptions, lazy: boolean): Promise<SyncReport> {
  const started = performance.now();
  const ctx = createRunContext(options);
  const { root, dryRun } = ctx;
  const problems = options.sources.flatMap((s, i) => options.profile.checkSource?.(s, i) ?? []);
  if (problems.length) throw new ConfigError('invalid sources for this profile', problems);
  ctx.checkpoint();

  if (!dryRun) await makeDir(root);
  // A dry run creates nothing, so it takes no lock: it checks that no sync applied anything meanwhile.
  const dryRunGuard = dryRun ? await guardDryRun(root, MANIFEST_FILE) : null;
  const lock = dryRun ? null : await acquireLock(root);
  // The server's names and schemas are asked for now (not before the lock: a run that waits
  // for it asks nothing): they arrive while the state is read.
  // The listings need to know whether the server answered their author select before: the
  // state says so (a source recorded authors), and it is read while the names are asked for.
  let stateRead: (answered: boolean) => void = () => undefined;
  let early: EarlyListings | undefined;
  let listed = false;
  const asked = startResolve(ctx, new Promise<boolean>((r) => (stateRead = r)), () => ((listed = true), early));
  // An ordinary run's id listings start now too, with the queries the last run listed (read
  // from .curate/local/), each kept only if the names confirm it (early-listings.ts). After
  // the names: those are first in the request slots, so the listings do not delay them. Not
  // when the names answered while the file was read: the listings have been asked for then.
  const server = serverKey(options.client.baseUrl);
  const hint = options.onlyIds ? null : await readListingHint(root, server);
  if (hint && !listed) early = startEarlyListings(ctx, hint);
  let staging: Staging | null = null;
  let mapper: Mapper | null = null;
  let presence: PresenceCheck | null = null;
  let disposed = false;
  try {
    if (lock?.tookOver)
      ctx.warn(
        `took over a stale lock left by pid ${lock.tookOver.pid} on ${lock.tookOver.hostname} (started ${lock.tookOver.startedAt}): ${lock.tookOver.reason}`,
      );
    const { journal, previous } = await openState(ctx, lazy, stateRead);
    // Which owned files are on disk: the content folders are listed while the server's names are asked for.
    if (!options.onlyIds) presence = checkPresence(ctx, previous);
    staging = await createStaging(root, dryRun);
    // Mapped entries wait in staging until the state is written (ledger.ts).
    const ledger = new Ledger(previous, ctx.emit, createEntrySpill(path.join(staging.dir, 'entries')));

    ctx.emit({ type: 'phase', phase: 'resolve' });
    const sources = await resolveRunSources(ctx, previous, ledger, asked);
    // Still targeted after resolve (`curate watch`), or turned ordinary (its config or names
    // changed): then it checks the tree too.
    const targeted = !!sources.onlyIds;
    if (!targeted) presence ??= checkPresence(ctx, previous);

    const fetchStarted = performance.now();
    ctx.emit({ type: 'phase', phase: 'list' });
    const membership = new Membership(
      targeted ? (id) => previous.sourceOf(id) : undefined,
      options.sources.map((s) => s.name),
    );
    // Other work packages' shown facts (`##N`): this run's rows, the manifest, or read in bulk (facts.ts).
    const facts = factsBookFor(ctx, previous, sources, membership);
    // One view of the tree for the whole run: journaled owned files are compared while
    // collecting, a mapped work package's paths looked at as it is mapped, the other wanted
    // paths while planning (nothing under the root is written before apply).
    const tree = createTreeLook(createHasher(root));
    const hash = tree.hash;
    mapper = createMapper(ctx, { previous, ledger, staging, sources, membership, facts, lookAhead: tree.lookAhead });
    const { collected, targetedRows } = await collectRun(ctx, { previous, journal, ledger, sources, membership, mapper, facts, hash, presence });
    const fetchMs = performance.now() - fetchStarted;

    ctx.emit({ type: 'phase', phase: 'plan' });
    const journalOwners = previous.ownersOf(journal.keys());
    const orphans = new Map([...journal].filter(([p]) => !journalOwners.has(p)));
    const { plan, released } = await planRun(ctx, { previous, ledger, mapper, orphans, targeted, hash, staging });
    const next = nextManifest(ctx, { previous, sources, collected, targetedRows, ledger, released, facts });

    ctx.checkpoint();
    const applyStarted = performance.now();
    let stateTouched: string[] = [];
    if (!dryRun) {
      ctx.emit({ type: 'phase', phase: 'apply' });
      const applied = await applyRun(ctx, { plan, staging, journal, journalOwners, orphans, targeted, ledger, previous, next });
      stateTouched = applied.stateTouched;
      // A cache for the next run (folder-trust.ts): a failure to record it costs that run a listing, nothing else.
      if (presence)
        await recordFolderStamps(root, presence, previous, applied.state, {
          marginMs: options.folderStampMarginMs ?? FOLDER_STAMP_MARGIN_MS,
          leastNames: options.folderStampMinFiles ?? STAMPED_FOLDER_NAMES,
        }).catch((e: Error) =>
          ctx.warn(`could not record which folders are unchanged (the next run lists them all): ${e.message}`),
        );
      // The queries this run listed with, for the next run's early listings (a failure costs it a round trip).
      const queries = Object.fromEntries(sources.resolved.map((src) => [src.spec.name, src.query]));
      const authorsAnswered = Object.values(next.top.sources).some((s) => s.authors !== undefined);
      await writeListingHint(root, { server, authorsAnswered, queries }, hint).catch((e: Error) =>
        ctx.warn(`could not record the sources' queries (the next run lists after the server's names): ${e.message}`),
      );
    }
    const applyMs = performance.now() - applyStarted;

    await dryRunGuard?.check();
    ctx.emit({ type: 'phase', phase: 'done' });
    if (!dryRun) {
      await staging.dispose();
      disposed = true;
    }
    const timings = { totalMs: performance.now() - started, fetchMs, applyMs };
    return report({
      plan,
      sourceNames: options.sources.map((s) => s.name),
      dryRun,
      refused: ctx.refused(),
      root,
      stage: staging,
      ledger,
      warnings: ctx.warnings,
      watermarks: next.watermarks,
      stateTouched,
      owned: () => previous.unloadedOwnedIds(ledger.nextOwnedIds(new Set())),
      client: options.client,
      timings,
      state: { ...previous.readCounts(), ...folderCounts(presence) },
      isDisposed: () => disposed,
      markDisposed: () => (disposed = true),
    });
  } catch (e) {
    // A dry run takes no lock: a shard that changed under it is first of all a real run
    // that applied meanwhile, which is what it reports.
    if (e instanceof TornShardError) await dryRunGuard?.check();
    // Work packages still running (an abort rejects the run at the first one that sees it)
    // are given a moment to notice, so nothing writes into staging while it is removed.
    await mapper?.scheduler.quiesce(500);
    if (staging && !disposed) await staging.dispose().catch(() => undefined);
    // A work package the abort took off the queue rejects with p-limit's own AbortError:
    // the run ends with the signal's reason, as at every other checkpoint.
    if (ctx.isAborted() && e instanceof DOMException && e.name === 'AbortError') throw options.signal!.reason;
    throw e;
  } finally {
    stateRead(false); // the state could not be read: nothing waits for it
    early?.dropRest(); // a run that failed before resolving uses none of them
    presence?.stop(); // no listing goes on after the run (one that failed early would keep listing)
    mapper?.scheduler.dispose();
    await lock?.release();
  }
}
