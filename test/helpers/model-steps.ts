// The vocabulary of the sync invariant's model-based test (issue 12): a history is plain
// data (JSON), so a shrunk counterexample can be pasted into a regression test as it is.
// Work packages, attachments, sources and projects are named by small integers that are
// resolved against the state when the step runs (`pick % count`): removing a step while
// shrinking never makes a later one invalid.
import fc from 'fast-check';
import type { RouteName } from '../../src/simulator/index.js';

export type ProfileName = 'medigy' | 'default';

export interface Setup {
  profile: ProfileName;
  /** The simulator's apiv3_max_page_size: small values make every listing span pages. */
  maxPageSize: number;
  downloads: 'inline' | 'redirect';
  /**
   * The clock of the machine curate runs on. `far` (also when absent): the real clock, years
   * after the simulated server's, so the server's `Date` header is the only witness of the
   * server's time. `server`: in step with the server's clock (both on NTP), as in most
   * deployments. A run of the binary always has the real clock.
   */
  machineClock?: 'far' | 'server';
}

export type EditField = 'subject' | 'description' | 'cleanUrl' | 'topics' | 'status' | 'dates' | 'cancel' | 'skew' | 'link' | 'option';
export type AttachKind = 'featured' | 'favicon' | 'pdf' | 'json' | 'badjson' | 'other';

/** A server edit, through the simulator's admin API. */
export type Mutation =
  | { m: 'edit'; wp: number; field: EditField; v: number }
  | { m: 'create'; from: number; project: number; type: number; v: number }
  | { m: 'delete'; wp: number }
  | { m: 'attach'; wp: number; kind: AttachKind; v: number }
  | { m: 'replace'; att: number; v: number }
  | { m: 'unattach'; att: number }
  | { m: 'move'; wp: number; project?: number; type?: number }
  /**
   * Issue 19: a name the server renames without touching any work package (no updatedAt, no
   * lockVersion). `v % 3 === 0` renames back to the original name. A type or status the
   * config names is renamed in the config too (the admin follows; otherwise every run is the
   * same config error); a custom option rename converges only after an audit run (model-world.ts).
   */
  | { m: 'rename'; what: RenameTarget; pick: number; v: number }
  /** Issue 19: `count` work packages (consecutive ids from `wp`) edited in one transaction: one identical updatedAt. */
  | { m: 'bulk'; wp: number; count: number; v: number };

export type RenameTarget = 'project' | 'type' | 'status' | 'user' | 'field' | 'option';
/**
 * The server's `Date` header: `ahead` +2 h, `farAhead` +1 year, `behind` −1 h (a proxy's or
 * the server's wall clock); `missing`, `garbage` (`Thu, 99 Foo`); `normal`.
 */
export type DateMode = 'normal' | 'missing' | 'garbage' | 'ahead' | 'farAhead' | 'behind';

/**
 * `overlapSeconds`: `sync.overlapSeconds` cycles through 300 (the default), 0, 30 and 7,200:
 * a larger overlap than the last run's starts the walk before the `recent` record's `from`
 * (state format 5), so that run decides the rows that come back from their shards instead.
 */
export type ConfigEdit = 'path' | 'variant' | 'statuses' | 'types' | 'option' | 'overlap' | 'pageSize' | 'overlapSeconds';

export type FaultRoute = 'work_packages' | 'work_package' | 'attachments' | 'content' | 'projects' | 'types';
export type FuzzFaultKind = 'status' | 'reset' | 'stall' | 'truncate' | 'html' | 'invalid-json' | 'corrupt';

export interface SyncStep {
  m: 'sync';
  full?: boolean;
  conc?: 1 | 8;
  /** --allow-mass-delete */
  mass?: boolean;
  /** Abort (AbortSignal) when the run has emitted this many events. */
  abort?: number;
  fault?: { route: FaultRoute; kind: FuzzFaultKind; times: number; status?: number };
  /** Mutations during the run: at the `nth` request to `route`. */
  during?: { route: RouteName | '*'; nth: number; mut: Mutation }[];
  /**
   * Run the real binary; SIGKILL it after `killMs`, or at the `killAt`-th API request; or
   * send SIGTERM / SIGINT at the `signalAt`-th API request (issue 12 item 12: it must exit
   * 143 / 130 within 2 s, leaving neither the lock nor staging behind).
   */
  cli?: { killMs?: number; killAt?: number; signalAt?: number; signal?: 'SIGTERM' | 'SIGINT' };
}

