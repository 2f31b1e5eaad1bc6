// runSync: the lifetime of one run (lock, staging, abort) around its phases:
//   resolve → list & collect (sync/collect.ts) → process (sync/process.ts)
//   → plan (plan/plan.ts, pure) → apply (sync/apply.ts) → report.
// Every outcome per work package goes through the ledger (sync/ledger.ts). The plan is
// complete before the first write, so a dry run shows exactly what a real run would do.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { AttachmentNotReadyError, ConfigError, LockedError, PayloadError, SafetyError } from '../errors.js';
import { createHasher, createPresenceCheck } from '../output/disk-state.js';
import { readJournal } from '../output/journal.js';
import { acquireLock, assertNotLocked } from '../output/lock.js';
import { MANIFEST_FILE, MANIFEST_VERSION, readManifest, stableJson, type Manifest, type ManifestSource } from '../output/manifest.js';
import { resolveInside } from '../output/paths.js';
import { createStaging, sweepLeftovers, type Staging } from '../output/staging.js';
import { planSync, type DesiredFile, type PreviousEntry } from '../plan/plan.js';
import { countPlan, type PlanCounts, type PlannedFile } from '../plan/types.js';
import type { IdListing } from '../openproject/types.js';
import type { Attachment, WorkPackage } from '../types.js';
import { applyPlan } from './apply.js';
import { collectSource, type CollectContext, type Collected, type ResolvedSource } from './collect.js';
import { authorDigests, nameDigests, refKey, renamedAuthorsWorkPackages, renamedKinds } from './closure.js';
import { collectTargeted, overlapMessage } from './collect-targeted.js';
import { DEFAULTS } from '../defaults.js';
import type { SyncEvent } from './events.js';
import { sourceFingerprint } from './fingerprint.js';
import { Ledger } from './ledger.js';
import { nextSourceState } from './next-state.js';
import { isAttachmentFailure, processWorkPackage, type ProcessContext, type Processed } from './process.js';
import { FactsBook, factRefs, reconcileInRun, targetsAuditDue, type Remappable } from './facts.js';
import { fetchServerNames, readSchemaFields, resolveSources, unresolvedConfig, unresolvedMessage } from './resolve.js';
import { describeInvisible, invisibleFields } from '../openproject/field-visibility.js';
import type { SyncOptions, SyncReport } from './types.js';

export type { SyncOptions, SyncReport } from './types.js';

