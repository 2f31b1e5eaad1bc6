// The next state, from what the run recorded: each source's next state (next-state.ts, a
// pure rule with table tests) and the work packages' entries (the ledger, keep.ts). A run
// that changed nothing yields the previous bytes, so the manifest is not rewritten.
import { MANIFEST_VERSION, stableJson, type ManifestSource, type StateTop } from '../output/manifest.js';
import type { WorkPackage } from '../types.js';
import { recentRecord } from './collect.js';
import type { CollectedSources } from './collect-all.js';
import { factRefs, type FactsBook } from './facts.js';
import { keepsPrevious } from './keep.js';
import type { Ledger, NextEntries } from './ledger.js';
import { nextSourceState } from './next-state.js';
import type { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';
import type { RunSources } from './run-sources.js';

export interface NextManifest {
  /** manifest.json's own keys (its shards' record is made when they are written). */
  top: StateTop;
  /** The work packages' entries, shard by shard (read from the ledger's spill as each is written). */
  entries: NextEntries;
  /** Whether it differs from the previous one (else it is not written). */
  changed: boolean;
  /** The shards whose entries changed; null: every shard is written (no state, an old format, or state that disagreed with itself). */
  dirty: Set<number> | null;
  /** Each configured source's watermark after this run, for the report. */
  watermarks: Record<string, string | null>;
}

export function nextManifest(
  ctx: RunContext,
  r: {
    previous: PreviousState;
    sources: RunSources;
    collected: CollectedSources;
    /** A targeted run's rows handed to processing, by source. */
    targetedRows: ReadonlyMap<string, readonly WorkPackage[]>;
    ledger: Ledger;
    released: ReadonlyMap<number, string[]>;
    facts: FactsBook;
  },
): NextManifest {
  const { previous, sources: run, collected, ledger } = r;
  const onlyIds = run.onlyIds;
  const sources: Record<string, ManifestSource> = {};
  const watermarks: Record<string, string | null> = {};
  const stamp = ctx.clock().toISOString();
  for (const spec of ctx.options.sources) {
    const name = spec.name;
    const got = collected.get(name);
    const src = run.resolved.find((s) => s.spec.name === name);
    const walked =
      onlyIds || !got || !src
        ? null
        : {
            fingerprint: src.fingerprint,
            names: run.namesNow.get(name)!,
            renamed: run.renamed.get(name)!.length > 0,
            watermark: got.watermark,
            walkedAll: got.walkedAll,
            ...(got.authors ? { authors: got.authors } : {}),
            ...(got.recent ? { recent: got.recent } : {}),
          };
    const failedIds = new Set((onlyIds ?? []).filter((id) => ledger.outcome(id)?.kind === 'failed'));
    const { state, watermark } = nextSourceState({
      previous: previous.source(name),
      walked,
      held: ledger.holds(name),
      failed: ledger.retry(name),
      ...(onlyIds ? { targeted: { ids: onlyIds, failedIds, rows: recentRecords(r.targetedRows.get(name) ?? []) } } : {}),
      clock: stamp,
    });
    watermarks[name] = watermark;
    if (state) sources[name] = state;
  }
  // A targeted run says nothing about sources it did not look at: their state stays.
  if (onlyIds) for (const name of previous.sourceNames()) if (!(name in sources)) sources[name] = previous.source(name)!;
  const entries = ledger.nextEntries(r.released);
  // What the pages show of the work packages they reference with facts (`##N`; facts.ts):
  // those kept, those mapped, and those of shards the run did not read (from their summaries).
  const referenced: number[] = [];
  previous.loadedIds().forEach((id) => {
    if (keepsPrevious(ledger.outcome(id)?.kind) && previous.mayRecordRefs(id)) referenced.push(...factRefs(previous.entry(id)!));
  });
  for (const [, mapped] of ledger.mappedRefs()) referenced.push(...factRefs(mapped));
  for (const shard of previous.unloadedShards()) referenced.push(...factRefs(previous.summary(shard)!));
  const shown = r.facts.record(referenced, stamp);
  const top: StateTop = {
    version: MANIFEST_VERSION,
    profile: ctx.options.profile.name,
    sources,
    ...(shown.targets ? { targets: shown.targets } : {}),
    ...(shown.readAt ? { targetsReadAt: shown.readAt } : {}),
  };
  const before = previous.manifest;
  const dirty = previous.shards === null || previous.torn !== null ? null : entries.dirty;
  return {
    top,
    entries,
    // State of format 3 (no summaries) is upgraded by the first real run, changes or not.
    changed:
      !before || dirty === null || dirty.size > 0 || previous.summaries === null ||
        stableJson(top.sources) !== stableJson(before.sources) ||
        stableJson(top.targets ?? null) !== stableJson(before.targets ?? null) ||
        top.targetsReadAt !== before.targetsReadAt,
    dirty,
    watermarks,
  };
}

/** Rows as `recent` records them, by id, with their instant. */
function recentRecords(rows: readonly WorkPackage[]): Map<number, { record: string; ms: number }> {
  return new Map(rows.map((wp) => [wp.id, { record: recentRecord(wp), ms: Date.parse(wp.updatedAt) }]));
}
