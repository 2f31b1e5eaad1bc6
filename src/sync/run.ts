// runSync: fetch → map → plan → (dry run: stop | apply) → report.
// The plan is built completely before the first write, so a dry run shows exactly what
// a real run would do, and a real run either applies it or stops before touching disk.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { CurateError, ConfigError, LockedError, OutputError, SafetyError } from '../errors.js';
import { probeImage } from '../mapping/image-probe.js';
import type { IdListing, OpenProjectClient, WorkPackageQuery } from '../openproject/types.js';
import { countPlan, type PlanCounts, type PlannedFile, type SyncPlan } from '../plan/types.js';
import type { Attachment, ContentProbe, MappedDocument, ProbedAttachment, Profile, Project, SourceSpec, WorkPackage } from '../types.js';
import { acquireLock, assertNotLocked } from '../output/lock.js';
import { emptyManifest, MANIFEST_FILE, readManifest, stableJson, TMP_DIR, writeManifest, type Manifest, type ManifestWorkPackage } from '../output/manifest.js';
import { createSymlinkGuard, resolveInside, unsafePathReason, type PathKind } from '../output/paths.js';
import { createStaging, sweepLeftovers, type Staging } from '../output/staging.js';
import { fsyncDir, moveIntoPlace } from '../output/writer.js';
import type { ItemError, SyncEvent } from './events.js';
import { closestName } from './suggest.js';

export interface SyncOptions {
  /** Absolute output root; every written path is confined to it. */
  outputRoot: string;
  sources: SourceSpec[];
  profile: Profile;
  client: OpenProjectClient;
  /** Injected clock for profiles (event buckets) and reports. */
  now: Date;
  /** Build and return the plan; write nothing under the output root. */
  dryRun?: boolean;
  /** Ignore the watermark and re-map every work package (unchanged files are still not rewritten). */
  full?: boolean;
  allowMassDelete?: boolean;
  /** Largest share of owned files one run may delete. @default 0.2 */
  deleteThreshold?: number;
  /** Overlap subtracted from the watermark against clock skew, seconds. @default 300 */
  overlapSeconds?: number;
  /** @default 50 MiB */
  maxAttachmentBytes?: number;
  /**
   * The client's request concurrency. Work packages are processed 4× as wide: each one
   * spends most of its time waiting for the client's (bounded) requests, so this keeps
   * every request slot busy without unbounded memory. @default 8
   */
  concurrency?: number;
  onEvent?: (e: SyncEvent) => void;
  /**
   * Targeted sync (`curate watch`): only these work package ids are read, mapped and
   * planned; every other owned work package is kept as it is, no watermark moves, and
   * nothing outside these ids is deleted. An id no source matches any more has its files
   * removed (after confirming it is gone). Absent: an ordinary sync.
   */
  onlyIds?: number[];
  /**
   * Stops the run at the next checkpoint (between work packages, downloads and writes)
   * with the signal's reason. Aborting while applying leaves every file old or new and
   * the manifest old; the next run converges.
   */
  signal?: AbortSignal;
}

export interface SyncReport {
  plan: SyncPlan;
  applied: boolean;
  dryRun: boolean;
  counts: { total: PlanCounts; bySource: Record<string, PlanCounts>; workPackages: { listed: number; mapped: number; skipped: number; failed: number } };
  errors: ItemError[];
  warnings: string[];
  timings: { totalMs: number; fetchMs: number; applyMs: number };
  requests: { total: number; byRoute: Record<string, number>; bytes: number; retries: number };
  watermarks: Record<string, string | null>;
  /** Paths (relative to the root) this run created, updated or deleted, plus the manifest when it changed. */
  touchedFiles: string[];
  /** The bytes a path holds now (before applying) and would hold after. For diffs and patches. */
  readOld(rel: string): Promise<Buffer | null>;
  readNew(file: PlannedFile): Promise<Buffer | null>;
  /** Remove dry-run staging. Safe to call twice. */
  dispose(): Promise<void>;
}

