// The report of a run: counts, errors, warnings, timings and requests, and how to read a
// planned file's bytes before and after (diffs, patches; the dry run's staging holds the new ones).
import { readFile } from 'node:fs/promises';
import { resolveInside } from '../output/paths.js';
import type { Staging } from '../output/staging.js';
import { filesOf } from '../plan/planned.js';
import { countFiles, type PlanCounts, type PlannedFile } from '../plan/types.js';
import type { Ledger } from './ledger.js';
import type { SyncOptions, SyncReport } from './types.js';

export function report(r: {
  plan: SyncReport['plan'];
  /** The configured sources, for the per-source counts. */
  sourceNames: readonly string[];
  dryRun: boolean;
  refused: string | null;
  root: string;
  stage: Staging;
  ledger: Ledger;
  warnings: string[];
  watermarks: Record<string, string | null>;
  /** The state's files a real run changed (the plan's files it wrote and deleted are the plan's changes). */
  stateTouched: string[];
  owned: () => Set<number>;
  client: SyncOptions['client'];
  timings: { totalMs: number; fetchMs: number; applyMs: number };
  state: SyncReport['state'];
  isDisposed(): boolean;
  markDisposed(): void;
}): SyncReport {
  const { root, dryRun } = r;
  const bySource: Record<string, PlanCounts> = {};
  const files = filesOf(r.plan);
  let touchedFiles: string[] | null = null;
  for (const name of r.sourceNames) bySource[name] = countFiles(files, r.plan.unlisted, name);
  return {
    plan: r.plan,
    applied: !dryRun,
    dryRun,
    refused: r.refused,
    counts: { total: countFiles(files, r.plan.unlisted), bySource, workPackages: r.ledger.counts() },
    errors: r.ledger.errors,
    warnings: r.warnings,
    timings: { totalMs: Math.round(r.timings.totalMs), fetchMs: Math.round(r.timings.fetchMs), applyMs: Math.round(r.timings.applyMs) },
    state: r.state,
    requests: r.client.stats(),
    watermarks: r.watermarks,
    // Made when first asked for (`--git-commit`, `curate watch`): a cold sync of 100,000
    // work packages touches 200,000 paths, each made again from the plan's table.
    get touchedFiles(): string[] {
      if (!touchedFiles) {
        touchedFiles = [...r.stateTouched];
        if (!dryRun) for (let i = 0; i < files.length; i++) if (files.action(i) !== 'unchanged') touchedFiles.push(files.path(i));
        touchedFiles.sort();
      }
      return touchedFiles;
    },
    ownedIds: r.owned,
    async readOld(rel) {
      try {
        return await readFile(resolveInside(root, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async readNew(f: PlannedFile) {
      if (f.action === 'delete') return null;
      const c = f.content;
      // After a real run the staged bytes have moved into place.
      if (!dryRun || !c) return readFile(resolveInside(root, f.path));
      if (c.kind === 'staged') return readFile(r.stage.pathOf(c.name));
      return readFile(resolveInside(root, c.from));
    },
    async dispose() {
      if (!r.isDisposed()) {
        r.markDisposed();
        await r.stage.dispose();
      }
    },
  };
}

