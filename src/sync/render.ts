// Rendering a sync report's plan as a unified diff (for people) or a git patch (for
// `git apply`). Reads the old and new bytes through the report. The diff code (and the
// `diff` package, ~40 ms to load) is imported on first use: most runs (cron, --json,
// no change) never render a diff, and process start is a share of a no-change sync.
import { changedFiles, filesOf } from '../plan/planned.js';
import type { FileChange } from '../plan/diff.js';
import type { PlannedFile } from '../plan/types.js';
import type { SyncReport } from './run.js';

async function changeOf(report: SyncReport, f: PlannedFile): Promise<FileChange> {
  return { path: f.path, oldBytes: f.action === 'create' ? null : await report.readOld(f.path), newBytes: await report.readNew(f), binary: f.binary };
}

/** Unified diff of every change, git-style headers; ANSI colours when asked. */
export async function* renderDiff(report: SyncReport, options: { color: boolean }): AsyncGenerator<string> {
  const { colorize, renderChange } = await import('../plan/diff.js');
  for (const f of changedFiles(filesOf(report.plan))) {
    for (const line of renderChange(await changeOf(report, f))) yield options.color ? colorize(line) : line;
  }
}

/** A patch `git apply` accepts that turns the old tree into the new one, binaries included. */
export async function* renderPatch(report: SyncReport): AsyncGenerator<string> {
  const { renderPatchChange } = await import('../plan/diff.js');
  for (const f of changedFiles(filesOf(report.plan))) {
    for (const line of renderPatchChange(await changeOf(report, f))) yield line;
  }
}
