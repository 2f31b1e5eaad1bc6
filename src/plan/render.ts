// Plan → human lines (summary). Pure.
import { filesOf } from './planned.js';
import { countFiles, type PlanCounts, type SyncPlan } from './types.js';

/** Counts per action and source, then the changed files (at most `maxFiles`). */
export function renderPlanSummary(plan: SyncPlan, options: { maxFiles?: number } = {}): string[] {
  const lines: string[] = [];
  const files = filesOf(plan);
  const total = countFiles(files, plan.unlisted);
  const sources = new Set<string>(Object.keys(plan.unlisted ?? {}));
  for (let i = 0; i < files.length; i++) sources.add(files.source(i));
  const fmt = (c: PlanCounts): string =>
    `${c.create} to create, ${c.update} to update, ${c.delete} to delete${c.rename ? ` (${c.rename} renamed)` : ''}, ${c.unchanged} unchanged`;
  lines.push(`Plan: ${fmt(total)}`);
  for (const name of [...sources].sort()) lines.push(`  ${name}: ${fmt(countFiles(files, plan.unlisted, name))}`);
  const max = options.maxFiles ?? Infinity;
  let changed = 0;
  for (let i = 0; i < files.length; i++) {
    const action = files.action(i);
    if (action === 'unchanged' || changed++ >= max) continue;
    const mark = action === 'create' ? '+' : action === 'delete' ? '-' : '~';
    const from = files.renamedFrom(i);
    lines.push(`  ${mark} ${files.path(i)}${from ? ` (renamed from ${from})` : ''}`);
  }
  if (changed > max) lines.push(`  … and ${changed - max} more (--verbose lists them all)`);
  return lines;
}
