// The reference planner for test/unit/plan-reference.test.ts: src/plan/plan.ts as it was
// before the plan's files became column tables (89593a3), one object per desired and per
// planned file and a map of every claimed path. It is the model the tables must plan
// exactly as (files, failures and their order, releases, counts, brake); it is not used
// by curate. Its own rules (below, unchanged) are those of docs and plan.ts.
// The planner: what the output tree must become, from what this run mapped, what the
// previous run owned and what the disk holds now. Pure (no I/O, no clock): the caller
// reads the disk and hands the hashes in, so every ownership rule lives here and is
// tested with tables (test/unit/plan.test.ts).
//
// The rules, in the order they apply:
// 0. A path where a folder stands instead of a file (or a file instead of one of its
//    folders) is never touched: the work package that wants it fails (item error).
// 1. A path holding bytes that no manifest owns (a hand-written file) is never
//    overwritten: the work package that wants it fails (item error), unless the bytes
//    are exactly what it would write, or an interrupted run of curate wrote them (the
//    write-ahead journal says so).
// 2. Two work packages that want one path: the lower id keeps it, whatever ran first and
//    whether either changed; the other fails, every run, until one of them changes. A
//    work package that fails keeps its last good files (those not taken by a lower id).
//    Chained collisions are decided lowest winner first, so the order in which the work
//    packages were mapped does not change who fails.
// 3. Every file a surviving work package wants is created, updated or left unchanged by
//    comparing hashes; files of kept work packages stay as they are.
// 4. A file the previous run owned that nobody wants any more is deleted; so is a file an
//    interrupted run wrote (journal) that nobody owns, if it still holds those bytes, but
//    not in a targeted run (`keepOrphans`): having looked at a few work packages, it cannot
//    tell that none of the others wants it (the interrupted run wrote it for one of them).
//    The file stays, journaled, for the next ordinary run.
// 5. Only deletions of confirmed-gone work packages count for the mass-delete brake: a
//    rename or a re-mapped source moves files, it does not lose content.
import type { DesiredFile, PlanFailure, PlanInput as SrcPlanInput, PreviousEntry } from '../../src/plan/plan.js';
import type { PlannedFile, SyncPlan } from '../../src/plan/types.js';

export type { DesiredFile, PreviousEntry, PlanFailure } from '../../src/plan/plan.js';

/** The planner's input, with the desired files as an array of objects. */
export type PlanInput = Omit<SrcPlanInput, 'desired'> & { desired: readonly DesiredFile[] };

export interface PlanResult {
  plan: SyncPlan;
  /** Work packages that fail because of the plan (collisions, hand-written files). */
  failures: PlanFailure[];
  /** Work packages whose desired files were dropped (they failed here): keep their previous entry. */
  failed: Set<number>;
  /** Kept work packages' paths that went to a lower id: remove them from their manifest entry. */
  released: Map<number, string[]>;
  /** Files of confirmed-gone work packages this plan deletes, and files owned before the run. */
  realDeletions: number;
  ownedBefore: number;
  /** Why the run must stop before applying (too many real deletions), or null. */
  brake: string | null;
}

/** A kept work package's existing file, claiming its path. */
interface KeptFile {
  workPackageId: number;
  source: string;
  sha256: string;
  kept: true;
}

/** A claim on a path: a desired file itself (a cold sync claims tens of thousands: no wrapper object each), or a kept file. */
type Claim = DesiredFile | KeptFile;
const isKept = (c: Claim): c is KeptFile => 'kept' in c;

