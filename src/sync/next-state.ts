// What a source's state in the next manifest is, from what the run learned about it. Pure:
// table-tested in test/unit/next-state.test.ts beside the planner's tests.
import type { ManifestSource, RecentRows } from '../output/manifest.js';

/** The fingerprint of a source left half mapped again: it matches no config, so the next run maps it all. */
export const MIXED_FINGERPRINT = 'mixed';

/** What one run found out about one source. */
export interface SourceRun {
  previous: ManifestSource | undefined;
  /**
   * What the walk found, or null when the source was not walked: a targeted sync (proves
   * nothing about the rest of the source) or a source that could not be resolved or listed.
   */
  walked: null | {
    fingerprint: string;
    /** The digests of the names its pages show, as read this run (`fields` absent when the schemas could not be read). */
    names: Record<string, string>;
    /** Whether those names differ from the previous run's (the source was mapped again). */
    renamed: boolean;
    watermark: string | null;
    walkedAll: boolean;
    /** Author digests from the id listing; absent when the server did not say. */
    authors?: Record<string, string>;
    /** The rows the next walk returns again (collect.ts), stored only with a watermark the source earned. */
    recent?: RecentRows;
  };
  /** Whether anything of the source failed this run (it is retried, nothing newer is skipped). */
  held: boolean;
  /** Ids of the source that failed or were deferred this run. */
  failed: readonly number[];
  /**
   * A targeted sync: the ids it was asked for, which of them failed, and the rows it
   * handed to processing (as `recent` records them, with their instant).
   */
  targeted?: { ids: readonly number[]; failedIds: ReadonlySet<number>; rows?: ReadonlyMap<number, { record: string; ms: number }> };
  /** This machine's clock (ISO), stamped on a source whose every work package was walked. */
  clock: string;
}

/** The source's next state (undefined: it has none) and the watermark to report. */
export function nextSourceState(r: SourceRun): { state: ManifestSource | undefined; watermark: string | null } {
  const prev = r.previous;
  if (r.walked === null) {
    // Its state stays; its retry list loses what succeeded and gains what failed, and its
    // record of recent rows takes the rows a targeted run mapped (an entry that failed
    // stays as it was recorded).
    const retry = new Set(prev?.retry ?? []);
    for (const id of r.targeted?.ids ?? []) if (!r.targeted!.failedIds.has(id)) retry.delete(id);
    for (const id of r.failed) retry.add(id);
    const recent = prev?.recent && r.targeted?.rows ? withTargetedRows(prev.recent, r.targeted.rows, r.targeted.failedIds) : undefined;
    const state = prev || retry.size ? { ...(prev ?? { watermark: null }), retry: [...retry].sort((a, b) => a - b), ...(recent ? { recent } : {}) } : undefined;
    return { state, watermark: prev?.watermark ?? null };
  }
  const w = r.walked;
  // A source that failed keeps its watermark (nothing newer is skipped). One that failed
  // while it was being mapped again (config, mapping or names changed) now has pages of
  // both shapes on disk: its fingerprint becomes MIXED, which no config has, so the next
  // run maps it all again whichever config it runs with (keeping the old fingerprint
  // would let a run with the old config keep pages of the new shape).
  const watermark = r.held ? (prev?.watermark ?? null) : w.watermark;
  const fingerprint = r.held && prev !== undefined && (prev.fingerprint !== w.fingerprint || w.renamed) ? MIXED_FINGERPRINT : w.fingerprint;
  const names = w.names.fields === undefined && prev?.names?.fields !== undefined ? { ...w.names, fields: prev.names.fields } : w.names;
  const authors = w.authors ?? prev?.authors;
  const auditedAt = w.walkedAll && !r.held ? r.clock : prev?.auditedAt;
  const watermarkAt = watermark !== null && watermark !== prev?.watermark ? r.clock : watermark !== null ? prev?.watermarkAt : undefined;
  const state: ManifestSource = {
    watermark,
    ...(watermarkAt ? { watermarkAt } : {}),
    retry: [...r.failed].sort((a, b) => a - b),
    ...(fingerprint ? { fingerprint } : {}),
    ...(names ? { names } : {}),
    ...(authors ? { authors } : {}),
    ...(auditedAt ? { auditedAt } : {}),
    // Only with the watermark it was taken for: a source that failed keeps an older
    // watermark, and rows it mapped this run are not in an older record.
    ...(!r.held && w.recent ? { recent: w.recent } : {}),
  };
  return { state, watermark };
}

/** A `recent` record after a targeted run: a mapped row at or after its bound is recorded as mapped, one before it leaves it. */
export function withTargetedRows(recent: RecentRows, rows: ReadonlyMap<number, { record: string; ms: number }>, failed: ReadonlySet<number>): RecentRows {
  const from = Date.parse(recent.from);
  const next: Record<string, string> = { ...recent.rows };
  for (const [id, row] of rows) {
    if (failed.has(id)) continue;
    if (row.ms >= from) next[id] = row.record;
    else delete next[id];
  }
  return { from: recent.from, rows: next };
}