export type Step =
  | Mutation
  | { m: 'serverTime'; minutes: number }
  | { m: 'now'; days: number }
  | { m: 'config'; edit: ConfigEdit; src: number; v: number }
  | { m: 'upgrade'; v: number }
  | { m: 'hand'; slot: number; where: 'new' | 'vacated' | 'remove'; v: number }
  /** Someone deletes a file curate wrote (the next sync puts it back). */
  | { m: 'lose'; v: number }
  /** Issue 19: the server's Date header from now on, or (`once`) for the next sync only. */
  | { m: 'date'; mode: DateMode; once: boolean }
  /** Issue 19: an administrator takes a backup into `slot` (slot 0 also holds the initial state). */
  | { m: 'backup'; slot: number }
  /** Issue 19: the server restored from the backup in `slot` (`sequences`: the attachment id sequence too, so new ids repeat lost ones). */
  | { m: 'restore'; slot: number; sequences: boolean }
  /**
   * Issue 19: `curate watch` still running with the config before the last config edit (and
   * the curate before the last upgrade): a webhook for one work package (`edit`: it was just
   * edited) runs a targeted sync with that stale config.
   */
  | { m: 'watch'; wp: number; edit: boolean }
  /** Issue 19: a directory placed where an owned file belongs (`dir`), or a file where an owned folder is (`file`). */
  | { m: 'block'; kind: 'dir' | 'file'; v: number }
  /** The blocker of `block` removed: the next sync must converge. */
  | { m: 'unblock' }
  | SyncStep;

export type StepKind = Step['m'];
// (An `overlap` config edit makes every later sync a config error until it is undone, so
// it is drawn less often than the other edits.)

const pick = fc.nat({ max: 1000 });
const small = fc.nat({ max: 100 });

const renameArb = (targets: RenameTarget[]): fc.Arbitrary<Mutation> => fc.record({ m: fc.constant('rename' as const), what: fc.constantFrom<RenameTarget>(...targets), pick, v: small });
const ALL_RENAMES: RenameTarget[] = ['project', 'type', 'status', 'user', 'field', 'option'];

const baseMutations = (renames: RenameTarget[]): { arbitrary: fc.Arbitrary<Mutation>; weight: number }[] => [
  { arbitrary: fc.record({ m: fc.constant('edit' as const), wp: pick, field: fc.constantFrom<EditField>('subject', 'description', 'cleanUrl', 'topics', 'status', 'dates', 'cancel', 'skew', 'link', 'option'), v: small }), weight: 6 },
  { arbitrary: fc.record({ m: fc.constant('create' as const), from: pick, project: pick, type: pick, v: small }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('delete' as const), wp: pick }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('attach' as const), wp: pick, kind: fc.constantFrom<AttachKind>('featured', 'favicon', 'pdf', 'json', 'json', 'badjson', 'other'), v: small }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('replace' as const), att: pick, v: small }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('unattach' as const), att: pick }), weight: 1 },
  {
    arbitrary: fc.oneof(
      fc.record({ m: fc.constant('move' as const), wp: pick, project: pick }),
      fc.record({ m: fc.constant('move' as const), wp: pick, type: pick }),
    ),
    weight: 2,
  },
  { arbitrary: renameArb(renames), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('bulk' as const), wp: pick, count: fc.integer({ min: 3, max: 14 }), v: small }), weight: 1 },
];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(...baseMutations(ALL_RENAMES));
/** During a run: no type or status renames (the run's config names them; the admin's config edit comes after). */
const duringMutationArb: fc.Arbitrary<Mutation> = fc.oneof(...baseMutations(['project', 'user', 'field', 'option']));

