// Plan → human lines (summary). Pure.
import { countPlan, type SyncPlan } from './types.js';

/** Counts per action and source, then the changed files (at most `maxFiles`). */
export function renderPlanSummary(plan: SyncPlan, options: { maxFiles?: number } = {}): string[] {
  const lines: string[] = [];
  const total = countPlan(plan.files, plan.unlisted);
  const bySource = new Map<string, SyncPlan['files']>();
  for (const name in plan.unlisted ?? {}) bySource.set(name, []);
  for (const f of plan.files) {
    if (!bySource.has(f.source)) bySource.set(f.source, []);
    bySource.get(f.source)!.push(f);
  }
  const fmt = (c: ReturnType<typeof countPlan>): string =>
    `${c.create} to create, ${c.update} to update, ${c.delete} to delete${c.rename ? ` (${c.rename} renamed)` : ''}, ${c.unchanged} unchanged`;
  lines.push(`Plan: ${fmt(total)}`);
  for (const name of [...bySource.keys()].sort()) lines.push(`  ${name}: ${fmt(countPlan(bySource.get(name)!, plan.unlisted, name))}`);
  const changed = plan.files.filter((f) => f.action !== 'unchanged');
  const max = options.maxFiles ?? Infinity;
  for (const f of changed.slice(0, max)) {
    const mark = f.action === 'create' ? '+' : f.action === 'delete' ? '-' : '~';
    lines.push(`  ${mark} ${f.path}${f.renamedFrom ? ` (renamed from ${f.renamedFrom})` : ''}`);
  }
  if (changed.length > max) lines.push(`  … and ${changed.length - max} more (--verbose lists them all)`);
  return lines;
}
