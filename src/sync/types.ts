// The options and the report of a sync run: the library's public contract.
import type { OpenProjectClient } from '../openproject/types.js';
import type { StateCache } from '../output/manifest.js';
import type { PlanCounts, PlannedFile, SyncPlan } from '../plan/types.js';
import type { Profile, SourceSpec } from '../types.js';
import type { ItemError, SyncEvent } from './events.js';

export interface SyncOptions {
  /** Absolute output root; every written path is confined to it. */
  outputRoot: string;
  sources: SourceSpec[];
  profile: Profile;
  client: OpenProjectClient;
  /** Injected clock for profiles (event buckets) and reports. */
  now: Date;
  /** Build and return the plan; write nothing under the output root. */
  dryRun?: boolean;
  /** Ignore the watermark and re-map every work package (unchanged files are still not rewritten). */
  full?: boolean;
  allowMassDelete?: boolean;
  /** Largest share of owned files one run may delete. @default 0.2 */
  deleteThreshold?: number;
  /** Overlap subtracted from the watermark against clock skew, seconds. @default 300 */
  overlapSeconds?: number;
  /**
   * How long after a source's last walk of every work package the next one is due (the
   * audit): the one way a change no incremental signal shows (a custom option renamed) is
   * bounded. Costs one listing of the source's work packages (no downloads, no mapping of
   * what is unchanged). @default 24 h
   */
  auditIntervalMs?: number;
  /** This machine's clock, for the watermark's "not in the future" ceiling and the audit. @default the system clock */
  clock?: () => Date;
  /** @default 50 MiB */
  maxAttachmentBytes?: number;
  /**
   * The client's request concurrency. Work packages are processed 4× as wide: each one
   * spends most of its time waiting for the client's (bounded) requests, so this keeps
   * every request slot busy without unbounded memory. @default 8
   */
  concurrency?: number;
  onEvent?: (e: SyncEvent) => void;
  /**
   * Targeted sync (`curate watch`): only these work package ids are read, mapped and
   * planned; every other owned work package is kept as it is, no watermark moves, and
   * nothing outside these ids is deleted. An id no source matches any more has its files
   * removed (after confirming it is gone). Absent: an ordinary sync.
   */
  onlyIds?: number[];
  /**
   * Stops the run at the next checkpoint (between work packages, downloads and writes)
   * with the signal's reason. Aborting while applying leaves every file old or new and
   * the manifest old; the next run converges.
   */
  signal?: AbortSignal;
  /**
   * For a long-lived caller running many syncs on one root (`curate watch`): the state's
   * shards parsed by earlier runs (the last few), reused when unchanged on disk, so a run
   * that needs one of them again does not read it again (createStateCache). Absent: a run
   * reads every shard it needs from disk.
   */
  stateCache?: StateCache;
  /**
   * How many bytes of the state's shard texts a run keeps in memory (PreviousState;
   * default ~16 MB, at least two shards): a shard let go of is read again when needed.
   */
  stateTextBytes?: number;
  /** The most rows a source's `recent` record holds (default RECENT_ROWS, collect.ts); a source with more in the overlap stores none. */
  recentRows?: number;
  /**
   * How long before a folder was looked at its last change must be for its stamp to be
   * recorded (sync/folder-trust.ts; default FOLDER_STAMP_MARGIN_MS, 2 s). Timestamps advance
   * by a clock tick, so a change in the same tick as the look would not show.
   */
  folderStampMarginMs?: number;
  /** Folders holding at least this many of the state's files get a stamp (default STAMPED_FOLDER_NAMES, 64; collect-run.ts). */
  folderStampMinFiles?: number;
}

export interface SyncReport {
  plan: SyncPlan;
  applied: boolean;
  dryRun: boolean;
  /**
   * A dry run only: why a real run would refuse to apply this plan (the mass-delete brake),
   * or null. A real run that hits the brake throws SafetyError instead and applies nothing.
   */
  refused?: string | null;
  counts: {
    total: PlanCounts;
    bySource: Record<string, PlanCounts>;
    workPackages: { listed: number; mapped: number; skipped: number; failed: number; deferred: number };
  };
  errors: ItemError[];
  warnings: string[];
  timings: { totalMs: number; fetchMs: number; applyMs: number };
  /**
   * The state as this run found it: its shard files, and how many of them the run read (an
   * ordinary run reads a shard only when one of its work packages changed, went, or cannot
   * be proved unchanged from the shard's summary; other runs read them all), and how many
   * entries of those it parsed (an ordinary run parses only those it looks at).
   */
  state: {
    shards: number;
    shardsRead: number;
    entriesParsed: number;
    /** Content folders listed to check that owned files are there, and those taken as unchanged from their stamp instead (output/folder-stamps.ts). */
    foldersListed: number;
    foldersTrusted: number;
  };
  requests: { total: number; byRoute: Record<string, number>; bytes: number; retries: number };
  watermarks: Record<string, string | null>;
  /** Paths (relative to the root) this run created, updated or deleted, plus the manifest when it changed. */
  touchedFiles: string[];
  /** The work packages the state owns after this run (would own, for a dry run). */
  ownedIds(): Set<number>;
  /** The bytes a path holds now (before applying) and would hold after. For diffs and patches. */
  readOld(rel: string): Promise<Buffer | null>;
  readNew(file: PlannedFile): Promise<Buffer | null>;
  /** Remove dry-run staging. Safe to call twice. */
  dispose(): Promise<void>;
}
