// A plan's files as a list that makes each file's object when it is read. The files of a
// cold sync's plan are almost all desired files (DesiredTable), and an object per planned
// file (with its sha256 string) held ~100 bytes each from the plan to the report: here a
// planned file is a row of that table plus an action, or, for the few others (kept files a
// collision involved, deletions), an object.
import type { DesiredTable } from './desired.js';
import type { FileAction, NewContent, PlannedFile, SyncPlan } from './types.js';

/** Planned files in path order. `at` makes a new object on each call. */
export interface PlannedFiles extends Iterable<PlannedFile> {
  readonly length: number;
  at(i: number): PlannedFile;
  path(i: number): string;
  action(i: number): FileAction;
  source(i: number): string;
  workPackageId(i: number): number;
  renamedFrom(i: number): string | undefined;
  /** The new bytes' sha256 (null for a deletion); made on each call. */
  sha256(i: number): string | null;
  /** Where a create's or an update's bytes come from; made on each call. */
  content(i: number): NewContent | undefined;
  /** The index of a path in the list, or -1 (the list is sorted by path). */
  indexOf(path: string): number;
}

const ACTIONS: readonly FileAction[] = ['create', 'update', 'delete', 'unchanged'];
const UNCHANGED = ACTIONS.indexOf('unchanged');

/**
 * In a list of `length` paths sorted by code unit, read by `pathAt`: the first index whose
 * path is `p` or after it (`length` when none is).
 */
