// The plan phase of a run: what the tree holds (tree.ts), the entries in scope, then the
// pure planner (plan/plan.ts). Its failures become item errors; its brake stops a real run.
import { DEFAULTS } from '../defaults.js';
import type { createHasher } from '../output/disk-state.js';
import type { Journal } from '../output/journal.js';
import type { Staging } from '../output/staging.js';
import { planSync, previousInScope } from '../plan/plan.js';
import type { SyncPlan } from '../plan/types.js';
import { keepsPrevious } from './keep.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';
import { inspectTree } from './tree.js';

export async function planRun(ctx: RunContext, deps: { previous: PreviousState; ledger: Ledger; mapper: Mapper; orphans: Journal; hash: ReturnType<typeof createHasher>; staging: Staging }): Promise<{ plan: SyncPlan; released: Map<number, string[]> }> {
  const { previous, ledger, mapper } = deps;
  const tree = await inspectTree(ctx, deps);
  const desired = mapper.desired().filter((d) => ledger.outcome(d.workPackageId)?.kind === 'mapped');
  // The shards that may own a wanted path (a collision, a file taken back) are read.
  await previous.loadOwnersOf(desired.map((d) => d.path));
  // Only what the plan can touch is planned; the other work packages' files are counted
  // (those of shards the run did not read, from their summaries).
  const keeps = (id: number): boolean => keepsPrevious(ledger.outcome(id)?.kind);
  const scope = previousInScope(previous.loadedEntries(), desired, keeps, (p) => previous.ownerOf(p), (id) => previous.entry(id));
  for (const shard of previous.unloadedShards()) {
    for (const [source, n] of Object.entries(previous.summary(shard)!.files)) {
      scope.ownedBefore += n;
      if (n) scope.unlisted[source] = (scope.unlisted[source] ?? 0) + n;
    }
  }
  const result = planSync({
    desired,
    previous: scope.previous,
    ownedBefore: scope.ownedBefore,
    keep: new Set([...scope.previous.keys()].filter(keeps)),
    gone: ledger.ids('gone'),
    orphans: deps.orphans,
    current: tree.current,
    blocked: tree.blocked,
    deleteThreshold: ctx.options.deleteThreshold ?? DEFAULTS.deleteThreshold,
    allowMassDelete: ctx.options.allowMassDelete ?? false,
  });
  mapper.release();
  for (const f of result.failures) ledger.failed(f);
  if (result.brake) ctx.brake(result.brake);
  return { plan: { files: result.plan.files, unlisted: scope.unlisted }, released: result.released };
}
