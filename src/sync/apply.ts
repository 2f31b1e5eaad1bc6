// Apply a plan: journal first, then files into place (renames of durable staged files),
// folders fsynced, deletions, empty folders pruned, the state, and the journal removed.
// Every file is old or new at any instant; a run killed anywhere converges on the next.
import { rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { removeJournal, writeJournal, writeJournalOf, type Journal } from '../output/journal.js';
import { stageState, TMP_DIR, type PreviousShards, type ShardedEntries, type StateCache, type StateTop, type WrittenState } from '../output/manifest.js';
import { createSymlinkGuard, resolveInside } from '../output/paths.js';
import type { Staging } from '../output/staging.js';
import { fsyncDir, makeDir, moveIntoPlace } from '../output/writer.js';
import { byPath } from '../plan/plan.js';
import { filesOf, listOf, type PlannedFiles } from '../plan/planned.js';
import type { PlannedFile, SyncPlan } from '../plan/types.js';
import type { SyncEvent } from './events.js';
import { carriedJournal } from './keep.js';
import type { Ledger } from './ledger.js';
import type { NextManifest } from './next-manifest.js';
import { eachLimited } from './pool.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';

const isArray = (files: readonly PlannedFile[] | PlannedFiles): files is readonly PlannedFile[] => Array.isArray(files);

/** Files written, deleted or fsynced at once. */
const WIDTH = 32;

export interface ApplyInput {
  root: string;
  files: readonly PlannedFile[] | PlannedFiles;
  staging: Staging;
  /** What an earlier interrupted run journaled and this plan did not settle (kept in the new journal). */
  pendingJournal: Journal;
  /**
   * Owned paths an earlier interrupted run journaled that this run did not check (their
   * work packages were not looked at: a targeted sync, a failed or skipped source): they
   * stay journaled after this run, so a later run still compares them with the manifest.
   */
  carriedJournal: Journal;
  /** Whether the run found a journal (a run killed before removing it): settled here even when nothing is written. */
  journalFound: boolean;
  /**
   * The next state, or null when it did not change: manifest.json's keys, the entries by
   * shard, the shards whose entries changed (null: all of them) and the shards' digests as read.
   */
  state: {
    top: StateTop;
    entries: ShardedEntries;
    dirty: ReadonlySet<number> | null;
    previousShards: PreviousShards | null;
    cache?: StateCache | undefined;
  } | null;
  checkpoint(): void;
  emit(e: SyncEvent): void;
}

/**
 * A real run's apply phase: the plan, the journal an interrupted run left (what this plan
 * settles, and what it carries for work packages it did not check) and the next state
 * (written only when it changed). Returns the paths touched, and the state written.
 */
export async function applyRun(
  ctx: RunContext,
  r: {
    plan: SyncPlan;
    staging: Staging;
    /** The journal found at the start, its paths' owners in the previous state, and the paths none owns. */
    journal: Journal;
    journalOwners: ReadonlyMap<string, number>;
    orphans: Journal;
    /** A targeted run: the orphans it did not claim stay journaled (keep.ts). */
    targeted: boolean;
    ledger: Ledger;
    previous: PreviousState;
    next: NextManifest;
  },
): Promise<Applied> {
  const { plan, next, previous } = r;
  const files = filesOf(plan);
  const claimed = r.targeted ? { claimed: new Set([...files].filter((f) => f.action !== 'delete').map((f) => f.path)) } : null;
  return applyPlan({
    root: ctx.root,
    files,
    staging: r.staging,
    pendingJournal: r.orphans,
    carriedJournal: carriedJournal(r.journal, r.journalOwners, r.ledger, claimed),
    journalFound: r.journal.size > 0,
    state: next.changed
      ? {
          top: next.top,
          entries: next.entries,
          dirty: next.dirty,
          previousShards: previous.shards && { digests: previous.shards, summaries: previous.summaries },
          cache: ctx.options.stateCache,
        }
      : null,
    checkpoint: ctx.checkpoint,
    emit: ctx.emit,
  });
}

/**
 * What apply did: the state's files it changed (the plan's files it wrote and deleted are
 * those of the plan: a list of their paths at 100,000 work packages held 200,000 strings),
 * and the state written (null: none).
 */
export interface Applied {
  stateTouched: string[];
  state: WrittenState | null;
}

export async function applyPlan(a: ApplyInput): Promise<Applied> {
  const { root, staging } = a;
  // The files are read from the list by index (a cold sync's plan makes no object per file).
  const files = isArray(a.files) ? listOf(a.files) : a.files;
  const writes: number[] = [];
  const deletes: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const action = files.action(i);
    if (action === 'create' || action === 'update') writes.push(i);
    else if (action === 'delete') deletes.push(i);
  }
  // Told before anything is written (the CLI reads the pages it will name while they exist).
  if (deletes.length) a.emit({ type: 'deleting', paths: deletes.map((i) => files.path(i)) });
  // A journal found at the start is settled too: a run killed after its state was written
  // but before its journal was removed leaves one whose files all check out, and a run
  // with nothing to write must still remove it (or every later run re-hashes its paths).
  const journaled = writes.length > 0 || deletes.length > 0 || a.pendingJournal.size > 0 || a.journalFound;
  if (writes.length) {
    // A plan's list is sorted by path (PlannedFiles), so the writes are journaled as they
    // come (walked twice, never copied), merged with what earlier runs left; an array (a
    // caller's own) may be in another order, and is sorted first.
    const pathOf = (i: number): string => files.path(i);
    const inOrder = !isArray(a.files) || writes.every((w, k) => k === 0 || pathOf(writes[k - 1]!) < pathOf(w))
      ? writes
      : [...writes].sort((x, y) => byPath({ path: pathOf(x) }, { path: pathOf(y) }));
    const sortedWrites = {
      *[Symbol.iterator](): Generator<readonly [string, string]> {
        for (const i of inOrder) yield [files.path(i), files.sha256(i)!];
      },
    };
    await writeJournalOf(root, new Map([...a.carriedJournal, ...a.pendingJournal]), sortedWrites);
  }
  // Staged files are fsynced in the background during the fetch; none is moved into place
  // before all of them are durable.
  await staging.settle();
  const tmpDir = path.join(root, TMP_DIR);
  const stagedUses = new Map<string, number>();
  for (const i of writes) {
    const c = files.content(i);
    if (c?.kind === 'staged') stagedUses.set(c.name, (stagedUses.get(c.name) ?? 0) + 1);
  }
  // A renamed page's attachment has its bytes at the old path, which this plan deletes: they
  // are moved from there (one rename, no fsync: the run that wrote them made them durable)
  // rather than copied and made durable again (an fdatasync, that is a journal commit, per
  // file: 290 of them took ~250 ms here, 290 renames ~10 ms). A source that another write
  // copies too, or that stays, is copied. Killed after such a move, the old path is gone as
  // after the deletions: the state still owns it, and the next run finds it missing and
  // puts it back if it is still wanted.
  const deleting = new Set(deletes.map((i) => files.path(i)));
  const copyUses = new Map<string, number>();
  for (const i of writes) {
    const c = files.content(i);
    if (c?.kind === 'copy') copyUses.set(c.from, (copyUses.get(c.from) ?? 0) + 1);
  }
  const movable = (from: string): boolean => deleting.has(from) && copyUses.get(from) === 1;
  // Files are independent, so they are written in parallel (their fsyncs overlap); each
  // folder is made once and fsynced once at the end rather than once per file.
  const dirs = new Set<string>();
  const made = new Map<string, Promise<unknown>>();
  const ensureDir = (d: string): Promise<unknown> => {
    let p = made.get(d);
    if (!p) made.set(d, (p = makeDir(d)));
    return p;
  };
  const guard = createSymlinkGuard(root);
  /** Folders on another filesystem this run has cleaned of temp files a killed run left (moveIntoPlace). */
  const swept = new Set<string>();
  await ensureDir(tmpDir);
  // The state's changed shards, made durable in temp files once the pages are in place
  // (while their folders are fsynced and deletions run), and renamed after. Staged while
  // the pages were being written, a cold sync of 30,000 peaked ~30 MB higher (memrun:
  // 342 against 313 MB) and applied slower.
  let state: ReturnType<typeof stageState> | null = null;
  try {
    await eachLimited(writes, WIDTH, async (i) => {
      a.checkpoint();
      const f = files.at(i);
      const abs = resolveInside(root, f.path);
      await guard(f.path);
      await ensureDir(path.dirname(abs));
      const c = f.content!;
      if (c.kind === 'staged') {
        const left = (stagedUses.get(c.name) ?? 1) - 1;
        stagedUses.set(c.name, left);
        await moveIntoPlace(staging.pathOf(c.name), abs, left > 0, tmpDir, swept);
      } else {
        // The source is checked as a target is (real folders on the way, no symbolic link):
        // its bytes are read, or it is moved.
        await guard(c.from);
        await moveIntoPlace(resolveInside(root, c.from), abs, !movable(c.from), tmpDir, swept);
      }
      dirs.add(path.dirname(abs));
      a.emit({ type: 'write', path: f.path, action: f.action as 'create' | 'update' });
    });
    // Each staged file has moved (or been copied) into place: its count is no longer needed
    // while the state is written (a cold sync of 100,000 counts 200,000 names).
    stagedUses.clear();
    state = a.state
      ? stageState(
          root,
          a.state.top,
          a.state.entries,
          a.state.dirty,
          a.state.previousShards,
          a.state.cache,
          (shard, bytes, mapped) => a.emit({ type: 'stateShard', shard, bytes, mapped }),
        )
      : null;
    state?.catch(() => undefined);
    await eachLimited(dirs, WIDTH, fsyncDir);
    // Deletions in parallel too (a run renaming 600 pages deleted them one by one), then the
    // folders they emptied, deepest first so a parent is tried after its children.
    const emptied = new Set<string>();
    await eachLimited(deletes, WIDTH, async (i) => {
      a.checkpoint();
      const f = files.at(i);
      await guard(f.path);
      await unlink(resolveInside(root, f.path)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      emptied.add(path.posix.dirname(f.path));
      a.emit({ type: 'write', path: f.path, action: 'delete' });
    });
    const depth = (d: string): number => d.split('/').length;
    for (const d of [...emptied].sort((x, y) => depth(y) - depth(x))) await pruneEmptyDirs(root, d);
    a.checkpoint();
  } catch (e) {
    // Stopped (an abort, a failed write): the shards staged meanwhile are not left behind.
    await state?.then((s) => s.discard(), () => undefined);
    throw e;
  }
  const written = state ? await (await state).commit() : null;
  // The manifest now owns every file written: the journal has done its job, but for what it
  // carries for a later run.
  if (journaled) {
    if (a.carriedJournal.size) await writeJournal(root, a.carriedJournal);
    else await removeJournal(root);
  }
  await rm(tmpDir, { recursive: true, force: true });
  return { stateTouched: written?.touched ?? [], state: written };
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
