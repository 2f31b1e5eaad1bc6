// Pages, not files: what a person reviewing a sync (a commit message, a pull request, a
// job summary) wants to read. A work package's files are grouped into one page; its
// title comes from the page's frontmatter, its site path from where the file sits and
// its `slug`/`url`, as Hugo's default permalinks make it. Pure, but for the callers'
// readers.
import path from 'node:path';
import yaml from 'js-yaml';

export type PageAction = 'create' | 'update' | 'delete';

/** One changed file of a work package (a plan entry, or a path in a commit). */
export interface FileChange {
  path: string;
  action: PageAction;
  workPackageId: number;
  renamed?: boolean;
}

export interface Page {
  id: number;
  action: PageAction;
  /** The markdown file that holds the page's frontmatter (new one, else the deleted one); null when none changed. */
  pageFile: string | null;
  /** Files of this work package that changed. */
  files: number;
}

export interface DescribedPage extends Page {
  title: string | null;
  sitePath: string | null;
}

const isMarkdown = (p: string): boolean => /\.(md|markdown)$/i.test(p);

/** Changed files grouped by work package, one page each, sorted by id. */
export function pagesOf(changes: Iterable<FileChange>): Page[] {
  const byId = new Map<number, FileChange[]>();
  for (const c of changes) {
    const list = byId.get(c.workPackageId);
    if (list) list.push(c);
    else byId.set(c.workPackageId, [c]);
  }
  const pages: Page[] = [];
  for (const [id, list] of byId) {
    const md = list.filter((c) => isMarkdown(c.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const live = md.find((c) => c.action !== 'delete');
    const allDeleted = list.every((c) => c.action === 'delete');
    let action: PageAction;
    if (allDeleted) action = 'delete';
    // A page file created while an older one went (a rename) is the same page, updated.
    else if (live?.action === 'create' && !live.renamed && !list.some((c) => c.action === 'delete')) action = 'create';
    else action = 'update';
    pages.push({ id, action, pageFile: (live ?? md[0])?.path ?? null, files: list.length });
  }
  return pages.sort((a, b) => a.id - b.id);
}

/** The frontmatter of a markdown file, or null when it has none that parses. */
export function frontmatterOf(text: string): Record<string, unknown> | null {
  const m = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)\s*(?:\r?\n|$)/.exec(text);
  if (!m) return null;
  try {
    const data = yaml.load(m[1]!, { schema: yaml.JSON_SCHEMA });
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function titleOf(fm: Record<string, unknown> | null): string | null {
  const t = fm?.title;
  return typeof t === 'string' && t.trim() ? oneLine(t) : typeof t === 'number' ? String(t) : null;
}

/**
 * The folder of Hugo's content tree that `outputRoot` is in, as a path prefix: '' when the
 * output root is `content` itself (or no folder above it is called `content`), else the
 * part below it (`content/docs/op` → `docs/op`).
 */
export function contentPrefix(outputRoot: string): string {
  const parts = path.resolve(outputRoot).split(path.sep).filter(Boolean);
  const at = parts.lastIndexOf('content');
  return at < 0 ? '' : parts.slice(at + 1).join('/');
}

/** The page's URL path as Hugo's defaults make it: `url` if set, else its folder with `slug` for the last part. */
export function sitePathOf(prefix: string, rel: string, fm: Record<string, unknown> | null): string {
  if (typeof fm?.url === 'string' && fm.url.trim()) return fm.url.trim();
  const full = [prefix, rel].filter(Boolean).join('/');
  const dir = path.posix.dirname(full);
  const base = path.posix.basename(full).replace(/\.(md|markdown)$/i, '');
  // A bundle's index.md is the folder; _index.md a section.
  const [parent, leaf] = base === 'index' || base === '_index' ? [path.posix.dirname(dir), path.posix.basename(dir)] : [dir, base];
  const slug = typeof fm?.slug === 'string' && fm.slug.trim() ? fm.slug.trim() : typeof fm?.slug === 'number' ? String(fm.slug) : leaf;
  const segs = [parent === '.' ? '' : parent, base === '_index' ? leaf : slug].filter((s) => s && s !== '.');
  return `/${segs.join('/')}/`.replace(/\/+/g, '/');
}

/** Describe pages, reading the frontmatter of at most `limit` of them (the rest keep null). */
export async function describePages(pages: readonly Page[], read: (p: Page) => Promise<Buffer | string | null>, prefix: string, limit = Infinity): Promise<DescribedPage[]> {
  const out: DescribedPage[] = [];
  for (const [i, p] of pages.entries()) {
    if (i >= limit || p.pageFile === null) {
      out.push({ ...p, title: null, sitePath: p.pageFile === null ? null : sitePathOf(prefix, p.pageFile, null) });
      continue;
    }
    const bytes = await read(p).catch(() => null);
    const fm = bytes === null ? null : frontmatterOf(typeof bytes === 'string' ? bytes : bytes.toString('utf8', 0, Math.min(bytes.length, 64 * 1024)));
    out.push({ ...p, title: titleOf(fm), sitePath: sitePathOf(prefix, p.pageFile, fm) });
  }
  return out;
}

const VERB: Record<PageAction, string> = { create: 'create', update: 'update', delete: 'delete' };
const PAST: Record<PageAction, string> = { create: 'created', update: 'updated', delete: 'deleted' };

/** `"Title" (#12)`, or `#12` when the title is unknown. */
export function pageLabel(p: { id: number; title: string | null }): string {
  return p.title ? `${JSON.stringify(p.title)} (#${p.id})` : `#${p.id}`;
}

/** "2 created, 1 updated" (only the actions that occur); "" for none. */
export function pageCounts(pages: readonly { action: PageAction }[]): string {
  const n = { create: 0, update: 0, delete: 0 };
  for (const p of pages) n[p.action] += 1;
  return (['create', 'update', 'delete'] as const)
    .filter((a) => n[a])
    .map((a) => `${n[a]} ${PAST[a]}`)
    .join(', ');
}

/** At most this many pages are listed in a commit message body. */
export const COMMIT_LIST_MAX = 100;

/**
 * A commit message that names pages: `curate: update "Title" (#1234)` for one,
 * `curate: 3 pages (1 created, 2 updated)` and one line per page for several.
 */
export function pageCommitMessage(pages: readonly DescribedPage[], o: { failed?: number; otherFiles?: number; leftovers?: number; trailer?: string } = {}): string {
  let subject: string;
  const body: string[] = [];
  if (pages.length === 1) subject = `curate: ${VERB[pages[0]!.action]} ${pageLabel(pages[0]!)}`;
  else if (pages.length > 1) {
    subject = `curate: ${pages.length} pages (${pageCounts(pages)})`;
    for (const p of pages.slice(0, COMMIT_LIST_MAX)) body.push(`- ${VERB[p.action]} ${pageLabel(p)}`);
    if (pages.length > COMMIT_LIST_MAX) body.push(`- … and ${pages.length - COMMIT_LIST_MAX} more`);
  } else subject = 'curate: sync state';
  const notes: string[] = [];
  if (o.leftovers) notes.push(`Includes ${o.leftovers} file${o.leftovers === 1 ? '' : 's'} curate wrote in earlier runs that were not committed then.`);
  if (o.failed) notes.push(`${o.failed} item${o.failed === 1 ? '' : 's'} failed and kept ${o.failed === 1 ? 'its' : 'their'} last good files (retried on the next run).`);
  if (o.trailer) notes.push(o.trailer);
  return [subject, body.join('\n'), notes.join('\n')].filter(Boolean).join('\n\n');
}
