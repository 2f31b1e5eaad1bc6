// How a source is walked this run (from its watermark, or every work package), decided
// from its previous state and the clocks alone: collect.ts uses it for the walk, and
// collect-all.ts to ask for an incremental walk's first page beside the id listings.
import type { ManifestSource } from '../output/manifest.js';

/** Slack before a work package's updatedAt counts as "in the future" of the clocks. */
export const FUTURE_SLACK_MS = 60_000;

/** How far apart the two clocks may be before a run says so (the default overlap). */
export const CLOCK_SKEW_WARN_MS = 5 * 60_000;

/**
 * A warning when the server's clock (its Date header) and this machine's are more than
 * CLOCK_SKEW_WARN_MS apart, or null. The earlier of the two is what tells a row dated in
 * the future, so one of them must be right (README, "What curate guarantees"); which one
 * is wrong cannot be told from here, so the warning names both.
 */
export function clockSkewWarning(serverDate: Date | null, machine: Date): string | null {
  if (serverDate === null) return null;
  const apart = serverDate.getTime() - machine.getTime();
  if (Math.abs(apart) <= CLOCK_SKEW_WARN_MS) return null;
  return `the server's clock (its Date header: ${serverDate.toISOString()}) is ${humanDuration(Math.abs(apart))} ${apart > 0 ? 'ahead of' : 'behind'} this machine's (${machine.toISOString()}); curate takes the earlier of the two to tell edits dated in the future, and needs one of them right: check both (NTP)`;
}

function humanDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** What the decision reads: the run's flags and clocks. */
export interface WalkClocks {
  full: boolean;
  /** This machine's clock. */
  clock(): Date;
  /** The server's clock when the walks began (its Date header), or null. */
  walkStart: Date | null;
  /** How long after a source's last complete walk the next one is due (the audit). */
  auditIntervalMs: number;
}

/** What decides how a source is walked this run, from its previous state and the clocks (no request). */
export interface WalkBasis {
  /** Same config and names as the previous run's: its entries can be kept. */
  sameShape: boolean;
  clockNow: number;
  /** The earlier of the two clocks, plus the slack. */
  clocks: number;
  /** The stored watermark (ms), or null. */
  storedMark: number | null;
  /** The newest instant a row may have and not be "in the future". */
  ceiling: number;
  /** Whether the stored watermark is not in the future of the clocks. */
  trusted: boolean;
  auditDue: boolean;
  /** Walk from the watermark (else every work package). */
  incremental: boolean;
}

export function walkBasis(ctx: WalkClocks, prev: ManifestSource | undefined, fingerprint: string, remapAll: string | null): WalkBasis {
  const sameShape = prev?.fingerprint === fingerprint && remapAll === null;
  // The newest instant that is not in the future: the earlier of the server's clock and
  // this machine's; when the server sends no usable Date, also the previous watermark plus
  // the real time elapsed since it was taken (the server's clock cannot have run faster:
  // this holds even when its clock is far from this machine's; it is not used otherwise,
  // since a watermark older than the run that took it would make every later walk lag by
  // that much). One wrong clock only makes the ceiling earlier, which costs re-reading a few
  // rows, never skipping one. Both ahead of the server's at once cannot be seen from here:
  // a row dated in the server's future can then become the watermark, and the audit walk
  // is what brings the edits stamped before it (README, "What curate guarantees").
  const clockNow = ctx.clock().getTime();
  const clocks = Math.min(clockNow, ctx.walkStart?.getTime() ?? Infinity) + FUTURE_SLACK_MS;
  const storedMark = prev?.watermark ? Date.parse(prev.watermark) : null;
  const takenAt = prev?.watermarkAt ? Date.parse(prev.watermarkAt) : null;
  const elapsedBound =
    ctx.walkStart === null && storedMark !== null && takenAt !== null
      ? storedMark + Math.max(0, clockNow - takenAt) + FUTURE_SLACK_MS
      : Infinity;
  const ceiling = Math.min(clocks, elapsedBound);
  const trusted = storedMark !== null && storedMark <= clocks;
  const auditDue = !prev?.auditedAt || clockNow - Date.parse(prev.auditedAt) >= ctx.auditIntervalMs || Date.parse(prev.auditedAt) > clockNow + FUTURE_SLACK_MS;
  const incremental = !ctx.full && sameShape && trusted && !auditDue;
  return { sameShape, clockNow, clocks, storedMark, ceiling, trusted, auditDue, incremental };
}

/** What a source's walks received, for its next watermark. */
export interface WalkOutcome {
  /** The newest updatedAt a walk returned that is not in the future of the ceiling, or null: none. */
  newest: { ms: number; text: string } | null;
  /** Whether the run walked every work package of the source (sorted by id, not by updatedAt). */
  walkedAll: boolean;
  /** The server's clock when the walks began (its Date header), or null. */
  walkStart: Date | null;
  /** Whether the stored watermark was trusted (walkBasis). */
  trusted: boolean;
  /** The watermark the previous run stored. */
  storedWatermark: string | null;
}

/**
 * The watermark the source stores if all of its work packages succeed. After a keyset walk
 * (sorted by updatedAt) any later edit has a later updatedAt, since a row edited after its
 * page was read is newer than every row read: the newest row received is the bound. A walk
 * of every work package is sorted by id, so an edit during it can land on a page read
 * already while a later one is read: its watermark is at most the server's clock before it
 * began. Nothing received (an empty source): the stored watermark stands if it was
 * trusted. A run that changes nothing receives the same newest row again, so the manifest
 * stays byte for byte as it was.
 */
export function watermarkAfterWalk(o: WalkOutcome): string | null {
  if (o.newest !== null && o.walkedAll && o.walkStart && o.newest.ms > o.walkStart.getTime()) return o.walkStart.toISOString();
  if (o.newest !== null) return o.newest.text;
  return o.trusted && !o.walkedAll ? o.storedWatermark : null;
}