/** The order of a plan's files: by path, by code unit. */
export const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export function planSync(input: PlanInput): PlanResult {
  const failures: PlanFailure[] = [];
  const failed = new Set<number>();
  const released = new Map<number, string[]>();
  const fail = (id: number, source: string, message: string, kind: PlanFailure['kind']): void => {
    if (failed.has(id)) return;
    failed.add(id);
    failures.push({ kind, workPackageId: id, source, message });
  };
  const owner = new Map<string, number>();
  for (const [id, e] of input.previous) for (const p in e.files) owner.set(p, id);

  // The desired files are walked by index: in code V8 has not optimized (a run plans
  // once), `for…of` made a result object per step: ~8 MB for each pass over 200,000.
  const { desired } = input;

  // 0. Paths that something else stands in (a folder where the file belongs, a file where
  // its folder belongs): never touched; the work package fails until it is moved away.
  for (let i = 0; i < desired.length; i++) {
    const d = desired[i]!;
    const why = input.blocked?.get(d.path);
    if (why === undefined || failed.has(d.workPackageId)) continue;
    fail(
      d.workPackageId,
      d.source,
      `work package #${d.workPackageId} maps to ${d.path}, but ${why}; it is left as it is (this work package's last good files are kept and it is retried every run): move it away`,
      'blocked-path',
    );
  }

  // 1. Hand-written files.
  for (let i = 0; i < desired.length; i++) {
    const d = desired[i]!;
    if (failed.has(d.workPackageId)) continue;
    const cur = input.current.get(d.path) ?? null;
    if (cur === null || cur === d.sha256 || owner.has(d.path) || input.orphans.get(d.path) === cur) continue;
    fail(
      d.workPackageId,
      d.source,
      `work package #${d.workPackageId} maps to ${d.path}, which holds a file curate does not own (written by hand?); it is left as it is: move it away or change the work package`,
      'hand-written',
    );
  }

  // 2. Collisions, to a fixed point: a mapped work package that loses a path fails, and
  // its previous files then stay, which may take a path from a higher id in turn.
  // A path's claim, or its claims when several work packages want it: an array per path
  // only where there is a collision (a cold sync plans tens of thousands of paths).
  let claims = new Map<string, Claim | Claim[]>();
  for (;;) {
    claims = new Map();
    const claim = (p: string, c: Claim): void => {
      const had = claims.get(p);
      if (!had) claims.set(p, c);
      else if (!Array.isArray(had)) {
        if (had.workPackageId !== c.workPackageId) claims.set(p, [had, c]);
      } else if (!had.some((x) => x.workPackageId === c.workPackageId)) had.push(c);
    };
    for (let i = 0; i < desired.length; i++) if (!failed.has(desired[i]!.workPackageId)) claim(desired[i]!.path, desired[i]!);
    for (const [id, e] of input.previous) {
      if (!input.keep.has(id) && !failed.has(id)) continue;
      const lost = released.get(id);
      for (const p in e.files) if (!lost?.includes(p)) claim(p, { workPackageId: id, source: e.source, sha256: e.files[p]!, kept: true });
    }
    // One collision per round: the one whose winner has the lowest id (ties: by path), so
    // the outcome depends on the claims, not on their order in the map (the order in which
    // the work packages happened to be mapped). That winner can lose only to a lower id, at
    // a collision decided before it (or at the kept files of a work package that fails
    // later); deciding another first could fail a work package for a path whose winner then
    // fails itself and writes nothing.
    // forEach, not `for…of` over the entries: unoptimized, that made an array per entry
    // (200,000 in a cold sync, each round).
    let next: { p: string; list: Claim[]; low: number } | null = null;
    claims.forEach((list, p) => {
      if (!Array.isArray(list)) return;
      let low = Infinity;
      for (const c of list) low = Math.min(low, c.workPackageId);
      if (!next || low < next.low || (low === next.low && p < next.p)) next = { p, list, low };
    });
    if (!next) break;
    const { p, list } = next as { p: string; list: Claim[]; low: number };
    list.sort((a, b) => a.workPackageId - b.workPackageId);
    const winner = list[0]!;
    for (const loser of list.slice(1)) {
      if (isKept(loser)) {
        // A kept work package's file taken by a lower id: it is no longer its file, and
        // the work package is an item error (retried, so it fails the same way every run).
        let lost = released.get(loser.workPackageId);
        if (!lost) released.set(loser.workPackageId, (lost = []));
        lost.push(p);
      }
      const message =
        `work package #${loser.workPackageId} maps to ${p}, which work package #${winner.workPackageId} already writes (the lower id keeps it); change one of their subjects/URLs`;
      fail(loser.workPackageId, loser.source, message, 'collision');
    }
    // Re-run from the start: the claims of a newly failed work package change the picture.
  }

  // 3. What stays and what is written.
  const files: PlannedFile[] = [];
  claims.forEach((held, p) => {
    const c = Array.isArray(held) ? held[0]! : held;
    if (isKept(c)) {
      files.push({
        path: p,
        action: 'unchanged',
        source: c.source,
        workPackageId: c.workPackageId,
        sha256: c.sha256,
        oldSha256: c.sha256,
        binary: !p.endsWith('.md'),
      });
      return;
    }
    const d = c;
    const cur = input.current.get(p) ?? null;
    const action = cur === null ? 'create' : cur === d.sha256 ? 'unchanged' : 'update';
    if (action === 'unchanged') {
      files.push({ path: p, action, source: d.source, workPackageId: d.workPackageId, sha256: d.sha256, oldSha256: cur, binary: d.binary });
      return;
    }
    if (!d.content) throw new Error(`planner: ${p} must be written but no bytes were provided for it`);
    // `content` in the literal, not added after: a property added later gave each planned
    // file a second object (V8's out-of-object property store), 2.3 MB at 30,000 (a heap
    // snapshot of a cold sync as it applied).
    files.push({ path: p, action, source: d.source, workPackageId: d.workPackageId, sha256: d.sha256, oldSha256: cur, binary: d.binary, content: d.content });
  });

  // 4. Deletions.
  let realDeletions = 0;
  let ownedBefore = 0;
  const counted = input.ownedBefore !== undefined;
  const deletedMarkdown = new Map<number, string>();
  for (const [id, e] of input.previous) {
    // A kept or failed work package's files are all claimed (by itself, or by the lower id
    // that took one), so only files of mapped and gone work packages can be deleted.
    const stays = input.keep.has(id) || failed.has(id);
    for (const p in e.files) {
      if (!counted) ownedBefore += 1;
      if (stays || claims.has(p)) continue;
      const cur = input.current.get(p) ?? null;
      if (cur === null) continue;
      files.push({ path: p, action: 'delete', source: e.source, workPackageId: id, sha256: null, oldSha256: cur, binary: !p.endsWith('.md') });
      if (input.gone.has(id)) realDeletions += 1;
      if (p.endsWith('.md') && !deletedMarkdown.has(id)) deletedMarkdown.set(id, p);
    }
  }
  for (const [p, sha] of input.keepOrphans ? [] : input.orphans) {
    if (claims.has(p) || owner.has(p)) continue;
    const cur = input.current.get(p) ?? null;
    if (cur !== null && cur === sha)
      files.push({ path: p, action: 'delete', source: '', workPackageId: 0, sha256: null, oldSha256: cur, binary: !p.endsWith('.md') });
  }

  // A work package whose markdown moved: shown as a rename.
  for (const f of files) {
    if (f.action !== 'create' || !f.path.endsWith('.md')) continue;
    const from = deletedMarkdown.get(f.workPackageId);
    if (from) f.renamedFrom = from;
  }
  files.sort(byPath);
  if (counted) ownedBefore = input.ownedBefore!;

  let brake: string | null = null;
  if (!input.allowMassDelete && realDeletions > 0 && ownedBefore > 0 && realDeletions / ownedBefore > input.deleteThreshold) {
    brake =
      `this run would delete ${realDeletions} of ${ownedBefore} synced files of work packages that are gone (${Math.round((100 * realDeletions) / ownedBefore)}%, above the ${Math.round(input.deleteThreshold * 100)}% limit); check the configuration and the server, then re-run with --allow-mass-delete if this is intended`;
  }
  return { plan: { files }, failures, failed, released, realDeletions, ownedBefore, brake };
}

/**
 * The previous entries a plan can touch: every one whose work package does not keep its
 * files, and the owner of every desired path (a collision, or a file taken back). The
 * files of all others stay as they are, whatever the plan decides: they are counted.
 */
export function previousInScope<E extends PreviousEntry>(
  all: Iterable<[number, E]>,
  desired: readonly DesiredFile[],
  keeps: (id: number) => boolean,
  ownerOf: (path: string) => number | undefined,
  entry: (id: number) => E | undefined,
): { previous: Map<number, E>; ownedBefore: number; unlisted: Record<string, number> } {
  const previous = new Map<number, E>();
  for (const d of desired) {
    const owner = ownerOf(d.path);
    if (owner !== undefined && !previous.has(owner)) previous.set(owner, entry(owner)!);
  }
  let ownedBefore = 0;
  const unlisted: Record<string, number> = {};
  for (const [id, e] of all) {
    let n = 0;
    for (const _ in e.files) n += 1;
    ownedBefore += n;
    if (!keeps(id)) previous.set(id, e);
    else if (!previous.has(id) && n) unlisted[e.source] = (unlisted[e.source] ?? 0) + n;
  }
  return { previous, ownedBefore, unlisted };
}
