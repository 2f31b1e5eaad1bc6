// Progress events the sync core emits; the CLI decides how to show them (spinner,
// timestamped lines, nothing).
export type SyncEvent =
  | { type: 'phase'; phase: 'resolve' | 'list' | 'map' | 'plan' | 'apply' | 'done' }
  | { type: 'page'; source: string; offset: number; total: number; workPackages: number }
  /** A work package's outcome: mapped, or `skipped` (kept as it was). */
  | { type: 'workPackage'; source: string; id: number; skipped: boolean }
  /**
   * Work packages of one source kept as they were with the rest of their shard, on the
   * shard's summary (their entries not read: no garbage to speak of). One event for them
   * all: a no-change run of 30,000 keeps nearly every work package this way.
   */
  | { type: 'keptShard'; source: string; shard: number; ids: readonly number[] }
  | { type: 'download'; attachmentId: number; bytes: number }
  | { type: 'write'; path: string; action: 'create' | 'update' | 'delete' }
  /**
   * A real run is about to apply a plan that deletes these paths (emitted only when there
   * are some, before anything is written): a caller that wants what they hold, such as
   * `--summary` naming the pages it deletes, reads them now.
   */
  | { type: 'deleting'; paths: readonly string[] }
  /**
   * A shard of the state made ready to be put in place (its entries stringified into a temp
   * file); `mapped`: how many of its entries this run mapped (read back from its spill).
   */
  | { type: 'stateShard'; shard: number; bytes: number; mapped: number }
  /**
   * A shard of the state read (its text indexed, or parsed whole): `bytes` of text that
   * become garbage once the run lets go of it (PreviousState keeps two texts in hand).
   */
  | { type: 'stateRead'; shard: number; bytes: number }
  | { type: 'itemError'; error: ItemError }
  | { type: 'warning'; message: string };

/**
 * What went wrong with one item, so users (and `--json` consumers, and tests) can match on
 * the kind rather than on the message's words:
 * - `mapping`: the profile could not map it (bad data, an unsafe path), or it could not be read;
 * - `payload`: the server's element failed validation (the message names the field);
 * - `attachment`: an attachment could not be downloaded (or again, for a file lost on disk);
 * - `collision`: another work package maps to the same path (the lower id keeps it);
 * - `hand-written`: the path holds a file curate does not own;
 * - `blocked-path`: a folder stands where its file belongs (or a file where its folder does);
 * - `overlap`: two sources match the work package;
 * - `unconfirmed-gone`: missing from the listing, and the server could not confirm it is gone;
 * - `source`: a whole source was not synced (unresolvable names, a listing that failed).
 */
export type ItemErrorKind = 'mapping' | 'payload' | 'attachment' | 'collision' | 'hand-written' | 'blocked-path' | 'overlap' | 'unconfirmed-gone' | 'source';

export interface ItemError {
  kind: ItemErrorKind;
  source?: string;
  workPackageId?: number;
  attachmentId?: number;
  message: string;
}