export function firstAtOrAfter(length: number, pathAt: (i: number) => string, p: string): number {
  let lo = 0;
  let hi = length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (pathAt(mid) < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo;
}

/** A list over files already made (a caller's plan, or tables in tests). */
export function listOf(files: readonly PlannedFile[]): PlannedFiles {
  return {
    length: files.length,
    at: (i) => files[i]!,
    path: (i) => files[i]!.path,
    action: (i) => files[i]!.action,
    source: (i) => files[i]!.source,
    workPackageId: (i) => files[i]!.workPackageId,
    renamedFrom: (i) => files[i]!.renamedFrom,
    sha256: (i) => files[i]!.sha256,
    content: (i) => files[i]!.content,
    indexOf: (p) => files.findIndex((f) => f.path === p),
    [Symbol.iterator]: () => files[Symbol.iterator](),
  };
}

/** The planner's output: rows of the desired table it planned, and other files as objects. */
export class PlannedTable implements PlannedFiles {
  /** In path order: a desired row (≥ 0), or `~k` for `others[k]`; `count` of them are in use. */
  private refs = new Int32Array(64);
  private count = 0;
  private readonly others: PlannedFile[] = [];
  /** By desired row: the index of its action in ACTIONS. */
  private readonly actions: Uint8Array;
  private readonly oldShas = new Map<number, string>();
  private readonly renames = new Map<number, string>();
  /** Whether the files were added in path order (the planner adds its rows so: no sort then). */
  private inOrder = true;

  constructor(private readonly desired: DesiredTable) {
    this.actions = new Uint8Array(desired.length);
  }

  get length(): number {
    return this.count;
  }

  private push(ref: number): void {
    if (this.count === this.refs.length) {
      const refs = new Int32Array(Math.ceil(this.count * 1.5));
      refs.set(this.refs);
      this.refs = refs;
    }
    this.refs[this.count++] = ref;
  }

  /** A desired file planned with this action; `old` is what its path holds now. */
  addDesired(row: number, action: 'create' | 'update' | 'unchanged', old: string | null): void {
    this.actions[row] = ACTIONS.indexOf(action);
    if (old !== null) this.oldShas.set(row, old);
    const last = this.count ? this.refs[this.count - 1]! : -1;
    if (this.count && (last < 0 || this.desired.comparePaths(last, row) > 0)) this.inOrder = false;
    this.push(row);
  }
  addOther(f: PlannedFile): void {
    if (this.count) this.inOrder = false;
    this.push(~this.others.length);
    this.others.push(f);
  }
  /** Marks the planned create at index i as the move of `from`. */
  setRenamedFrom(i: number, from: string): void {
    const r = this.refs[i]!;
    if (r >= 0) this.renames.set(r, from);
    else this.others[~r]!.renamedFrom = from;
  }
  /** Sorts the list by path, by code unit (rows by their table's order, without making their paths). */
  sort(): void {
    if (this.inOrder) return;
    const desired = this.desired;
    const others = this.others;
    const pathOf = (r: number): string => (r >= 0 ? desired.path(r) : others[~r]!.path);
    this.refs.subarray(0, this.count).sort((a, b) => {
      if (a >= 0 && b >= 0) return desired.comparePaths(a, b);
      const x = pathOf(a);
      const y = pathOf(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.inOrder = true;
  }

  path(i: number): string {
    const r = this.refs[i]!;
    return r >= 0 ? this.desired.path(r) : this.others[~r]!.path;
  }
  action(i: number): FileAction {
    const r = this.refs[i]!;
    return r >= 0 ? ACTIONS[this.actions[r]!]! : this.others[~r]!.action;
  }
  source(i: number): string {
    const r = this.refs[i]!;
    return r >= 0 ? this.desired.source(r) : this.others[~r]!.source;
  }
  workPackageId(i: number): number {
    const r = this.refs[i]!;
    return r >= 0 ? this.desired.workPackageId(r) : this.others[~r]!.workPackageId;
  }
  renamedFrom(i: number): string | undefined {
    const r = this.refs[i]!;
    return r >= 0 ? this.renames.get(r) : this.others[~r]!.renamedFrom;
  }
  sha256(i: number): string | null {
    const r = this.refs[i]!;
    return r >= 0 ? this.desired.sha256(r) : this.others[~r]!.sha256;
  }
  content(i: number): NewContent | undefined {
    const r = this.refs[i]!;
    if (r < 0) return this.others[~r]!.content;
    return this.actions[r] === UNCHANGED ? undefined : this.desired.content(r)!;
  }
  at(i: number): PlannedFile {
    const r = this.refs[i]!;
    if (r < 0) return this.others[~r]!;
    const d = this.desired;
    const action = ACTIONS[this.actions[r]!]!;
    const f: PlannedFile = {
      path: d.path(r),
      action,
      source: d.source(r),
      workPackageId: d.workPackageId(r),
      sha256: d.sha256(r),
      oldSha256: this.oldShas.get(r) ?? null,
      binary: d.binary(r),
      ...(action === 'unchanged' ? {} : { content: d.content(r)! }),
    };
    const from = this.renames.get(r);
    if (from !== undefined) f.renamedFrom = from;
    return f;
  }
  indexOf(p: string): number {
    const i = firstAtOrAfter(this.count, (k) => this.path(k), p);
    return i < this.count && this.path(i) === p ? i : -1;
  }
  *[Symbol.iterator](): Generator<PlannedFile> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

/**
 * A plan over a list: `files` is made from it on first use (a library caller's array),
 * while the run itself, the report and the CLI read the list (filesOf).
 */
export function planOf(list: PlannedFiles, unlisted?: SyncPlan['unlisted']): SyncPlan {
  let files: PlannedFile[] | null = null;
  const plan: SyncPlan = {
    get files(): PlannedFile[] {
      return (files ??= [...list]);
    },
    ...(unlisted ? { unlisted } : {}),
  };
  Object.defineProperty(plan, 'list', { value: list, enumerable: false });
  return plan;
}

/** The files a list creates, updates or deletes, each made as it is reached (the unchanged ones are not made). */
export function* changedFiles(files: PlannedFiles): Generator<PlannedFile> {
  for (let i = 0; i < files.length; i++) if (files.action(i) !== 'unchanged') yield files.at(i);
}

/** A plan's files as a list, without making the array of them when the plan has a list. */
export function filesOf(plan: SyncPlan): PlannedFiles {
  return (plan as { list?: PlannedFiles }).list ?? listOf(plan.files);
}
