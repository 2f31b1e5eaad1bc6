// The plan a sync builds before touching anything: the dry run renders it, the real
// run applies it. Pure data.
import { filesOf, listOf, type PlannedFiles } from './planned.js';

export type FileAction = 'create' | 'update' | 'delete' | 'unchanged';

/** Where a file's new bytes come from. */
export type NewContent =
  /** A verified download or a rendered text in the staging folder, by its name there (Staging.pathOf). */
  | { kind: 'staged'; name: string }
  /** Bytes already on disk at another owned path (an attachment that did not change). */
  | { kind: 'copy'; from: string };

export interface PlannedFile {
  path: string;
  action: FileAction;
  source: string;
  workPackageId: number;
  /** For create/update: the new bytes. */
  content?: NewContent;
  sha256: string | null;
  oldSha256: string | null;
  binary: boolean;
  /** The path this file replaces when a work package's file name changed. */
  renamedFrom?: string;
}

export interface SyncPlan {
  /**
   * Sorted by path: every file this run writes, deletes or compared (the files of the work
   * packages it mapped or removed, and kept files a collision involved). A run's plan makes
   * this array on first use; its own code (and a caller with a large plan) reads the files
   * one at a time with `filesOf(plan)` (plan/planned.ts) instead.
   */
  readonly files: PlannedFile[];
  /**
   * Files of work packages the run did not touch, per source: unchanged, counted rather
   * than listed (a no-change run of 30,000 work packages would list 90,000).
   */
  unlisted?: Readonly<Record<string, number>>;
}

export type PlanCounts = Record<FileAction | 'rename', number>;

/** Counts of planned files; with `unlisted`, plus those unchanged files (of all sources, or of `source`). */
export function countPlan(files: readonly PlannedFile[], unlisted?: SyncPlan['unlisted'], source?: string): PlanCounts {
  return countFiles(listOf(files), unlisted, source, false);
}

/**
 * Counts of a list's files (PlannedFiles, read without making their objects); of `source`'s
 * files only when `bySource`, with the unlisted files as countPlan.
 */
export function countFiles(files: PlannedFiles, unlisted?: SyncPlan['unlisted'], source?: string, bySource = source !== undefined): PlanCounts {
  const c: PlanCounts = { create: 0, update: 0, delete: 0, unchanged: 0, rename: 0 };
  for (let i = 0; i < files.length; i++) {
    if (bySource && files.source(i) !== source) continue;
    c[files.action(i)] += 1;
    if (files.renamedFrom(i)) c.rename += 1;
  }
  for (const name in unlisted ?? {}) if (source === undefined || name === source) c.unchanged += unlisted![name]!;
  return c;
}

export function hasChanges(plan: SyncPlan): boolean {
  const files = filesOf(plan);
  for (let i = 0; i < files.length; i++) if (files.action(i) !== 'unchanged') return true;
  return false;
}