const faultArb = fc.record({
  route: fc.constantFrom<FaultRoute>('work_packages', 'work_package', 'attachments', 'content', 'projects', 'types'),
  kind: fc.constantFrom<FuzzFaultKind>('status', 'reset', 'stall', 'truncate', 'html', 'invalid-json', 'corrupt'),
  times: fc.integer({ min: 1, max: 4 }),
  status: fc.constantFrom(429, 500, 502, 503),
});

const duringArb = fc.array(
  fc.record({ route: fc.constantFrom<RouteName | '*'>('work_packages', 'work_package', 'attachments', 'content', '*'), nth: fc.integer({ min: 1, max: 12 }), mut: duringMutationArb }),
  { minLength: 1, maxLength: 3 },
);

export interface SyncWeights {
  plain: number;
  abort: number;
  fault: number;
  during: number;
  cli: number;
  /** The real binary stopped by SIGTERM or SIGINT. */
  signal: number;
}

export function syncArb(w: SyncWeights): fc.Arbitrary<SyncStep> {
  const base = { m: fc.constant('sync' as const), full: fc.boolean().map((b) => (b ? true : undefined)), conc: fc.constantFrom<1 | 8>(1, 8), mass: fc.boolean() };
  const clean = <T extends object>(s: T): T => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined && v !== false)) as T;
  const arbs: { arbitrary: fc.Arbitrary<SyncStep>; weight: number }[] = [
    { arbitrary: fc.record(base).map(clean), weight: w.plain },
    { arbitrary: fc.record({ ...base, abort: fc.integer({ min: 1, max: 150 }) }).map(clean), weight: w.abort },
    { arbitrary: fc.record({ ...base, fault: faultArb }).map(clean), weight: w.fault },
    { arbitrary: fc.record({ ...base, during: duringArb }).map(clean), weight: w.during },
    {
      arbitrary: fc
        .record({ m: fc.constant('sync' as const), mass: fc.boolean(), cli: fc.oneof(fc.record({ killMs: fc.integer({ min: 50, max: 1500 }) }), fc.record({ killAt: fc.integer({ min: 1, max: 60 }) })) })
        .map(clean),
      weight: w.cli,
    },
    {
      arbitrary: fc.record({ m: fc.constant('sync' as const), cli: fc.record({ signalAt: fc.integer({ min: 1, max: 60 }), signal: fc.constantFrom<'SIGTERM' | 'SIGINT'>('SIGTERM', 'SIGINT') }) }),
      weight: w.signal,
    },
  ];
  return fc.oneof(...arbs.filter((a) => a.weight > 0));
}

export interface HistoryOptions {
  minSteps?: number;
  maxSteps?: number;
  /** Step kinds never generated (to look for failures beyond a known one); `edit:FIELD` leaves out one kind of edit. */
  without?: (StepKind | `edit:${EditField}` | `rename:${RenameTarget}`)[];
  /** Only histories of this profile. */
  profile?: ProfileName;
  sync?: Partial<SyncWeights>;
}

export const DEFAULT_SYNC_WEIGHTS: SyncWeights = { plain: 5, abort: 2, fault: 2, during: 3, cli: 1, signal: 1 };

