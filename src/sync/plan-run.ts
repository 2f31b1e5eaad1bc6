// The plan phase of a run: what the tree holds (tree.ts), the entries in scope, then the
// pure planner (plan/plan.ts). Its failures become item errors; its brake stops a real run.
import { DEFAULTS } from '../defaults.js';
import { shardOf, type ManifestWorkPackage } from '../output/manifest.js';
import { planSync, previousInScope } from '../plan/plan.js';
import { planOf } from '../plan/planned.js';
import type { SyncPlan } from '../plan/types.js';
import { keepsPrevious } from './keep.js';
import type { RunContext } from './run-context.js';
import { inspectTree, type PlanDeps } from './tree.js';

export async function planRun(ctx: RunContext, deps: PlanDeps): Promise<{ plan: SyncPlan; released: Map<number, string[]> }> {
  const { previous, ledger, mapper } = deps;
  const tree = await inspectTree(ctx, deps);
  mapper.retain((id) => ledger.outcome(id)?.kind === 'mapped');
  const desired = mapper.desired();
  // The paths one at a time, not an array of 200,000 in a cold sync.
  function* desiredPaths(): Generator<string> {
    for (let i = 0; i < desired.length; i++) yield desired.path(i);
  }
  // The shards that may own a wanted path (a collision, a file taken back) are read.
  await previous.loadOwnersOf(desiredPaths());
  // Only what the plan can touch is planned; the other work packages' files are counted
  // (those of shards the run did not read, from their summaries).
  const keeps = (id: number): boolean => keepsPrevious(ledger.outcome(id)?.kind);
  // Entries of shards read as text are parsed only when the plan looks at them (not kept,
  // or owning a wanted path); the others' files are counted from the shard's summary.
  // The owner of each wanted path, looked up once (the planner's scope asks for them too).
  const ownerOfWanted = previous.ownersOf(desiredPaths());
  const owners = new Set(ownerOfWanted.values());
  /** Per text shard, per source: files of the entries the plan looks at. */
  const looked = new Map<number, Record<string, number>>();
  function* inScope(): Generator<[number, ManifestWorkPackage]> {
    // Over the ids by index (see loadedIds): only the entries in scope are yielded.
    const ids = previous.loadedIds();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const shard = shardOf(id);
      const text = previous.isText(shard);
      if (text && keeps(id) && !owners.has(id)) continue;
      const e = previous.entry(id)!;
      if (text) {
        let bySource = looked.get(shard);
        if (!bySource) looked.set(shard, (bySource = {}));
        bySource[e.source] = (bySource[e.source] ?? 0) + Object.keys(e.files).length;
      }
      yield [id, e];
    }
  }
  // (No wanted path has an owner, as in a first sync: the scope need not walk them.)
  const scope = previousInScope(inScope(), ownerOfWanted.size ? desiredPaths() : [], keeps, (p) => ownerOfWanted.get(p), (id) => previous.entry(id));
  const counted = (shard: number, less: Record<string, number> = {}): void => {
    for (const [source, all] of Object.entries(previous.summary(shard)!.files)) {
      const n = all - (less[source] ?? 0);
      scope.ownedBefore += n;
      if (n) scope.unlisted[source] = (scope.unlisted[source] ?? 0) + n;
    }
  };
  for (const shard of previous.unloadedShards()) counted(shard);
  for (const shard of previous.loadedShards()) if (previous.isText(shard)) counted(shard, looked.get(shard));
  const result = planSync({
    desired,
    previous: scope.previous,
    ownedBefore: scope.ownedBefore,
    keep: new Set([...scope.previous.keys()].filter(keeps)),
    gone: ledger.ids('gone'),
    orphans: deps.orphans,
    keepOrphans: deps.targeted,
    current: tree.current,
    blocked: tree.blocked,
    deleteThreshold: ctx.options.deleteThreshold ?? DEFAULTS.deleteThreshold,
    allowMassDelete: ctx.options.allowMassDelete ?? false,
  });
  mapper.release();
  for (const f of result.failures) ledger.failed(f);
  if (result.brake) ctx.brake(result.brake);
  return { plan: planOf(result.files, scope.unlisted), released: result.released };
}
