// What the output tree holds now, for the planner: the hash of every path the plan can
// touch (wanted, previously owned and not kept, journaled orphans), and the paths blocked
// by a folder where a file belongs (or the reverse). Then unchanged attachments whose path
// does not hold their bytes are given a source: copied from where the previous run put
// them, or downloaded again. Reads only; nothing under the root is written before apply.
import type { createHasher } from '../output/disk-state.js';
import type { Journal } from '../output/journal.js';
import type { Staging } from '../output/staging.js';
import { keepsPrevious } from './keep.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import { eachLimited } from './pool.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';

/** Paths hashed or attachments placed at once. */
const WIDTH = 32;
/**
 * Paths looked at while work packages are mapped, at most; the plan phase looks at the rest.
 * Each waits as a promise until the plan takes it: a run that maps everything (a cold sync
 * of 100,000) must not hold one per path.
 */
export const LOOK_AHEAD_PATHS = 4096;

type Hasher = ReturnType<typeof createHasher>;

/** The run's one view of the tree: what a path holds, and paths looked at ahead of the plan. */
export interface TreeLook {
  hash: Hasher;
  /**
   * Looks at these paths now (up to LOOK_AHEAD_PATHS in a run): a mapped work package's new
   * and old paths, while requests are still in flight, instead of in the plan phase after
   * the last of them (~0.1 s of a 1 % run at 30,000). Nothing under the root is written
   * before apply, so what a path holds is the same then as now.
   */
  lookAhead(paths: Iterable<string>): void;
}

export function createTreeLook(hash: Hasher, limit = LOOK_AHEAD_PATHS): TreeLook {
  const ahead = new Map<string, ReturnType<Hasher>>();
  let left = limit;
  return {
    // A path looked at ahead is taken once (the plan asks for each path once), then forgotten.
    hash: (p) => {
      const h = ahead.get(p);
      if (!h) return hash(p);
      ahead.delete(p);
      return h;
    },
    lookAhead(paths) {
      for (const p of paths) {
        if (left <= 0) return;
        if (ahead.has(p)) continue;
        left -= 1;
        const h = hash(p);
        h.catch(() => undefined); // seen by the plan when it asks; never unhandled
        ahead.set(p, h);
      }
    },
  };
}

export interface TreeView {
  /** Path → sha256 of what it holds; absent: nothing there. */
  current: Map<string, string | null>;
  /** Paths curate can neither read nor replace, with why. */
  blocked: Map<string, string>;
}

/** What the plan phase works from (plan-run.ts, and this module's look at the tree). */
export interface PlanDeps {
  previous: PreviousState;
  ledger: Ledger;
  mapper: Mapper;
  orphans: Journal;
  /** A targeted run (`curate watch`): it leaves the orphans it does not claim (plan.ts, rule 4). */
  targeted: boolean;
  hash: ReturnType<typeof createHasher>;
  staging: Staging;
}

export async function inspectTree(ctx: RunContext, deps: PlanDeps): Promise<TreeView> {
  const { previous, ledger, mapper, hash } = deps;
  const current = new Map<string, string | null>();
  const blocked = new Map<string, string>();
  // The paths of the previous files the plan can touch (not kept) and the orphans, once
  // each; then the desired paths, those not among them. No set of every desired path: in
  // a cold sync of 100,000 work packages that set alone was ~5 MB at the plan's peak. Two
  // work packages that want one path (a collision) have it looked at twice.
  const others = new Set<string>();
  previous.loadedIds().forEach((id) => {
    if (!keepsPrevious(ledger.outcome(id)?.kind)) for (const p in previous.entry(id)!.files) others.add(p);
  });
  for (const p of deps.orphans.keys()) others.add(p);
  const desired = mapper.desired();
  function* wanted(): Generator<string> {
    yield* others;
    for (let i = 0; i < desired.length; i++) if (!others.has(desired.path(i))) yield desired.path(i);
  }
  // Only paths that hold something are recorded (absent means nothing there): a cold sync
  // of tens of thousands of files keeps no map of nulls.
  await eachLimited(wanted(), WIDTH, async (p) => {
    const h = await hash(p);
    if (typeof h === 'string') current.set(p, h);
    else if (h) blocked.set(p, h.blocked);
  });
  const materialize = async (i: number): Promise<void> => {
    const path = desired.path(i);
    if (desired.hasContent(i) || blocked.has(path)) return;
    const sha256 = desired.sha256(i);
    if (current.get(path) === sha256) return;
    const id = desired.workPackageId(i);
    const from = Object.entries(previous.entry(id)?.files ?? {}).find(([p, h]) => h === sha256 && current.get(p) === h)?.[0];
    if (from) {
      desired.setContent(i, { kind: 'copy', from });
      return;
    }
    const att = mapper.cached.get(path)!;
    try {
      const sink = deps.staging.sink();
      await ctx.options.client.downloadAttachment(att, sink, { maxBytes: mapper.maxBytes });
      ctx.emit({ type: 'download', attachmentId: att.id, bytes: att.fileSize });
      const r = sink.result();
      desired.setContent(i, { kind: 'staged', name: r.name });
      if (r.sha256 !== sha256) {
        // The server's bytes changed under the same md5/size: write what it has now.
        desired.setSha256(i, r.sha256);
        ledger.amend(id, path, r.sha256);
      }
    } catch (e) {
      if (ctx.isAborted()) throw e;
      ledger.failed({
        kind: 'attachment',
        source: desired.source(i),
        workPackageId: id,
        attachmentId: att.id,
        message: `work package #${id}: ${path} is missing on disk and attachment #${att.id} could not be downloaded again (its last good files are kept; it is retried on the next run): ${(e as Error).message}`,
      });
    }
  };
  // Only rows without their bytes at hand (unchanged attachments not downloaded this run).
  function* unstaged(): Generator<number> {
    for (let i = 0; i < desired.length; i++) if (!desired.hasContent(i)) yield i;
  }
  await eachLimited(unstaged(), WIDTH, materialize);
  return { current, blocked };
}
