// `curate sync --summary FILE|-`: the run as markdown for people — a pull request body, a
// job summary ($GITHUB_STEP_SUMMARY), a chat message. Pages created, updated, deleted and
// failed, each with its title, its site path and its OpenProject link; counts in pages,
// then in files. Deterministic: sorted by id, no clock, no timings.
import { filesOf, type SyncReport } from '../sync/index.js';
import { describeFailure, shortenUrls, sortFailures } from './failures.js';
import { contentPrefix, describePages, pagesOf, type DescribedPage, type FileChange, type PageAction } from './pages.js';

/** Rows per section; the rest is counted ("… and 12 more"), so a cold sync fits a pull request body (65,536 characters). */
export const SUMMARY_ROWS_MAX = 150;

/** Text safe inside a markdown table cell: no pipes, no line breaks, no markup. */
export function cell(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/([\\`*_[\]<>|#~!])/g, '\\$1');
}

export interface SummaryOptions {
  outputRoot: string;
  /** The instance's URL (config), for links to work packages. */
  openprojectUrl: string;
  /** Titles of failed work packages (from the server). */
  titles?: ReadonlyMap<number, string>;
  /** Work packages that have files from an earlier run (their failures keep them). */
  withFiles?: ReadonlySet<number>;
  /** The bytes a deleted page had, when the run has applied (git HEAD); a dry run reads the disk. */
  readDeleted?: (rel: string) => Promise<Buffer | null>;
}

const HEADINGS: Record<PageAction, [string, string]> = {
  create: ['Created', 'To create'],
  update: ['Updated', 'To update'],
  delete: ['Deleted', 'To delete'],
};

export async function syncSummary(report: SyncReport, o: SummaryOptions): Promise<string> {
  const dry = report.dryRun;
  const base = o.openprojectUrl.replace(/\/+$/, '');
  const link = (id: number): string => `[#${id}](${base}/work_packages/${id})`;
  const files = filesOf(report.plan);
  const changes: FileChange[] = [];
  for (let i = 0; i < files.length; i++) {
    const action = files.action(i);
    if (action !== 'unchanged') changes.push({ path: files.path(i), action, workPackageId: files.workPackageId(i), renamed: !!files.renamedFrom(i) });
  }
  const read = async (p: { action: PageAction; pageFile: string | null }): Promise<Buffer | null> => {
    if (p.pageFile === null) return null;
    if (p.action !== 'delete') return report.readNew(files.at(files.indexOf(p.pageFile)));
    return dry ? report.readOld(p.pageFile) : (o.readDeleted?.(p.pageFile) ?? null);
  };
  const pages = pagesOf(changes);
  // Only the rows shown are described (their page read for its title): a cold sync of
  // 30,000 work packages read every page it created to show 150 of them.
  const shown = { create: 0, update: 0, delete: 0 };
  const described = await describePages(
    pages.filter((p) => shown[p.action]++ < SUMMARY_ROWS_MAX),
    read,
    contentPrefix(o.outputRoot),
  );
  const failedIds = [...new Set(report.errors.map((e) => e.workPackageId).filter((id): id is number => id !== undefined))].sort((a, b) => a - b);
  const other = report.errors.filter((e) => e.workPackageId === undefined);

  const n = { create: 0, update: 0, delete: 0 };
  for (const p of pages) n[p.action] += 1;
  const c = report.counts.total;
  const words = dry ? { create: 'to create', update: 'to update', delete: 'to delete' } : { create: 'created', update: 'updated', delete: 'deleted' };
  const changed = pages.length;
  const lines: string[] = [];
  lines.push(`## curate sync${dry ? ' (dry run: nothing written)' : ''}`, '');
  const pageWord = (k: number): string => `${k} page${k === 1 ? '' : 's'}`;
  const parts = (['create', 'update', 'delete'] as const).filter((a) => n[a]).map((a) => `${n[a]} ${words[a]}`);
  const failedPart = failedIds.length + other.length ? `; **${failedIds.length + other.length} failed**` : '';
  lines.push(`**${changed ? `${pageWord(changed)}${dry ? '' : ' changed'}` : 'No page changed'}**${parts.length ? ` (${parts.join(', ')})` : ''}${failedPart}.`);
  if (report.refused) lines.push(`**A real run would be refused**: ${cell(report.refused)}`);
  lines.push(`Files: ${c.create} ${words.create}, ${c.update} ${words.update}, ${c.delete} ${words.delete}, ${c.unchanged} unchanged${c.rename ? ` (${c.rename} renamed)` : ''}.`);

  /** A section: its first rows (described), and how many pages it has in all. */
  const section = (action: PageAction, rows: DescribedPage[], total: number): void => {
    if (!total) return;
    lines.push('', `### ${HEADINGS[action][dry ? 1 : 0]} (${total})`, '', '| page | site path | OpenProject |', '|---|---|---|');
    for (const p of rows) lines.push(`| ${p.title ? cell(p.title) : '*(no title)*'} | ${p.sitePath ? `\`${p.sitePath.replace(/`/g, "'")}\`` : ''} | ${link(p.id)} |`);
    if (total > SUMMARY_ROWS_MAX) lines.push('', `… and ${total - SUMMARY_ROWS_MAX} more (the \`--json\` report lists every file).`);
  };
  for (const a of ['create', 'update', 'delete'] as const)
    section(
      a,
      described.filter((p) => p.action === a),
      n[a],
    );

  if (failedIds.length || other.length) {
    lines.push('', `### Failed (${failedIds.length + other.length})`, '', '| page | what failed | OpenProject |', '|---|---|---|');
    const byId = new Map<number, string[]>();
    for (const e of sortFailures(report.errors)) if (e.workPackageId !== undefined) byId.set(e.workPackageId, [...(byId.get(e.workPackageId) ?? []), describeFailure(e, { hasFiles: o.withFiles?.has(e.workPackageId) }).replace(/^#\d+: /, '')]);
    for (const id of failedIds.slice(0, SUMMARY_ROWS_MAX)) {
      const title = o.titles?.get(id);
      lines.push(`| ${title ? cell(title) : '*(title unknown)*'} | ${cell(byId.get(id)!.join('; '))} | ${link(id)} |`);
    }
    if (failedIds.length > SUMMARY_ROWS_MAX) lines.push('', `… and ${failedIds.length - SUMMARY_ROWS_MAX} more.`);
    for (const e of other) lines.push(`| — | ${cell(describeFailure(e))} | |`);
  }
  if (report.warnings.length) {
    lines.push('', `### Warnings (${report.warnings.length})`, '');
    for (const w of report.warnings.slice(0, SUMMARY_ROWS_MAX)) lines.push(`- ${cell(shortenUrls(w))}`);
  }
  return `${lines.join('\n')}\n`;
}
