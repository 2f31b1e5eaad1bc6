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
import { DesiredTable, type DesiredFile } from './desired.js';
import { firstAtOrAfter, planOf, PlannedTable } from './planned.js';
import type { SyncPlan } from './types.js';

export type { DesiredFile } from './desired.js';

export interface PreviousEntry {
  source: string;
  /** Path → sha256, as the previous manifest records them. */
  files: Readonly<Record<string, string>>;
}

export interface PlanInput {
  /** Files of the work packages mapped in this run (the plan reads them from the table: it does not copy them). */
  desired: readonly DesiredFile[] | DesiredTable;
  /**
   * The previous manifest's work packages: all of them, or those the plan can touch (every
   * one not kept, and the owner of every desired path), with `ownedBefore` then counting
   * the files of all of them.
   */
  previous: ReadonlyMap<number, PreviousEntry>;
  /** Files the previous manifest owns in all (for the mass-delete brake); default: those of `previous`. */
  ownedBefore?: number;
  /** Work packages whose previous files stay (unchanged, or failed in this run). */
  keep: ReadonlySet<number>;
  /** Work packages confirmed gone: their files are real deletions. */
  gone: ReadonlySet<number>;
  /** Path → sha256 written by an interrupted run that no manifest owns (write-ahead journal). */
  orphans: ReadonlyMap<string, string>;
  /** A targeted run: orphans nobody claims stay where they are (rule 4). */
  keepOrphans?: boolean;
  /** What each relevant path holds now (every desired path, every previous path of a work package not kept, every orphan); absent or null: nothing. */
  current: ReadonlyMap<string, string | null>;
  /**
   * Relevant paths curate can neither read nor replace, with why (a folder where a file
   * belongs, a file where a folder belongs). A work package that wants one fails as an
   * item; a file of the previous run that is blocked is not deleted (nothing there is curate's).
   */
  blocked?: ReadonlyMap<string, string>;
  deleteThreshold: number;
  allowMassDelete: boolean;
}

export interface PlanFailure {
  kind: 'collision' | 'hand-written' | 'blocked-path';
  workPackageId: number;
  source: string;
  message: string;
}

export interface PlanResult {
  plan: SyncPlan;
  /** The plan's files as the list they are made from (what the run reads: no array of them). */
  files: PlannedTable;
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

/** A claim on a path: a desired file's row (a cold sync claims tens of thousands: no object each), or a kept file. */
type Claim = number | KeptFile;
const isKept = (c: Claim): c is KeptFile => typeof c !== 'number';

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

  // The desired files are walked by row: in code V8 has not optimized (a run plans once),
  // `for…of` made a result object per step: ~8 MB for each pass over 200,000.
  const desired = input.desired instanceof DesiredTable ? input.desired : DesiredTable.of(input.desired);
  const n = desired.length;
  const idOf = (c: Claim): number => (isKept(c) ? c.workPackageId : desired.workPackageId(c));

  // 0. Paths that something else stands in (a folder where the file belongs, a file where
  // its folder belongs): never touched; the work package fails until it is moved away.
  // (A row's path is made when a lookup needs it: a cold sync has none to look up.)
  if (input.blocked?.size)
    for (let i = 0; i < n; i++) {
      const id = desired.workPackageId(i);
      if (failed.has(id)) continue;
      const path = desired.path(i);
      const why = input.blocked.get(path);
      if (why === undefined) continue;
      fail(
        id,
        desired.source(i),
        `work package #${id} maps to ${path}, but ${why}; it is left as it is (this work package's last good files are kept and it is retried every run): move it away`,
        'blocked-path',
      );
    }

  // 1. Hand-written files.
  if (input.current.size)
    for (let i = 0; i < n; i++) {
      const id = desired.workPackageId(i);
      if (failed.has(id)) continue;
      const path = desired.path(i);
      const cur = input.current.get(path) ?? null;
      if (cur === null || owner.has(path) || input.orphans.get(path) === cur || cur === desired.sha256(i)) continue;
      fail(
        id,
        desired.source(i),
        `work package #${id} maps to ${path}, which holds a file curate does not own (written by hand?); it is left as it is: move it away or change the work package`,
        'hand-written',
      );
    }