interface Desired {
  path: string;
  source: string;
  workPackageId: number;
  binary: boolean;
  /** Rendered texts are staged like downloads (see Staging.putText). */
  content: { kind: 'staged'; file: string; sha256: string } | { kind: 'cached'; sha256: string; attachment: Attachment };
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/**
 * sha256 of what a path holds now, or null when nothing is there. The guard (one per
 * phase) refuses links and has already looked at the path, so a file in a folder that
 * does not exist costs no syscall at all.
 */
async function currentHash(guard: (rel: string) => Promise<PathKind>, root: string, rel: string): Promise<string | null> {
  const kind = await guard(rel);
  if (kind === 'missing') return null;
  const abs = resolveInside(root, rel);
  if (kind !== 'file') throw new OutputError(`${abs} exists and is not a regular file`);
  try {
    return sha256(await readFile(abs));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

interface ResolvedSource {
  spec: SourceSpec;
  query: WorkPackageQuery;
}

async function resolveSources(client: OpenProjectClient, sources: SourceSpec[]): Promise<{ resolved: ResolvedSource[]; projects: Map<number, Project> }> {
  const [projects, types, statuses] = await Promise.all([client.listProjects(), client.listTypes(), client.listStatuses()]);
  const problems: string[] = [];
  const resolved = sources.map((spec, i) => {
    const projectIds = spec.projects.map((p) => {
      const hit = projects.find((x) => x.identifier === p || String(x.id) === p || x.name === p);
      if (!hit) problems.push(`sources.${i}.projects: no project "${p}" on the server${closestName(p, projects.map((x) => x.identifier))}`);
      return hit?.id ?? -1;
    });
    const typeIds = spec.types.map((t) => {
      const hit = types.find((x) => x.name === t);
      if (!hit) problems.push(`sources.${i}.types: no type "${t}" on the server${closestName(t, types.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    const statusIds = spec.statuses.map((s) => {
      const hit = statuses.find((x) => x.name === s);
      if (!hit) problems.push(`sources.${i}.statuses: no status "${s}" on the server${closestName(s, statuses.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    return { spec, query: { projectIds, typeIds, statusIds } };
  });
  if (problems.length) throw new ConfigError('the configuration names things the server does not have', problems);
  return { resolved, projects: new Map(projects.map((p) => [p.id, p])) };
}

export async function runSync(o: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const root = path.resolve(o.outputRoot);
  const dryRun = o.dryRun ?? false;
  const emit = (e: SyncEvent): void => o.onEvent?.(e);
  const errors: ItemError[] = [];
  const warnings: string[] = [];
  const fail = (e: ItemError): void => {
    errors.push(e);
    emit({ type: 'itemError', error: e });
  };
  const warn = (message: string): void => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };

  const problems = o.sources.flatMap((s, i) => o.profile.checkSource?.(s, i) ?? []);
  if (problems.length) throw new ConfigError('invalid sources for this profile', problems);

  const checkpoint = (): void => o.signal?.throwIfAborted();
  checkpoint();
  if (!dryRun) await mkdir(root, { recursive: true });
  // A dry run must create nothing, so it takes no lock; instead it refuses to read a root
  // a live sync is applying, and checks again at the end that no sync applied anything
  // meanwhile (lock and manifest unchanged), so its plan never mixes two states.
  const manifestBefore = dryRun ? await readFile(path.join(root, MANIFEST_FILE)).catch(() => null) : null;
  if (dryRun) await assertNotLocked(root);
  const lock = dryRun ? null : await acquireLock(root);
  let staging: Staging | null = null;
  let disposed = false;
  let detachAbort = (): void => undefined;
  try {
    if (lock?.tookOver) warn(`took over a stale lock left by pid ${lock.tookOver.pid} on ${lock.tookOver.hostname} (started ${lock.tookOver.startedAt}): ${lock.tookOver.reason}`);
    if (!dryRun) {
      const swept = await sweepLeftovers(root);
      if (swept) warn(`removed ${swept} leftover temporary file(s) of an interrupted run`);
    }
    const previous = await readManifest(root, o.profile.name);
    // Shallow: entries are replaced whole, never edited, so the previous ones can be shared.
    const next: Manifest = previous ? { ...previous, sources: { ...previous.sources }, workPackages: { ...previous.workPackages } } : emptyManifest(o.profile.name);
    staging = await createStaging(root, dryRun);
    const stage = staging;

    emit({ type: 'phase', phase: 'resolve' });
    const { resolved, projects } = await resolveSources(o.client, o.sources);

    const desired: Desired[] = [];
    /** Work packages whose files stay as the manifest says (not re-mapped). */
    const kept = new Set<number>();
    const remapped = new Map<number, ManifestWorkPackage>();
    const failedIds = new Map<string, Set<number>>();
    const listedBySource = new Map<string, Set<number>>();
    const watermarks: Record<string, string | null> = {};
    const wpCounts = { listed: 0, mapped: 0, skipped: 0, failed: 0 };
    const limit = pLimit((o.concurrency ?? 8) * 4);
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
    const onAbort = (): void => wakeListers(true);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    detachAbort = () => o.signal?.removeEventListener('abort', onAbort);
    const overlapMs = (o.overlapSeconds ?? 300) * 1000;
    const maxBytes = o.maxAttachmentBytes ?? 50 * 1024 * 1024;

    const processWorkPackage = async (src: ResolvedSource, wp: WorkPackage): Promise<void> => {
      const name = src.spec.name;
      const old = previous?.workPackages[String(wp.id)];
      checkpoint();
      try {
        const project = projects.get(wp.project.id);
        if (!project) throw new CurateError('MAPPING', `work package #${wp.id}: project #${wp.project.id} is not visible`);
        const attachments = await o.client.listAttachments(wp.id);
        const probed: ProbedAttachment[] = [];
        const staged = new Map<number, { file: string; sha256: string }>();
        const entry: ManifestWorkPackage = { source: name, updatedAt: wp.updatedAt, lockVersion: wp.lockVersion, files: {}, attachments: {} };
        await Promise.all(
          attachments.map(async (att) => {
            const use = o.profile.attachmentUse(att, wp);
            if (!use) return;
            const cached = old?.attachments[String(att.id)];
            if (use !== 'json' && cached && att.md5 !== null && cached.md5 === att.md5 && cached.size === att.fileSize) {
              probed.push({ attachment: att, use, probe: cached.probe as ContentProbe });
              entry.attachments[String(att.id)] = cached;
              return;
            }
            checkpoint();
            const sink = stage.sink(att.id);
            const result = await o.client.downloadAttachment(att, sink, { maxBytes });
            emit({ type: 'download', attachmentId: att.id, bytes: result.bytes });
            const { file, sha256: digest, head } = sink.result();
            staged.set(att.id, { file, sha256: digest });
            let probe: ContentProbe;
            if (use === 'image') probe = probeImage(head);
            else if (use === 'file') probe = { kind: 'file' };
            else {
              try {
                const bytes = result.bytes <= head.length ? head : await readFile(file);
                probe = { kind: 'json', value: JSON.parse(bytes.toString('utf8')) as unknown };
              } catch (e) {
                probe = { kind: 'json-invalid', error: (e as Error).message };
              }
            }
            probed.push({ attachment: att, use, probe });
            if (probe.kind === 'image' || probe.kind === 'file') entry.attachments[String(att.id)] = { md5: result.md5, size: result.bytes, sha256: digest, probe };
          }),
        );
        probed.sort((a, b) => a.attachment.id - b.attachment.id);
        const doc: MappedDocument = o.profile.map({ workPackage: wp, project, attachments: probed, allAttachments: attachments, source: src.spec, now: o.now });
        const mine: Desired[] = [];
        for (const f of doc.files) {
          const reason = unsafePathReason(f.path);
          if (reason) throw new CurateError('MAPPING', `work package #${wp.id}: output path ${JSON.stringify(f.path)} ${reason}`);
          if (f.kind === 'text') {
            const s = await stage.putText(f.text);
            mine.push({ path: f.path, source: name, workPackageId: wp.id, binary: false, content: { kind: 'staged', file: s.file, sha256: s.sha256 } });
            entry.files[f.path] = s.sha256;
          } else {
            const s = staged.get(f.attachmentId);
            const cached = entry.attachments[String(f.attachmentId)];
            const att = attachments.find((a) => a.id === f.attachmentId);
            if (s) mine.push({ path: f.path, source: name, workPackageId: wp.id, binary: true, content: { kind: 'staged', file: s.file, sha256: s.sha256 } });
            else if (cached && att) mine.push({ path: f.path, source: name, workPackageId: wp.id, binary: true, content: { kind: 'cached', sha256: cached.sha256, attachment: att } });
            else throw new CurateError('MAPPING', `work package #${wp.id}: file ${f.path} refers to attachment #${f.attachmentId}, which was not selected`);
            entry.files[f.path] = s?.sha256 ?? cached!.sha256;
          }
        }
        desired.push(...mine);
        remapped.set(wp.id, entry);
        wpCounts.mapped += 1;
        emit({ type: 'workPackage', source: name, id: wp.id, skipped: false });
      } catch (e) {
        // An abort is not the work package's fault: it ends the run, not just this item.
        if (o.signal?.aborted) {
          limit.clearQueue();
          wakeListers(true);
          throw e;
        }
        wpCounts.failed += 1;
        if (!failedIds.has(name)) failedIds.set(name, new Set());
        failedIds.get(name)!.add(wp.id);
        if (old) kept.add(wp.id); // its last good files stay, still owned
        fail({ source: name, workPackageId: wp.id, message: (e as Error).message });
      }
    };

    /** Folder → names in it (null: no such folder), read once per run. */
    const listings = new Map<string, Promise<Set<string> | null>>();
    const onDisk = async (rel: string): Promise<boolean> => {
      const dir = path.posix.dirname(rel);
      let names = listings.get(dir);
      if (!names) {
        names = readdir(path.join(root, dir)).then(
          (list) => new Set(list),
          () => null,
        );
        listings.set(dir, names);
      }
      return (await names)?.has(path.posix.basename(rel)) ?? false;
    };

    const fetchStarted = performance.now();
    emit({ type: 'phase', phase: 'list' });
    // The previous run's work packages by source, in one pass over the manifest.
    const ownedBySource = new Map<string, Map<number, ManifestWorkPackage>>();
    for (const id in previous?.workPackages ?? {}) {
      const w = previous!.workPackages[id]!;
      let m = ownedBySource.get(w.source);
      if (!m) ownedBySource.set(w.source, (m = new Map()));
      m.set(Number(id), w);
    }
    await Promise.all(
      resolved.map(async (src) => {
        const name = src.spec.name;
        const prevSource = previous?.sources[name];
        const incremental = !o.full && !!prevSource?.watermark;
        const owned = ownedBySource.get(name) ?? new Map<number, ManifestWorkPackage>();
        // Ids only: holding the work packages themselves would keep every one in memory until the source ends.
        const received = new Set<number>();
        const tasks: Promise<void>[] = [];
        let maxUpdated: string | null = prevSource?.watermark ?? null;
        const accept = (wp: WorkPackage): void => {
          if (received.has(wp.id)) return;
          received.add(wp.id);
          wpCounts.listed += 1;
          if (!maxUpdated || Date.parse(wp.updatedAt) > Date.parse(maxUpdated)) maxUpdated = wp.updatedAt;
          const old = owned.get(wp.id);
          if (!o.full && old && old.updatedAt === wp.updatedAt && old.lockVersion === wp.lockVersion && !prevSource?.retry.includes(wp.id)) {
            kept.add(wp.id);
            wpCounts.skipped += 1;
            emit({ type: 'workPackage', source: name, id: wp.id, skipped: true });
            return;
          }
          // Mapping and downloads start while later pages are still arriving.
          const task = limit(() => {
            wakeListers(false);
            return processWorkPackage(src, wp);
          });
          // Awaited with the source's other tasks below; an abort can end the source before
          // that, and its rejections must not go unhandled meanwhile.
          task.catch(() => undefined);
          tasks.push(task);
        };
        // A work package the server sent malformed: reported, its last good files kept, retried next run.
        const markInvalid = (bad: { id: number | null; message: string }): void => {
          wpCounts.failed += 1;
          if (bad.id !== null) {
            received.add(bad.id);
            if (!failedIds.has(name)) failedIds.set(name, new Set());
            failedIds.get(name)!.add(bad.id);
            if (owned.has(bad.id)) kept.add(bad.id);
          }
          fail({ source: name, ...(bad.id !== null ? { workPackageId: bad.id } : {}), message: bad.message });
        };
        const drain = async (q: WorkPackageQuery): Promise<void> => {
          for await (const page of o.client.listWorkPackages(q)) {
            checkpoint();
            emit({ type: 'page', source: name, offset: page.offset, total: page.total, workPackages: page.workPackages.length });
            page.workPackages.forEach(accept);
            for (const bad of page.invalid) markInvalid(bad);
            // Ask for more pages only when the queue has room: listing outpaces processing
            // (a page is one request, its work packages hundreds), so without this every
            // work package of the instance would wait in memory.
            await queueRoom();
          }
        };
        // The id listing finds deletions and moves cheaply, and proves the page walk complete.
        const idsPromise: Promise<IdListing> = o.client.listWorkPackageIds(src.query);
        if (incremental) {
          const since = new Date(Date.parse(prevSource!.watermark!) - overlapMs).toISOString();
          await drain({ ...src.query, updatedSince: since });
        } else {
          await drain(src.query);
        }
        const listing = await idsPromise;
        const listed = new Set(listing.ids);
        listedBySource.set(name, listed);
        // Anything listed that we neither received nor own unchanged: new in the query
        // without a newer updatedAt, failed last time, skipped by a shifting page walk, or
        // an owned work package whose files went missing on disk.
        const need: number[] = [];
        const retry = new Set(prevSource?.retry ?? []);
        const toCheck: number[] = [];
        for (const id of listing.ids) {
          if (received.has(id)) continue;
          const w = owned.get(id);
          if (!w || retry.has(id)) need.push(id);
          else if (incremental) toCheck.push(id);
        }
        // Owned files still on disk? Read from folder listings (one readdir per folder)
        // rather than one stat per file: 20,000 stats were most of a no-change sync.
        const missing = await Promise.all(toCheck.map(async (id) => (await Promise.all(Object.keys(owned.get(id)!.files).map(onDisk))).includes(false)));
        toCheck.forEach((id, i) => {
          if (missing[i]) need.push(id);
          else {
            kept.add(id);
            wpCounts.skipped += 1;
          }
        });
        for (let i = 0; i < need.length; i += 100) {
          const ids = need.slice(i, i + 100);
          for await (const page of o.client.listWorkPackages({ ...src.query, ids })) {
            page.workPackages.forEach((wp) => {
              // A work package fetched because its files went missing must be re-mapped.
              owned.delete(wp.id);
              accept(wp);
            });
            page.invalid.forEach((bad) => {
              if (bad.id === null || !received.has(bad.id)) markInvalid(bad);
            });
          }
        }
        await Promise.all(tasks);
        const failed = failedIds.get(name);
        watermarks[name] = failed?.size ? (prevSource?.watermark ?? null) : maxUpdated;
        next.sources[name] = { watermark: watermarks[name]!, retry: failed ? [...failed].sort((a, b) => a - b) : [] };
        if (listing.total === 0 && owned.size > 0 && !o.allowMassDelete) {
          throw new SafetyError(`source "${name}": the server returned no work packages, but ${owned.size} are synced; refusing to delete them all (check the filters and the key's permissions, or pass --allow-mass-delete)`);
        }
      }),
    );
    const fetchMs = performance.now() - fetchStarted;

    // --- plan -------------------------------------------------------------------
    checkpoint();
    emit({ type: 'phase', phase: 'plan' });
    // Two work packages that want the same path: the lower id keeps it (deterministic).
    desired.sort((a, b) => a.path.localeCompare(b.path) || a.workPackageId - b.workPackageId);
    const claimed = new Map<string, Desired>();
    for (const d of desired) {
      const first = claimed.get(d.path);
      if (first && first.workPackageId !== d.workPackageId) {
        fail({ source: d.source, workPackageId: d.workPackageId, message: `work package #${d.workPackageId} maps to ${d.path}, which work package #${first.workPackageId} already writes; change one of their subjects/URLs` });
        remapped.delete(d.workPackageId);
        if (previous?.workPackages[String(d.workPackageId)]) kept.add(d.workPackageId);
        continue;
      }
      claimed.set(d.path, d);
    }
    const finalDesired = [...claimed.values()].filter((d) => remapped.has(d.workPackageId));
    // Not needed past this point; with 20,000 files they are megabytes the plan would keep alive.
    desired.length = 0;

    // Ownership after this run.
    let dropped = 0;
    for (const id of Object.keys(next.workPackages)) {
      if (!kept.has(Number(id))) {
        delete next.workPackages[id];
        dropped += 1;
      }
    }
    for (const [id, entry] of remapped) next.workPackages[String(id)] = entry;
    const newOwned = new Map<string, number>();
    for (const [id, w] of Object.entries(next.workPackages)) for (const rel of Object.keys(w.files)) newOwned.set(rel, Number(id));

    /** A work package that failed after listing: the source's watermark holds and it is retried. */
    const holdSource = (name: string, id: number): void => {
      wpCounts.failed += 1;
      const retry = new Set(next.sources[name]?.retry ?? []);
      retry.add(id);
      watermarks[name] = previous?.sources[name]?.watermark ?? null;
      next.sources[name] = { watermark: watermarks[name], retry: [...retry].sort((a, b) => a - b) };
    };
    const files: PlannedFile[] = [];
    // Checked while planning, before anything is read or written: a symlinked folder
    // must neither leak outside bytes into a diff nor stop a run halfway through apply.
    const planGuard = createSymlinkGuard(root);
    // Files are independent here: read and hashed many at a time (a cold sync plans
    // tens of thousands), then put in path order below.
    const planLimit = pLimit(32);
    const planOne = async (d: Desired): Promise<PlannedFile | null> => {
      const current = await currentHash(planGuard, root, d.path);
      const planned: PlannedFile = { path: d.path, action: current === null ? 'create' : current === d.content.sha256 ? 'unchanged' : 'update', source: d.source, workPackageId: d.workPackageId, sha256: d.content.sha256, oldSha256: current, binary: d.binary };
      if (planned.action !== 'unchanged') {
        if (d.content.kind === 'staged') planned.content = { kind: 'staged', file: d.content.file };
        else {
          // An attachment that did not change but must land at a new path: copy it from
          // where we already have it, or download it again if it is gone.
          const oldEntry = previous?.workPackages[String(d.workPackageId)];
          const from = Object.entries(oldEntry?.files ?? {}).find(([, h]) => h === d.content.sha256)?.[0];
          if (from && (await currentHash(planGuard, root, from)) === d.content.sha256) planned.content = { kind: 'copy', from };
          else {
            try {
              const sink = stage.sink(d.content.attachment.id);
              await o.client.downloadAttachment(d.content.attachment, sink, { maxBytes });
              emit({ type: 'download', attachmentId: d.content.attachment.id, bytes: d.content.attachment.fileSize });
              const r = sink.result();
              if (r.sha256 !== d.content.sha256) {
                // The server's bytes changed under the same md5/size: write what it has now.
                planned.sha256 = r.sha256;
                next.workPackages[String(d.workPackageId)]!.files[d.path] = r.sha256;
              }
              planned.content = { kind: 'staged', file: r.file };
            } catch (e) {
              if (o.signal?.aborted) throw e;
              // One lost file whose attachment cannot be fetched again is an item error, not
              // the end of the run: the file stays missing, the work package is retried.
              fail({ source: d.source, workPackageId: d.workPackageId, attachmentId: d.content.attachment.id, message: `work package #${d.workPackageId}: ${d.path} is missing on disk and attachment #${d.content.attachment.id} could not be downloaded again: ${(e as Error).message}` });
              holdSource(d.source, d.workPackageId);
              return null;
            }
          }
        }
      }
      return planned;
    };
    for (const planned of await Promise.all(finalDesired.map((d) => planLimit(() => planOne(d))))) if (planned) files.push(planned);
    // Files of kept work packages stay as they are.
    for (const id of kept) {
      const w = next.workPackages[String(id)];
      if (!w) continue;
      for (const [rel, h] of Object.entries(w.files)) {
        if (claimed.has(rel)) continue;
        files.push({ path: rel, action: 'unchanged', source: w.source, workPackageId: id, sha256: h, oldSha256: h, binary: !rel.endsWith('.md') });
      }
    }
    // Deletions: previously owned files nobody owns any more. Hand-written files are never in the manifest.
    const gone = Object.entries(previous?.workPackages ?? {}).flatMap(([id, w]) => Object.keys(w.files).filter((rel) => !newOwned.has(rel) && !claimed.has(rel)).map((rel) => ({ id: Number(id), source: w.source, rel })));
    const deletions = await Promise.all(
      gone.map(({ id, source, rel }) =>
        planLimit(async (): Promise<PlannedFile | null> => {
          const current = await currentHash(planGuard, root, rel);
          return current === null ? null : { path: rel, action: 'delete', source, workPackageId: id, sha256: null, oldSha256: current, binary: !rel.endsWith('.md') };
        }),
      ),
    );
    // A work package whose markdown moved: show it as a rename.
    const deletedMarkdown = new Map<number, string>();
    for (const f of deletions) {
      if (!f) continue;
      files.push(f);
      if (f.path.endsWith('.md') && !deletedMarkdown.has(f.workPackageId)) deletedMarkdown.set(f.workPackageId, f.path);
    }
    for (const f of files) {
      if (f.action !== 'create' || !f.path.endsWith('.md')) continue;
      const from = deletedMarkdown.get(f.workPackageId);
      if (from) f.renamedFrom = from;
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const plan: SyncPlan = { files };

    // Safety brake on deletions.
    const deletes = files.filter((f) => f.action === 'delete').length;
    const ownedBefore = Object.values(previous?.workPackages ?? {}).reduce((n, w) => n + Object.keys(w.files).length, 0);
    const threshold = o.deleteThreshold ?? 0.2;
    if (!o.allowMassDelete && deletes > 0 && ownedBefore > 0 && deletes / ownedBefore > threshold) {
      throw new SafetyError(`this run would delete ${deletes} of ${ownedBefore} synced files (${Math.round((100 * deletes) / ownedBefore)}%, above the ${Math.round(threshold * 100)}% limit); check the configuration and the server, then re-run with --allow-mass-delete if this is intended`);
    }

    // --- apply --------------------------------------------------------------------
    checkpoint();
    const applyStarted = performance.now();
    const touched: string[] = [];
    if (!dryRun) {
      emit({ type: 'phase', phase: 'apply' });
      // Staged files are fsynced in the background during the fetch; none is moved into
      // place before all of them are durable.
      await stage.settle();
      const tmpDir = path.join(root, TMP_DIR);
      const stagedUses = new Map<string, number>();
      for (const f of files) if (f.content?.kind === 'staged') stagedUses.set(f.content.file, (stagedUses.get(f.content.file) ?? 0) + 1);
      // Files are independent, so they are written in parallel (their fsyncs overlap); each
      // folder is made once and fsynced once at the end rather than once per file.
      const dirs = new Set<string>();
      const made = new Map<string, Promise<unknown>>();
      const ensureDir = (d: string): Promise<unknown> => {
        let p = made.get(d);
        if (!p) made.set(d, (p = mkdir(d, { recursive: true })));
        return p;
      };
      const applyGuard = createSymlinkGuard(root);
      const writeLimit = pLimit(32);
      await ensureDir(tmpDir);
      // Only what changes goes through the limiter: a no-change run plans 20,000 unchanged files.
      const writes = files.filter((f): f is PlannedFile & { action: 'create' | 'update' } => f.action === 'create' || f.action === 'update');
      await Promise.all(
        writes.map((f) =>
          writeLimit(async () => {
            checkpoint();
            const abs = resolveInside(root, f.path);
            await applyGuard(f.path);
            await ensureDir(path.dirname(abs));
            const c = f.content!;
            if (c.kind === 'staged') {
              const left = (stagedUses.get(c.file) ?? 1) - 1;
              stagedUses.set(c.file, left);
              await moveIntoPlace(c.file, abs, left > 0, tmpDir);
            } else await moveIntoPlace(resolveInside(root, c.from), abs, true, tmpDir);
            dirs.add(path.dirname(abs));
            touched.push(f.path);
            emit({ type: 'write', path: f.path, action: f.action });
          }),
        ),
      );
      await Promise.all([...dirs].map((d) => writeLimit(() => fsyncDir(d))));
      for (const f of files) {
        if (f.action !== 'delete') continue;
        checkpoint();
        await applyGuard(f.path);
        await unlink(resolveInside(root, f.path)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        await pruneEmptyDirs(root, path.posix.dirname(f.path));
        touched.push(f.path);
        emit({ type: 'write', path: f.path, action: 'delete' });
      }
      // Serialising 10,000 entries only to find the same bytes is most of a no-change
      // run's cost: the manifest can only differ if an entry or a source's state did.
      const manifestChanged = !previous || dropped > 0 || remapped.size > 0 || stableJson(next.sources) !== stableJson(previous.sources);
      if (manifestChanged && (await writeManifest(root, next))) touched.push('.curate/manifest.json');
      await rm(tmpDir, { recursive: true, force: true });
    }
    const applyMs = performance.now() - applyStarted;

    const bySource: Record<string, PlanCounts> = {};
    for (const s of o.sources) bySource[s.name] = countPlan(files.filter((f) => f.source === s.name));
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
    const stagingRef = stage;
    return {
      plan,
      applied: !dryRun,
      dryRun,
      counts: { total: countPlan(files), bySource, workPackages: wpCounts },
      errors,
      warnings,
      timings: { totalMs: Math.round(performance.now() - started), fetchMs: Math.round(fetchMs), applyMs: Math.round(applyMs) },
      requests: o.client.stats(),
      watermarks,
      touchedFiles: touched.sort(),
      async readOld(rel) {
        try {
          return await readFile(resolveInside(root, rel));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw e;
        }
      },
      async readNew(f) {
        if (f.action === 'delete') return null;
        const c = f.content;
        // After a real run the staged bytes have moved into place.
        if (!dryRun) return readFile(resolveInside(root, f.path));
        if (!c) return readFile(resolveInside(root, f.path));
        if (c.kind === 'staged') return readFile(c.file);
        return readFile(resolveInside(root, c.from));
      },
      async dispose() {
        if (!disposed) {
          disposed = true;
          await stagingRef.dispose();
        }
      },
    };
  } catch (e) {
    if (staging && !disposed) await staging.dispose().catch(() => undefined);
    throw e;
  } finally {
    detachAbort();
    await lock?.release();
  }
}

/** Remove folders a deletion left empty, up to (not including) the root. */
async function pruneEmptyDirs(root: string, relDir: string): Promise<void> {
  let dir = relDir;
  while (dir && dir !== '.' && dir !== '/') {
    const abs = resolveInside(root, dir);
    try {
      // rmdir refuses a folder that is not empty (ENOTEMPTY): no need to list thousands of names first.
      await rmdir(abs);
    } catch {
      return;
    }
    dir = path.posix.dirname(dir);
  }
}