export async function runSync(o: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const root = path.resolve(o.outputRoot);
  const dryRun = o.dryRun ?? false;
  const emit = (e: SyncEvent): void => o.onEvent?.(e);
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };
  const problems = o.sources.flatMap((s, i) => o.profile.checkSource?.(s, i) ?? []);
  if (problems.length) throw new ConfigError('invalid sources for this profile', problems);
  const checkpoint = (): void => o.signal?.throwIfAborted();
  checkpoint();
  // The mass-delete brake stops a real run; a dry run (how a user sees what would be
  // deleted) records why and plans on, and its report says a real run would be refused.
  let refused: string | null = null;
  const brake = (message: string): void => {
    if (!dryRun) throw new SafetyError(message);
    refused ??= message;
  };

  if (!dryRun) await mkdir(root, { recursive: true });
  // A dry run must create nothing, so it takes no lock; instead it refuses to read a root
  // a live sync is applying, and checks again at the end that no sync applied anything
  // meanwhile (lock and manifest unchanged), so its plan never mixes two states.
  const manifestBefore = dryRun ? await readFile(path.join(root, MANIFEST_FILE)).catch(() => null) : null;
  if (dryRun) await assertNotLocked(root);
  const lock = dryRun ? null : await acquireLock(root);
  let staging: Staging | null = null;
  let disposed = false;
  const detach: (() => void)[] = [];
  /** Processing tasks of this run (awaited on the way out of an aborted run). */
  const running: Promise<void>[] = [];
  try {
    if (lock?.tookOver) warn(`took over a stale lock left by pid ${lock.tookOver.pid} on ${lock.tookOver.hostname} (started ${lock.tookOver.startedAt}): ${lock.tookOver.reason}`);
    if (!dryRun) {
      const swept = await sweepLeftovers(root);
      if (swept) warn(`removed ${swept} leftover temporary file(s) of an interrupted run`);
    }
    const previous = await readManifest(root, o.profile.name);
    const journal = await readJournal(root);
    staging = await createStaging(root, dryRun);
    const stage = staging;
    const ledger = new Ledger(previous, emit);

    // --- resolve ----------------------------------------------------------------
    emit({ type: 'phase', phase: 'resolve' });
    const names = await fetchServerNames(o.client);
    // The server's clock before any listing (null when it sends none or garbage).
    const walkStart = o.client.lastServerDate();
    const clock = o.clock ?? ((): Date => new Date());
    const { queries, problems } = resolveSources(names, o.sources);
    // Nothing resolves: the config (or the URL, or the key) is wrong as a whole.
    if (problems.every((p) => p.length > 0)) throw unresolvedConfig(problems);
    const fingerprints = new Map(o.sources.map((s) => [s.name, sourceFingerprint(o.profile, s)]));
    const resolved: ResolvedSource[] = [];
    o.sources.forEach((spec, i) => {
      const query = queries[i];
      if (query) resolved.push({ spec, query, fingerprint: fingerprints.get(spec.name)! });
      else ledger.failed({ kind: 'source', source: spec.name, message: unresolvedMessage(spec.name, problems[i]!) });
    });
    const specByName = new Map(o.sources.map((s) => [s.name, s]));
    const projects = new Map(names.projects.map((p) => [p.id, p]));
    // Names the pages show that the server renames without touching any work package.
    const fields = await readSchemaFields(o.client, resolved, names, warn, () => o.signal?.aborted ?? false);
    // Configured custom fields the key cannot see (admin-only, not on a synced type) write
    // nothing: say so, from the schemas just read (no extra requests).
    const configured = o.profile.configuredFields?.() ?? [];
    if (fields && configured.length) for (const p of await invisibleFields(configured, resolved.map((r) => r.spec), names, (project, type) => fields.get(`${project}-${type}`) ?? null)) warn(describeInvisible(p));
    const namesNow = new Map(resolved.map((src) => [src.spec.name, nameDigests(src.query, names, fields)]));
    const renamed = new Map(resolved.map((src) => [src.spec.name, renamedKinds(previous?.sources[src.spec.name]?.names, namesNow.get(src.spec.name)!)]));
    // A targeted sync (`curate watch`) maps only the ids it is given: when the config, the
    // mapping or the names the pages show differ from the state's, pages of the other
    // shape would stay, so the whole run becomes an ordinary sync.
    let onlyIds = o.onlyIds;
    if (onlyIds) {
      const stale = resolved.filter((src) => {
        const prev = previous?.sources[src.spec.name];
        return prev !== undefined && (prev.fingerprint !== src.fingerprint || renamed.get(src.spec.name)!.length > 0);
      });
      if (stale.length) {
        warn(`source(s) ${stale.map((s) => `"${s.spec.name}"`).join(', ')}: the configuration, curate's mapping or names on the server changed since the last sync; syncing everything rather than only work package(s) ${onlyIds.map((id) => `#${id}`).join(', ')}`);
        onlyIds = undefined;
      }
    }

    // --- process (fed by the listing as pages arrive) ---------------------------
    const desired: DesiredFile[] = [];
    const cached = new Map<string, Attachment>();
    const membership = new Map<number, string[]>();
    const sourceNameOf = (id: number): string | undefined => {
      const list = membership.get(id);
      if (list) return list.length === 1 ? list[0] : undefined;
      // A targeted sync lists nothing: what the manifest says is the best knowledge.
      return onlyIds ? previous?.workPackages[String(id)]?.source : undefined;
    };
    const refOf = (id: number): string | null => {
      const n = sourceNameOf(id);
      const fp = n === undefined ? undefined : fingerprints.get(n);
      return fp === undefined ? null : refKey(n!, fp);
    };
    // Other work packages' shown facts (`##N`): from this run's rows, the manifest, or read in bulk (facts.ts).
    const facts = new FactsBook({
      stored: previous?.targets,
      storedReadAt: previous?.targetsReadAt,
      types: names.types,
      statuses: names.statuses,
      isSynced: (id) => sourceNameOf(id) !== undefined,
      auditDue: targetsAuditDue(previous?.targetsReadAt, clock().getTime(), o.auditIntervalMs ?? DEFAULTS.auditHours * 3_600_000, o.full ?? false),
    });
    const pctx: ProcessContext = {
      client: o.client,
      profile: o.profile,
      staging: stage,
      projects,
      now: o.now,
      maxBytes: o.maxAttachmentBytes ?? DEFAULTS.maxAttachmentBytes,
      sourceOf: (id) => {
        const n = sourceNameOf(id);
        return n === undefined ? undefined : specByName.get(n);
      },
      refOf,
      factsOf: (id) => facts.answer(id),
      checkpoint,
      emit,
    };
    // rejectOnClear: the work packages an abort takes off the queue settle (rejected) instead
    // of never, so the way out waits only for those actually running, not its whole grace.
    const limit = pLimit({ concurrency: (o.concurrency ?? DEFAULTS.concurrency) * 4, rejectOnClear: true });
    const tasks = running;
    /** Work packages listed but not yet started, above which listing pauses (about one page). */
    const MAX_QUEUED = 1000;
    let listers: (() => void)[] = [];
    const queueRoom = (): Promise<void> => (limit.pendingCount <= MAX_QUEUED ? Promise.resolve() : new Promise((r) => listers.push(r)));
    const wakeListers = (force = false): void => {
      if (listers.length && (force || limit.pendingCount <= MAX_QUEUED)) {
        const waiting = listers;
        listers = [];
        waiting.forEach((r) => r());
      }
    };
    // An abort clears the queue, so nothing would wake a paused listing: wake it, and its
    // next checkpoint ends the run.
    const onAbort = (): void => {
      limit.clearQueue();
      wakeListers(true);
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    detach.push(() => o.signal?.removeEventListener('abort', onAbort));
    /** Pages mapped this run that showed other work packages' facts: how to map each again (facts.ts). */
    const againOf = new Map<number, Remappable>();
    const schedule = (src: ResolvedSource, wp: WorkPackage, again?: () => Promise<Processed>): void => {
      facts.saw(wp);
      const task = limit(async () => {
        wakeListers(false);
        const old = previous?.workPackages[String(wp.id)];
        try {
          const r = again ? await again() : await processWorkPackage(pctx, src.spec, wp, old);
          desired.push(...r.desired);
          for (const [p, a] of r.cached) cached.set(p, a);
          if (r.again) againOf.set(wp.id, { src, wp, again: r.again });
          else againOf.delete(wp.id);
          ledger.mapped(src.spec.name, wp.id, r.entry);
        } catch (e) {
          // An abort is not the work package's fault: it ends the run, not just this item.
          if (o.signal?.aborted) throw e;
          if (e instanceof AttachmentNotReadyError) {
            // Not an error: the upload is unfinished or the virus scan pending, which does not
            // touch updatedAt, so the retry list brings it back until the file is there.
            ledger.deferred(src.spec.name, wp.id);
            warn(`${e.message}; its last good files are kept and it is tried again on the next run`);
          } else ledger.failed({ kind: e instanceof PayloadError ? 'payload' : isAttachmentFailure(e) ? 'attachment' : 'mapping', source: src.spec.name, workPackageId: wp.id, message: (e as Error).message });
        }
      });
      // Awaited below; an abort can end the run before that, and its rejection must not go unhandled meanwhile.
      task.catch(() => undefined);
      tasks.push(task);
    };

    // One view of the tree for the whole run: journaled owned files are compared while
    // collecting, wanted paths while planning (nothing under the root is written before apply).
    const hash = createHasher(root);

    // --- list & collect ---------------------------------------------------------
    const fetchStarted = performance.now();
    emit({ type: 'phase', phase: 'list' });
    const owned = new Map<string, Map<number, NonNullable<Manifest['workPackages'][string]>>>();
    for (const id in previous?.workPackages ?? {}) {
      const w = previous!.workPackages[id]!;
      let m = owned.get(w.source);
      if (!m) owned.set(w.source, (m = new Map()));
      m.set(Number(id), w);
    }
    /** Per listed source: what the walk collected, and the author names its listing showed. */
    const collected = new Map<string, Collected & { authors?: Record<string, string> }>();
    if (onlyIds) {
      await collectTargeted({ client: o.client, ledger, previous, membership, schedule, checkpoint, isAborted: () => o.signal?.aborted ?? false }, resolved, onlyIds);
    } else {
      // Every source's id listing first: it tells which source each work package belongs
      // to (for moves, overlaps and the profiles' links) before anything is mapped. A
      // source whose listing fails is that source's error; the others sync.
      const answers = await Promise.all(
        resolved.map(async (src) => {
          try {
            return await o.client.listWorkPackageIds(src.query, { withAuthors: true });
          } catch (e) {
            if (o.signal?.aborted) throw e;
            return e as Error;
          }
        }),
      );
      if (answers.length && answers.every((a) => a instanceof Error)) throw answers[0];
      const listed: { src: ResolvedSource; listing: IdListing }[] = [];
      answers.forEach((a, i) => {
        const src = resolved[i]!;
        if (a instanceof Error) ledger.failed({ kind: 'source', source: src.spec.name, message: `source "${src.spec.name}" was not synced, its work packages could not be listed (its files stay as they are): ${a.message}` });
        else listed.push({ src, listing: a });
      });
      for (const { src, listing } of listed) {
        for (const id of listing.ids) {
          const list = membership.get(id);
          if (list) list.push(src.spec.name);
          else membership.set(id, [src.spec.name]);
        }
      }
      ledger.listed = membership.size;
      const overlapping = new Set<number>();
      for (const [id, list] of membership) {
        if (list.length < 2) continue;
        overlapping.add(id);
        ledger.failed({ kind: 'overlap', source: list[0]!, workPackageId: id, message: overlapMessage(id, list) });
      }
      for (const { src, listing } of listed) {
        const mine = owned.get(src.spec.name);
        if (listing.total === 0 && mine?.size && !o.allowMassDelete) {
          brake(`source "${src.spec.name}": the server returned no work packages, but ${mine.size} are synced; refusing to delete them all (check the filters and the key's permissions, or pass --allow-mass-delete)`);
        }
      }
      // Work packages of sources no longer in the config: moved if another source lists
      // them, else gone (the config no longer asks for them).
      for (const [name, mine] of owned) {
        if (specByName.has(name)) continue;
        for (const id of mine.keys()) if (!membership.has(id)) ledger.gone(name, id);
      }
      const filesPresent = createPresenceCheck(root);
      // A path the journal lists was being written by a run that stopped before its manifest:
      // it may hold that run's bytes rather than the ones this manifest records (an edit
      // the server has since undone, a restore), so it is compared, not just found.
      const filesAsRecorded = async (w: { files: Record<string, string> }): Promise<boolean> => {
        const paths = Object.keys(w.files);
        if (!(await filesPresent(paths))) return false;
        for (const p of paths) if (journal.has(p) && (await hash(p)) !== w.files[p]) return false;
        return true;
      };
      const collectContext: CollectContext = {
        client: o.client,
        ledger,
        previous,
        full: o.full ?? false,
        now: o.now,
        overlapMs: (o.overlapSeconds ?? DEFAULTS.overlapSeconds) * 1000,
        walkStart,
        clock,
        auditIntervalMs: o.auditIntervalMs ?? DEFAULTS.auditHours * 3_600_000,
        overlapping,
        sourceNameOf,
        refOf,
        schedule,
        saw: (wp) => facts.saw(wp),
        queueRoom,
        filesPresent: filesAsRecorded,
        checkpoint,
        isAborted: () => o.signal?.aborted ?? false,
        emit,
        warn,
      };
      await Promise.all(
        listed.map(async ({ src, listing }) => {
          const name = src.spec.name;
          const kinds = renamed.get(name)!;
          const authors = listing.authors ? authorDigests(listing.authors, listing.ids) : undefined;
          const force = listing.authors ? renamedAuthorsWorkPackages(previous?.sources[name]?.authors, authors!, listing.authors) : new Set<number>();
          if (force.size && kinds.length === 0 && !o.full) warn(`source "${name}": an author's name changed on the server; mapping their ${force.size} work package(s) again`);
          const remapAll = kinds.length ? `the name of ${kinds.join(', ')} its pages show changed on the server` : null;
          const result = await collectSource(collectContext, src, new Set(listing.ids), owned.get(name) ?? new Map(), { remapAll, force });
          collected.set(name, { ...result, ...(authors ? { authors } : {}) });
        }),
      );
    }
    await Promise.all(tasks);
    checkpoint();
    // Every walk is done: pages whose shown facts of other work packages changed in the
    // meantime (a target's row arrived later, a target renamed) are mapped again now.
    await reconcileInRun({
      facts,
      ledger,
      previous,
      targeted: onlyIds !== undefined,
      refOf,
      client: o.client,
      sources: resolved,
      againOf,
      schedule,
      dropDesired: (ids) => {
        const rest = desired.filter((d) => !ids.has(d.workPackageId));
        desired.length = 0;
        for (const d of rest) desired.push(d);
      },
      settle: async () => {
        await Promise.all(tasks);
        checkpoint();
      },
      isAborted: () => o.signal?.aborted ?? false,
    });
    const fetchMs = performance.now() - fetchStarted;

    // --- plan -------------------------------------------------------------------
    emit({ type: 'phase', phase: 'plan' });
    const prevEntries = new Map<number, PreviousEntry>();
    for (const id in previous?.workPackages ?? {}) prevEntries.set(Number(id), previous!.workPackages[id]!);
    const keepSet = (): Set<number> => {
      const keep = new Set<number>();
      for (const id of prevEntries.keys()) {
        const k = ledger.outcome(id)?.kind;
        // No outcome: nothing proved it changed or went away, so its files stay.
        if (k === undefined || k === 'kept' || k === 'failed' || k === 'deferred') keep.add(id);
      }
      return keep;
    };
    const ownerOf = new Map<string, number>();
    for (const [id, e] of prevEntries) for (const p in e.files) ownerOf.set(p, id);
    const orphans = new Map([...journal].filter(([p]) => !ownerOf.has(p)));
    const hashLimit = pLimit(32);
    const current = new Map<string, string | null>();
    /** Paths where a folder stands instead of a file, or a file instead of a folder: their work packages fail as items. */
    const blocked = new Map<string, string>();
    const wanted = new Set<string>(desired.map((d) => d.path));
    const keepBefore = keepSet();
    for (const [id, e] of prevEntries) if (!keepBefore.has(id)) for (const p in e.files) wanted.add(p);
    for (const p of orphans.keys()) wanted.add(p);
    // Only paths that hold something are recorded (absent means nothing there): a cold sync
    // of tens of thousands of files keeps no map of nulls.
    await Promise.all(
      [...wanted].map((p) =>
        hashLimit(async () => {
          const h = await hash(p);
          if (typeof h === 'string') current.set(p, h);
          else if (h) blocked.set(p, h.blocked);
        }),
      ),
    );
    // Unchanged attachments whose path does not hold their bytes (a new path, or a file
    // lost on disk): copied from where the previous run put them, or downloaded again.
    const materialize = async (d: DesiredFile): Promise<void> => {
      if (d.content || current.get(d.path) === d.sha256 || blocked.has(d.path)) return;
      const from = Object.entries(prevEntries.get(d.workPackageId)?.files ?? {}).find(([p, h]) => h === d.sha256 && current.get(p) === h)?.[0];
      if (from) {
        d.content = { kind: 'copy', from };
        return;
      }
      const att = cached.get(d.path)!;
      try {
        const sink = stage.sink(att.id);
        await o.client.downloadAttachment(att, sink, { maxBytes: pctx.maxBytes });
        emit({ type: 'download', attachmentId: att.id, bytes: att.fileSize });
        const r = sink.result();
        d.content = { kind: 'staged', file: r.file };
        if (r.sha256 !== d.sha256) {
          // The server's bytes changed under the same md5/size: write what it has now.
          d.sha256 = r.sha256;
          const o2 = ledger.outcome(d.workPackageId);
          if (o2?.kind === 'mapped') o2.entry.files[d.path] = r.sha256;
        }
      } catch (e) {
        if (o.signal?.aborted) throw e;
        ledger.failed({ kind: 'attachment', source: d.source, workPackageId: d.workPackageId, attachmentId: att.id, message: `work package #${d.workPackageId}: ${d.path} is missing on disk and attachment #${att.id} could not be downloaded again (its last good files are kept; it is retried on the next run): ${(e as Error).message}` });
      }
    };
    await Promise.all(desired.map((d) => hashLimit(() => materialize(d))));
    const surviving = desired.filter((d) => ledger.outcome(d.workPackageId)?.kind === 'mapped');
    const result = planSync({
      desired: surviving,
      previous: prevEntries,
      keep: keepSet(),
      gone: ledger.ids('gone'),
      orphans,
      current,
      blocked,
      deleteThreshold: o.deleteThreshold ?? DEFAULTS.deleteThreshold,
      allowMassDelete: o.allowMassDelete ?? false,
    });
    for (const f of result.failures) ledger.failed(f);
    if (result.brake) brake(result.brake);
    const plan = result.plan;

    // --- next state -------------------------------------------------------------
    const sources: Record<string, ManifestSource> = {};
    const watermarks: Record<string, string | null> = {};
    const stamp = clock().toISOString();
    for (const spec of o.sources) {
      const name = spec.name;
      const got = collected.get(name);
      const src = resolved.find((r) => r.spec.name === name);
      const walked = onlyIds || !got || !src ? null : { fingerprint: src.fingerprint, names: namesNow.get(name)!, renamed: renamed.get(name)!.length > 0, watermark: got.watermark, walkedAll: got.walkedAll, ...(got.authors ? { authors: got.authors } : {}) };
      const failedIds = new Set((onlyIds ?? []).filter((id) => ledger.outcome(id)?.kind === 'failed'));
      const { state, watermark } = nextSourceState({ previous: previous?.sources[name], walked, held: ledger.holds(name), failed: ledger.retry(name), ...(onlyIds ? { targeted: { ids: onlyIds, failedIds } } : {}), clock: stamp });
      watermarks[name] = watermark;
      if (state) sources[name] = state;
    }
    if (onlyIds) for (const name in previous?.sources ?? {}) if (!(name in sources)) sources[name] = previous!.sources[name]!;
    const { entries, changed } = ledger.nextWorkPackages(result.released);
    const shown = facts.record(Object.values(entries).flatMap((e) => factRefs(e)), stamp);
    const next: Manifest = { version: MANIFEST_VERSION, profile: o.profile.name, sources, workPackages: entries, ...(shown.targets ? { targets: shown.targets } : {}), ...(shown.readAt ? { targetsReadAt: shown.readAt } : {}) };
    const manifestChanged =
      !previous || changed || previous.version !== MANIFEST_VERSION || stableJson(next.sources) !== stableJson(previous.sources) || stableJson(next.targets ?? null) !== stableJson(previous.targets ?? null) || next.targetsReadAt !== previous.targetsReadAt;

    // --- apply ------------------------------------------------------------------
    checkpoint();
    const applyStarted = performance.now();
    let touched: string[] = [];
    if (!dryRun) {
      emit({ type: 'phase', phase: 'apply' });
      // Owned journaled paths of work packages this run did not look at (no outcome) or
      // could not settle (failed, deferred): still unchecked, so they stay journaled.
      const carried = new Map([...journal].filter(([p]) => {
        const id = ownerOf.get(p);
        const kind = id === undefined ? 'orphan' : ledger.outcome(id)?.kind;
        return kind === undefined || kind === 'failed' || kind === 'deferred';
      }));
      touched = await applyPlan({ root, files: plan.files, staging: stage, pendingJournal: orphans, carriedJournal: carried, manifest: manifestChanged ? next : null, checkpoint, emit });
    }
    const applyMs = performance.now() - applyStarted;

    const bySource: Record<string, PlanCounts> = {};
    for (const s of o.sources) bySource[s.name] = countPlan(plan.files.filter((f) => f.source === s.name));
    if (dryRun) {
      await assertNotLocked(root);
      const manifestAfter = await readFile(path.join(root, MANIFEST_FILE)).catch(() => null);
      if (!(manifestBefore === null ? manifestAfter === null : manifestAfter?.equals(manifestBefore))) {
        throw new LockedError('a curate sync applied changes to this output root while the dry run was reading it; run the dry run again');
      }
    }
    emit({ type: 'phase', phase: 'done' });
    if (!dryRun) {
      await stage.dispose();
      disposed = true;
    }
    return report({ plan, dryRun, refused, root, stage, bySource, ledger, warnings, watermarks, touched, client: o.client, timings: { totalMs: performance.now() - started, fetchMs, applyMs }, isDisposed: () => disposed, markDisposed: () => (disposed = true) });
  } catch (e) {
    // Work packages still running (an abort rejects the run at the first one that sees it)
    // are given a moment to notice, so nothing writes into staging while it is removed.
    await Promise.race([Promise.allSettled(running), new Promise((r) => setTimeout(r, 500).unref())]);
    if (staging && !disposed) await staging.dispose().catch(() => undefined);
    // A work package the abort took off the queue rejects with p-limit's own AbortError:
    // the run ends with the signal's reason, as at every other checkpoint.
    if (o.signal?.aborted && e instanceof DOMException && e.name === 'AbortError') throw o.signal.reason;
    throw e;
  } finally {
    detach.forEach((d) => d());
    await lock?.release();
  }
}

function report(r: {
  plan: SyncReport['plan'];
  dryRun: boolean;
  refused: string | null;
  root: string;
  stage: Staging;
  bySource: Record<string, PlanCounts>;
  ledger: Ledger;
  warnings: string[];
  watermarks: Record<string, string | null>;
  touched: string[];
  client: SyncOptions['client'];
  timings: { totalMs: number; fetchMs: number; applyMs: number };
  isDisposed(): boolean;
  markDisposed(): void;
}): SyncReport {
  const { root, dryRun } = r;
  return {
    plan: r.plan,
    applied: !dryRun,
    dryRun,
    refused: r.refused,
    counts: { total: countPlan(r.plan.files), bySource: r.bySource, workPackages: r.ledger.counts() },
    errors: r.ledger.errors,
    warnings: r.warnings,
    timings: { totalMs: Math.round(r.timings.totalMs), fetchMs: Math.round(r.timings.fetchMs), applyMs: Math.round(r.timings.applyMs) },
    requests: r.client.stats(),
    watermarks: r.watermarks,
    touchedFiles: r.touched.sort(),
    async readOld(rel) {
      try {
        return await readFile(resolveInside(root, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async readNew(f: PlannedFile) {
      if (f.action === 'delete') return null;
      const c = f.content;
      // After a real run the staged bytes have moved into place.
      if (!dryRun || !c) return readFile(resolveInside(root, f.path));
      if (c.kind === 'staged') return readFile(c.file);
      return readFile(resolveInside(root, c.from));
    },
    async dispose() {
      if (!r.isDisposed()) {
        r.markDisposed();
        await r.stage.dispose();
      }
    },
  };
}