  // The rows in path order (ties: by row, so that a work package's first file at a path is
  // its claim). Rows wanting one path are then side by side: no map of every path, whose
  // keys would each be a path made again (a cold sync plans 200,000).
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => desired.comparePaths(x, y) || x - y);
  /** Where each run of rows wanting one path ends (exclusive), by its first position. */
  const groupEnd = new Int32Array(n);
  for (let k = n - 1; k >= 0; k--) groupEnd[k] = k + 1 < n && desired.comparePaths(order[k]!, order[k + 1]!) === 0 ? groupEnd[k + 1]! : k + 1;
  /** A group's claims: its rows of work packages that have not failed, one per work package. */
  const rowClaims = (k: number): Claim[] => {
    const list: Claim[] = [];
    for (let j = k; j < groupEnd[k]!; j++) {
      const r = order[j]!;
      const id = desired.workPackageId(r);
      if (!failed.has(id) && !list.some((c) => idOf(c) === id)) list.push(r);
    }
    return list;
  };
  /** The kept files' claims by path: those of kept and failed work packages, less what lower ids took. */
  const keptClaims = (): Map<string, KeptFile[]> => {
    const kept = new Map<string, KeptFile[]>();
    for (const [id, e] of input.previous) {
      if (!input.keep.has(id) && !failed.has(id)) continue;
      const lost = released.get(id);
      for (const p in e.files) {
        if (lost?.includes(p)) continue;
        const list = kept.get(p);
        const c: KeptFile = { workPackageId: id, source: e.source, sha256: e.files[p]!, kept: true };
        if (!list) kept.set(p, [c]);
        else if (!list.some((x) => x.workPackageId === id)) list.push(c);
      }
    }
    return kept;
  };

  // 2. Collisions, to a fixed point: a mapped work package that loses a path fails, and
  // its previous files then stay, which may take a path from a higher id in turn.
  let kept = new Map<string, KeptFile[]>();
  /** Kept files' paths that a mapped work package's row claims too (step 3 plans the row). */
  let claimedByRows = new Set<string>();
  for (;;) {
    kept = keptClaims();
    claimedByRows = new Set();
    // One collision per round: the one whose winner has the lowest id (ties: by path), so
    // the outcome depends on the claims, not on the order in which the work packages
    // happened to be mapped. That winner can lose only to a lower id, at a collision
    // decided before it (or at the kept files of a work package that fails later); deciding
    // another first could fail a work package for a path whose winner then fails itself
    // and writes nothing.
    let next: { p: string; list: Claim[]; low: number } | null = null;
    const consider = (path: () => string, list: Claim[]): void => {
      if (list.length < 2) return;
      let low = Infinity;
      for (const c of list) low = Math.min(low, idOf(c));
      if (next && low > next.low) return;
      const p = path();
      if (!next || low < next.low || p < next.p) next = { p, list, low };
    };
    for (let k = 0; k < n; k = groupEnd[k]!) {
      const list = rowClaims(k);
      if (kept.size && list.length) {
        const p = desired.path(order[k]!);
        const theirs = kept.get(p);
        if (theirs) {
          claimedByRows.add(p);
          for (const c of theirs) if (!list.some((x) => idOf(x) === c.workPackageId)) list.push(c);
        }
      }
      consider(() => desired.path(order[k]!), list);
    }
    kept.forEach((list, p) => {
      if (!claimedByRows.has(p)) consider(() => p, list);
    });
    if (!next) break;
    const { p, list } = next as { p: string; list: Claim[]; low: number };
    list.sort((x, y) => idOf(x) - idOf(y));
    const winner = idOf(list[0]!);
    for (const loser of list.slice(1)) {
      const loserId = idOf(loser);
      if (isKept(loser)) {
        // A kept work package's file taken by a lower id: it is no longer its file, and
        // the work package is an item error (retried, so it fails the same way every run).
        let lost = released.get(loserId);
        if (!lost) released.set(loserId, (lost = []));
        lost.push(p);
      }
      const message =
        `work package #${loserId} maps to ${p}, which work package #${winner} already writes (the lower id keeps it); change one of their subjects/URLs`;
      fail(loserId, isKept(loser) ? loser.source : desired.source(loser), message, 'collision');
    }
    // Re-run from the start: the claims of a newly failed work package change the picture.
  }

  // 3. What stays and what is written: each path's one claim, in path order.
  const files = new PlannedTable(desired);
  for (let k = 0; k < n; k = groupEnd[k]!) {
    const list = rowClaims(k);
    if (!list.length) continue;
    const row = list[0] as number;
    const cur = input.current.size ? (input.current.get(desired.path(row)) ?? null) : null;
    const action = cur === null ? 'create' : cur === desired.sha256(row) ? 'unchanged' : 'update';
    if (action !== 'unchanged' && !desired.hasContent(row)) throw new Error(`planner: ${desired.path(row)} must be written but no bytes were provided for it`);
    files.addDesired(row, action, cur);
  }
  kept.forEach((list, p) => {
    if (claimedByRows.has(p)) return;
    const c = list[0]!;
    files.addOther({ path: p, action: 'unchanged', source: c.source, workPackageId: c.workPackageId, sha256: c.sha256, oldSha256: c.sha256, binary: !p.endsWith('.md') });
  });
  /** Whether a path is some work package's this run: a row of one that has not failed, or a kept file. */
  const claimed = (p: string): boolean => {
    if (kept.has(p)) return true;
    // The rows wanting p, if any, start at the first row at or after it.
    const lo = firstAtOrAfter(n, (k) => desired.path(order[k]!), p);
    return lo < n && desired.path(order[lo]!) === p && rowClaims(lo).length > 0;
  };

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
      if (stays || claimed(p)) continue;
      const cur = input.current.get(p) ?? null;
      if (cur === null) continue;
      files.addOther({ path: p, action: 'delete', source: e.source, workPackageId: id, sha256: null, oldSha256: cur, binary: !p.endsWith('.md') });
      if (input.gone.has(id)) realDeletions += 1;
      if (p.endsWith('.md') && !deletedMarkdown.has(id)) deletedMarkdown.set(id, p);
    }
  }
  for (const [p, sha] of input.keepOrphans ? [] : input.orphans) {
    if (owner.has(p) || claimed(p)) continue;
    const cur = input.current.get(p) ?? null;
    if (cur !== null && cur === sha)
      files.addOther({ path: p, action: 'delete', source: '', workPackageId: 0, sha256: null, oldSha256: cur, binary: !p.endsWith('.md') });
  }

  // A work package whose markdown moved: shown as a rename.
  if (deletedMarkdown.size)
    for (let i = 0; i < files.length; i++) {
      if (files.action(i) !== 'create' || !files.path(i).endsWith('.md')) continue;
      const from = deletedMarkdown.get(files.workPackageId(i));
      if (from) files.setRenamedFrom(i, from);
    }
  files.sort();
  if (counted) ownedBefore = input.ownedBefore!;

  let brake: string | null = null;
  if (!input.allowMassDelete && realDeletions > 0 && ownedBefore > 0 && realDeletions / ownedBefore > input.deleteThreshold) {
    brake =
      `this run would delete ${realDeletions} of ${ownedBefore} synced files of work packages that are gone (${Math.round((100 * realDeletions) / ownedBefore)}%, above the ${Math.round(input.deleteThreshold * 100)}% limit); check the configuration and the server, then re-run with --allow-mass-delete if this is intended`;
  }
  return { plan: planOf(files), files, failures, failed, released, realDeletions, ownedBefore, brake };
}

/**
 * The previous entries a plan can touch: every one whose work package does not keep its
 * files, and the owner of every desired path (a collision, or a file taken back). The
 * files of all others stay as they are, whatever the plan decides: they are counted.
 */
export function previousInScope<E extends PreviousEntry>(
  all: Iterable<[number, E]>,
  desiredPaths: Iterable<string>,
  keeps: (id: number) => boolean,
  ownerOf: (path: string) => number | undefined,
  entry: (id: number) => E | undefined,
): { previous: Map<number, E>; ownedBefore: number; unlisted: Record<string, number> } {
  const previous = new Map<number, E>();
  for (const p of desiredPaths) {
    const owner = ownerOf(p);
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
