// runSync: the lifetime of one run (lock, staging, abort) around its phases:
//   read state → resolve (run-sources.ts) → list, collect and map (collect-all.ts or
//   collect-targeted.ts, feeding mapper.ts as pages arrive) → look at the tree (tree.ts)
//   → plan (plan/plan.ts, pure) → next state (next-manifest.ts, pure) → apply (apply.ts)
//   → report (report.ts).
// Every outcome per work package goes through the ledger (ledger.ts). The plan is complete
// before the first write, so a dry run shows exactly what a real run would do.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, LockedError } from '../errors.js';
import { DEFAULTS } from '../defaults.js';
import { createHasher } from '../output/disk-state.js';
import { readJournal } from '../output/journal.js';
import { acquireLock, assertNotLocked } from '../output/lock.js';
import { MANIFEST_FILE, readState } from '../output/manifest.js';
import { createStaging, sweepLeftovers, type Staging } from '../output/staging.js';
import { planSync, previousInScope } from '../plan/plan.js';
import { countPlan, type PlanCounts } from '../plan/types.js';
import { applyPlan } from './apply.js';
import { collectAll, type CollectedSources } from './collect-all.js';
import { collectTargeted } from './collect-targeted.js';
import { keepsPrevious, leftUnchecked } from './keep.js';
import { Ledger } from './ledger.js';
import { FactsBook, reconcileInRun, targetsAuditDue } from './facts.js';
import { createMapper, type Mapper } from './mapper.js';
import { Membership } from './membership.js';
import { nextManifest } from './next-manifest.js';
import { PreviousState } from './previous-state.js';
import { report } from './report.js';
import { createRunContext } from './run-context.js';
import { resolveRunSources, startResolve } from './run-sources.js';
import { inspectTree } from './tree.js';
import type { SyncOptions, SyncReport } from './types.js';

export type { SyncOptions, SyncReport } from './types.js';

