// What the output tree holds now, for the planner: the hash of every path the plan can
// touch (wanted, previously owned and not kept, journaled orphans), and the paths blocked
// by a folder where a file belongs (or the reverse). Then unchanged attachments whose path
// does not hold their bytes are given a source: copied from where the previous run put
// them, or downloaded again. Reads only; nothing under the root is written before apply.
import type { createHasher } from '../output/disk-state.js';
import type { Journal } from '../output/journal.js';
import type { Staging } from '../output/staging.js';
import type { DesiredFile } from '../plan/plan.js';
import { keepsPrevious } from './keep.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import { eachLimited } from './pool.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';

/** Paths hashed or attachments placed at once. */
const WIDTH = 32;

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
  hash: ReturnType<typeof createHasher>;
  staging: Staging;
}

export async function inspectTree(ctx: RunContext, deps: PlanDeps): Promise<TreeView> {
  const { previous, ledger, mapper, hash } = deps;
  const current = new Map<string, string | null>();
  const blocked = new Map<string, string>();
  const wanted = new Set<string>(mapper.desired().map((d) => d.path));
  for (const id of previous.loadedIds()) if (!keepsPrevious(ledger.outcome(id)?.kind)) for (const p in previous.entry(id)!.files) wanted.add(p);
  for (const p of deps.orphans.keys()) wanted.add(p);
  // Only paths that hold something are recorded (absent means nothing there): a cold sync
  // of tens of thousands of files keeps no map of nulls.
  await eachLimited(wanted, WIDTH, async (p) => {
    const h = await hash(p);
    if (typeof h === 'string') current.set(p, h);
    else if (h) blocked.set(p, h.blocked);
  });
  const materialize = async (d: DesiredFile): Promise<void> => {
    if (d.content || current.get(d.path) === d.sha256 || blocked.has(d.path)) return;
    const from = Object.entries(previous.entry(d.workPackageId)?.files ?? {}).find(([p, h]) => h === d.sha256 && current.get(p) === h)?.[0];
    if (from) {
      d.content = { kind: 'copy', from };
      return;
    }
    const att = mapper.cached.get(d.path)!;
    try {
      const sink = deps.staging.sink(att.id);
      await ctx.options.client.downloadAttachment(att, sink, { maxBytes: mapper.maxBytes });
      ctx.emit({ type: 'download', attachmentId: att.id, bytes: att.fileSize });
      const r = sink.result();
      d.content = { kind: 'staged', name: r.name };
      if (r.sha256 !== d.sha256) {
        // The server's bytes changed under the same md5/size: write what it has now.
        d.sha256 = r.sha256;
        ledger.amend(d.workPackageId, d.path, r.sha256);
      }
    } catch (e) {
      if (ctx.isAborted()) throw e;
      ledger.failed({
        kind: 'attachment',
        source: d.source,
        workPackageId: d.workPackageId,
        attachmentId: att.id,
        message: `work package #${d.workPackageId}: ${d.path} is missing on disk and attachment #${att.id} could not be downloaded again (its last good files are kept; it is retried on the next run): ${(e as Error).message}`,
      });
    }
  };
  await eachLimited(mapper.desired(), WIDTH, materialize);
  return { current, blocked };
}