export function stepArb(o: HistoryOptions = {}): fc.Arbitrary<Step> {
  const without = new Set<string>(o.without ?? []);
  const all: { kind: StepKind; arbitrary: fc.Arbitrary<Step>; weight: number }[] = [
    { kind: 'edit', arbitrary: mutationArb, weight: 8 },
    { kind: 'serverTime', arbitrary: fc.record({ m: fc.constant('serverTime' as const), minutes: fc.constantFrom(1, 10, 60, 600, 3000) }), weight: 1 },
    { kind: 'now', arbitrary: fc.record({ m: fc.constant('now' as const), days: fc.constantFrom(1, 7, 30, 70, 400, -30) }), weight: 2 },
    { kind: 'config', arbitrary: fc.record({ m: fc.constant('config' as const), edit: fc.constantFrom<ConfigEdit>('path', 'path', 'variant', 'variant', 'statuses', 'types', 'option', 'option', 'overlap', 'pageSize', 'overlapSeconds'), src: pick, v: small }), weight: 2 },
    { kind: 'upgrade', arbitrary: fc.record({ m: fc.constant('upgrade' as const), v: small }), weight: 1 },
    { kind: 'hand', arbitrary: fc.record({ m: fc.constant('hand' as const), slot: fc.nat({ max: 3 }), where: fc.constantFrom<'new' | 'vacated' | 'remove'>('new', 'vacated', 'vacated', 'remove'), v: small }), weight: 1 },
    { kind: 'lose', arbitrary: fc.record({ m: fc.constant('lose' as const), v: small }), weight: 1 },
    { kind: 'date', arbitrary: fc.record({ m: fc.constant('date' as const), mode: fc.constantFrom<DateMode>('normal', 'normal', 'missing', 'garbage', 'ahead', 'farAhead', 'behind'), once: fc.boolean() }), weight: 2 },
    { kind: 'backup', arbitrary: fc.record({ m: fc.constant('backup' as const), slot: fc.nat({ max: 1 }) }), weight: 1 },
    { kind: 'restore', arbitrary: fc.record({ m: fc.constant('restore' as const), slot: fc.nat({ max: 1 }), sequences: fc.boolean() }), weight: 1 },
    { kind: 'watch', arbitrary: fc.record({ m: fc.constant('watch' as const), wp: pick, edit: fc.boolean() }), weight: 1 },
    { kind: 'block', arbitrary: fc.record({ m: fc.constant('block' as const), kind: fc.constantFrom<'dir' | 'file'>('dir', 'file'), v: small }), weight: 1 },
    { kind: 'unblock', arbitrary: fc.constant({ m: 'unblock' as const }), weight: 1 },
    { kind: 'sync', arbitrary: syncArb({ ...DEFAULT_SYNC_WEIGHTS, ...o.sync }), weight: 6 },
  ];
  // 'edit' stands for every server mutation here; `without` can still drop single kinds.
  const mutationKinds: StepKind[] = ['edit', 'create', 'delete', 'attach', 'replace', 'unattach', 'move', 'rename', 'bulk'];
  const keep = all
    .filter((a) => !without.has(a.kind) && !(a.kind === 'edit' && mutationKinds.every((k) => without.has(k))))
    .map((a) => (a.kind === 'edit' ? { ...a, arbitrary: mutationArb.filter((x) => !without.has(x.m) && !(x.m === 'edit' && without.has(`edit:${x.field}`)) && !(x.m === 'rename' && without.has(`rename:${x.what}`))) as fc.Arbitrary<Step> } : a));
  return fc.oneof(...keep.map(({ arbitrary, weight }) => ({ arbitrary, weight })));
}

export const setupArb: fc.Arbitrary<Setup> = fc.record({
  profile: fc.constantFrom<ProfileName>('medigy', 'medigy', 'default'),
  maxPageSize: fc.constantFrom(2, 3, 1000),
  downloads: fc.constantFrom<'inline' | 'redirect'>('inline', 'inline', 'redirect'),
  machineClock: fc.constantFrom<'far' | 'server'>('far', 'server'),
});

export function historyArb(o: HistoryOptions = {}): fc.Arbitrary<{ setup: Setup; steps: Step[] }> {
  const setup = o.profile ? setupArb.map((s) => ({ ...s, profile: o.profile! })) : setupArb;
  return fc.record({ setup, steps: fc.array(stepArb(o), { minLength: o.minSteps ?? 1, maxLength: o.maxSteps ?? 14 }) });
}

/** One step per line: what a failure prints and a regression test pastes. */
export function formatHistory(h: { setup: Setup; steps: Step[] }): string {
  return `setup: ${JSON.stringify(h.setup)}\nsteps: [\n${h.steps.map((s) => `  ${JSON.stringify(s)},`).join('\n')}\n]`;
}