export async function runSync(options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const ctx = createRunContext(options);
  const { root, dryRun } = ctx;
  const problems = options.sources.flatMap((s, i) => options.profile.checkSource?.(s, i) ?? []);
  if (problems.length) throw new ConfigError('invalid sources for this profile', problems);
  ctx.checkpoint();

  if (!dryRun) await mkdir(root, { recursive: true });
  // A dry run must create nothing, so it takes no lock; instead it refuses to read a root
  // a live sync is applying, and checks again at the end that no sync applied anything
  // meanwhile (lock and manifest unchanged), so its plan never mixes two states.
  const manifestBefore = dryRun ? await readFile(path.join(root, MANIFEST_FILE)).catch(() => null) : null;
  if (dryRun) await assertNotLocked(root);
  const lock = dryRun ? null : await acquireLock(root);
  // The server's names and schemas are asked for now (not before the lock: a run that waits
  // for it asks nothing): they arrive while the state is read.
  const asked = startResolve(ctx);
  let staging: Staging | null = null;
  let mapper: Mapper | null = null;
  let disposed = false;
  try {
    if (lock?.tookOver) ctx.warn(`took over a stale lock left by pid ${lock.tookOver.pid} on ${lock.tookOver.hostname} (started ${lock.tookOver.startedAt}): ${lock.tookOver.reason}`);
    if (!dryRun) {
      const swept = await sweepLeftovers(root);
      if (swept) ctx.warn(`removed ${swept} leftover temporary file(s) of an interrupted run`);
    }
    const previous = new PreviousState(await readState(root, options.profile.name, options.stateCache));
    const journal = await readJournal(root);
    staging = await createStaging(root, dryRun);
    const ledger = new Ledger(previous, ctx.emit);

    ctx.emit({ type: 'phase', phase: 'resolve' });
    const sources = await resolveRunSources(ctx, previous, ledger, asked);

    // List and collect; mapping runs beside it, fed as pages arrive.
    const fetchStarted = performance.now();
    ctx.emit({ type: 'phase', phase: 'list' });
    const membership = new Membership(sources.onlyIds ? (id) => previous.entry(id)?.source : undefined);
    // Other work packages' shown facts (`##N`): this run's rows, the manifest, or read in bulk (facts.ts).
    const facts = new FactsBook({
      stored: previous.manifest?.targets,
      storedReadAt: previous.manifest?.targetsReadAt,
      types: sources.types,
      statuses: sources.statuses,
      isSynced: (id) => membership.sourceOf(id) !== undefined,
      auditDue: targetsAuditDue(previous.manifest?.targetsReadAt, ctx.clock().getTime(), options.auditIntervalMs ?? DEFAULTS.auditHours * 3_600_000, (options.full ?? false) || previous.torn !== null),
    });
    mapper = createMapper(ctx, { previous, ledger, staging, sources, membership, facts });
    // One view of the tree for the whole run: journaled owned files are compared while
    // collecting, wanted paths while planning (nothing under the root is written before apply).
    const hash = createHasher(root);
    let collected: CollectedSources = new Map();
    if (sources.onlyIds) {
      const targeted = { client: options.client, ledger, previous, membership, schedule: mapper.schedule, checkpoint: ctx.checkpoint, isAborted: ctx.isAborted };
      await collectTargeted(targeted, sources.resolved, sources.onlyIds, sources.targetedReads);
    } else collected = await collectAll(ctx, { previous, journal, ledger, sources, membership, mapper, hash });
    await mapper.scheduler.drained();
    ctx.checkpoint();
    // Every walk is done: pages whose shown facts of other work packages changed meanwhile
    // (a target's row arrived later, a target renamed) are mapped again now (facts.ts).
    await reconcileInRun({ facts, ledger, previous, targeted: sources.onlyIds !== undefined, client: options.client, sources: sources.resolved, mapper, checkpoint: ctx.checkpoint, isAborted: ctx.isAborted });
    const fetchMs = performance.now() - fetchStarted;

    ctx.emit({ type: 'phase', phase: 'plan' });
    const orphans = new Map([...journal].filter(([p]) => previous.ownerOf(p) === undefined));
    const tree = await inspectTree(ctx, { previous, ledger, mapper, orphans, hash, staging });
    const desired = mapper.desired.filter((d) => ledger.outcome(d.workPackageId)?.kind === 'mapped');
    // Only what the plan can touch is planned; the other work packages' files are counted (plan.ts).
    const keeps = (id: number): boolean => keepsPrevious(ledger.outcome(id)?.kind);
    const scope = previousInScope(previous.entries(), desired, keeps, (p) => previous.ownerOf(p), (id) => previous.entry(id));
    const result = planSync({
      desired,
      previous: scope.previous,
      ownedBefore: scope.ownedBefore,
      keep: new Set([...scope.previous.keys()].filter(keeps)),
      gone: ledger.ids('gone'),
      orphans,
      current: tree.current,
      blocked: tree.blocked,
      deleteThreshold: options.deleteThreshold ?? DEFAULTS.deleteThreshold,
      allowMassDelete: options.allowMassDelete ?? false,
    });
    for (const f of result.failures) ledger.failed(f);
    if (result.brake) ctx.brake(result.brake);
    const plan = { files: result.plan.files, unlisted: scope.unlisted };
    const next = nextManifest(ctx, { previous, sources, collected, ledger, released: result.released, facts });

    ctx.checkpoint();
    const applyStarted = performance.now();
    let touched: string[] = [];
    if (!dryRun) {
      ctx.emit({ type: 'phase', phase: 'apply' });
      // Owned journaled paths this run left unchecked stay journaled (keep.ts).
      const carried = new Map([...journal].filter(([p]) => {
        const owner = previous.ownerOf(p);
        return owner !== undefined && leftUnchecked(ledger.outcome(owner)?.kind);
      }));
      touched = await applyPlan({
        root,
        files: plan.files,
        staging,
        pendingJournal: orphans,
        carriedJournal: carried,
        state: next.changed ? { manifest: next.manifest, dirty: next.dirty, previousShards: previous.shards, cache: options.stateCache } : null,
        checkpoint: ctx.checkpoint,
        emit: ctx.emit,
      });
    }
    const applyMs = performance.now() - applyStarted;

    const bySource: Record<string, PlanCounts> = {};
    for (const s of options.sources) bySource[s.name] = countPlan(plan.files.filter((f) => f.source === s.name), plan.unlisted, s.name);
    if (dryRun) {
      await assertNotLocked(root);
      const manifestAfter = await readFile(path.join(root, MANIFEST_FILE)).catch(() => null);
      if (!(manifestBefore === null ? manifestAfter === null : manifestAfter?.equals(manifestBefore))) {
        throw new LockedError('a curate sync applied changes to this output root while the dry run was reading it; run the dry run again');
      }
    }
    ctx.emit({ type: 'phase', phase: 'done' });
    if (!dryRun) {
      await staging.dispose();
      disposed = true;
    }
    const timings = { totalMs: performance.now() - started, fetchMs, applyMs };
    return report({ plan, dryRun, refused: ctx.refused(), root, stage: staging, bySource, ledger, warnings: ctx.warnings, watermarks: next.watermarks, touched, owned: () => new Set(Object.keys(next.manifest.workPackages).map(Number)), client: options.client, timings, isDisposed: () => disposed, markDisposed: () => (disposed = true) });
  } catch (e) {
    // Work packages still running (an abort rejects the run at the first one that sees it)
    // are given a moment to notice, so nothing writes into staging while it is removed.
    await mapper?.scheduler.quiesce(500);
    if (staging && !disposed) await staging.dispose().catch(() => undefined);
    // A work package the abort took off the queue rejects with p-limit's own AbortError:
    // the run ends with the signal's reason, as at every other checkpoint.
    if (ctx.isAborted() && e instanceof DOMException && e.name === 'AbortError') throw options.signal!.reason;
    throw e;
  } finally {
    mapper?.scheduler.dispose();
    await lock?.release();
  }
}
