// What a reader sees on a page Hugo built, and every way it can differ from what OpenProject
// shows for the same text (issue 20). Used by the corpus proof; each check returns the
// defects it found as readable lines, so a run reports a count and the list.
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface PageExpectations {
  visible?: string[];
  breaks?: [string, string][];
  struck?: string[];
  literal?: string[];
  tables?: number;
  checked?: number;
  unchecked?: number;
  links?: string[];
  /** Images the page must show (each resolving on the site). */
  images?: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'", '#34': '"' };
export const decodeHtml = (s: string): string =>
  s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()] ?? m;
  });

const BLOCK_TAGS = /<\/?(?:p|div|h[1-6]|li|ul|ol|table|thead|tbody|tr|td|th|blockquote|pre|figure|figcaption|hr|main|section)\b[^>]*>/gi;

/** The page's main content as text: `⏎` for a line break, blocks separated by spaces; code kept or dropped. */
export function visibleText(html: string, options: { code: boolean; breaks?: boolean }): string {
  let main = /<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? html;
  main = main.replace(/<h1>[\s\S]*?<\/h1>/, ''); // the title
  if (!options.code) main = main.replace(/<pre\b[\s\S]*?<\/pre>/gi, ' ').replace(/<code\b[\s\S]*?<\/code>/gi, ' ');
  main = main.replace(/<br\s*\/?>/gi, options.breaks ? '⏎' : ' ');
  main = main.replace(/<input\b[^>]*>/gi, ' ').replace(BLOCK_TAGS, ' ').replace(/<[^>]+>/g, '');
  return decodeHtml(main).replace(/[ \t\r\n]+/g, ' ').replace(/ ?⏎ ?/g, '⏎').trim();
}

/** Text a reader should never see: OpenProject syntax or markup that was not rendered. */
const RAW_SYNTAX: [string, RegExp][] = [
  ['setting variable', /\{\{opSetting:(?:base_url|host_name)\}\}/],
  ['HTML tag', /<\/?[a-z][a-z0-9-]*(?:\s[^<>]*)?\/?>/i],
  ['##N / ###N reference', /(?:^|[\s(,[>-])#{2,3}(?:\d+|[A-Z][A-Z0-9_]*-\d+)(?![\w-])/],
  ['wiki link', /\[\[[^\]\n]+\]\]/],
  ['attribute macro', /\b(?:workPackage|project)(?:Label|Value):/],
  ['resource link', /(?:^|[\s(,[>-])(?:version|project|user|group|document|message|meeting|view)#\d+/],
  ['resource link', /(?:^|[\s(,[>-])(?:commit|source|export|attachment|version|project|user):\S/],
  ['HTML entity as text', /&(?:amp|lt|gt|quot|nbsp|#x?[0-9a-f]+);?(?=\W)/i],
  ['markdown escape as text', /\\[\\`*_{}[\]()#+\-.!~|<>&'"]/],
  ['strikethrough markers', /~~/],
  ['raw HTML omitted', /raw HTML omitted/],
  ['shortcode', /\{\{[<%]/],
];

export function pageDefects(html: string, expect: PageExpectations, resolve: (href: string) => 'ok' | 'missing' | 'external'): string[] {
  const defects: string[] = [];
  if (html.includes('raw HTML omitted')) defects.push('raw HTML omitted');
  const prose = visibleText(html, { code: false });
  const all = visibleText(html, { code: true });
  // What OpenProject itself shows literally (escaped syntax, invalid variables) may stay.
  let checked = prose;
  for (const allowed of [...(expect.literal ?? []), ...(expect.visible ?? [])].sort((a, b) => b.length - a.length)) checked = checked.split(allowed).join(' ');
  for (const [what, re] of RAW_SYNTAX) {
    const m = re.exec(checked);
    if (m) defects.push(`${what} visible: "${checked.slice(Math.max(0, m.index - 20), m.index + m[0].length + 20)}"`);
  }
  const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
  for (const v of expect.visible ?? []) if (!all.includes(norm(v))) defects.push(`text lost: "${v}"`);
  for (const v of expect.literal ?? []) if (!all.includes(v)) defects.push(`not shown as written: "${v}"`);
  const withBreaks = visibleText(html, { code: true, breaks: true });
  for (const [a, b] of expect.breaks ?? []) if (!withBreaks.includes(`${norm(a)}⏎${norm(b)}`)) defects.push(`line break lost between "${a}" and "${b}"`);
  const dels = [...html.matchAll(/<del>([\s\S]*?)<\/del>/g)].map((m) => visibleText(m[1]!, { code: true }));
  for (const s of expect.struck ?? []) if (!dels.some((d) => d.includes(s))) defects.push(`not struck through: "${s}"`);
  for (const s of expect.literal ?? []) if (dels.some((d) => s.includes(d) && d !== '')) defects.push(`struck through but OpenProject shows the text: "${s}"`);
  const tables = (html.match(/<table\b/g) ?? []).length;
  if (tables < (expect.tables ?? 0)) defects.push(`tables: ${tables} of ${expect.tables}`);
  for (const head of html.matchAll(/<thead>([\s\S]*?)<\/thead>/g)) if (visibleText(head[1]!, { code: true }) === '') defects.push('an empty table header row');
  const inputs = [...html.matchAll(/<input\b[^>]*type="?checkbox"?[^>]*>/g)].map((m) => m[0]);
  const ticked = inputs.filter((i) => /\bchecked\b/.test(i)).length + (all.match(/☑/g) ?? []).length;
  const open = inputs.length - inputs.filter((i) => /\bchecked\b/.test(i)).length + (all.match(/☐/g) ?? []).length;
  if (expect.checked !== undefined && ticked !== expect.checked) defects.push(`checked boxes: ${ticked}, OpenProject shows ${expect.checked}`);
  if (expect.unchecked !== undefined && open !== expect.unchecked) defects.push(`unchecked boxes: ${open}, OpenProject shows ${expect.unchecked}`);
  const hrefs = [...html.matchAll(/<a\b[^>]*?\shref="([^"]*)"/g)].map((m) => m[1]!);
  for (const raw of hrefs) {
    const href = decodeHtml(raw);
    if (/\{\{|%7B%7B|&amp;|&#/i.test(href)) defects.push(`broken link target: ${href}`);
    else if (resolve(href) === 'missing') defects.push(`link does not resolve: ${href}`);
  }
  for (const want of expect.links ?? []) if (!hrefs.some((h) => decodeHtml(h).includes(want))) defects.push(`no link to ${want}`);
  const images = [...html.matchAll(/<img\b[^>]*?\ssrc="([^"]*)"/g)];
  if (images.length < (expect.images ?? 0)) defects.push(`images shown: ${images.length} of ${expect.images}`);
  for (const m of images) if (resolve(decodeHtml(m[1]!)) === 'missing') defects.push(`image does not resolve: ${m[1]}`);
  return defects;
}

/** Resolves an URL of a built site (relative to a page) to a file in public/, or says it is external. */
export function siteResolver(publicDir: string, base: string, pageUrl: string): (href: string) => 'ok' | 'missing' | 'external' {
  return (href) => {
    if (href.startsWith('#') || /^mailto:/i.test(href)) return 'external';
    let url: URL;
    try {
      url = new URL(href, `${base}${pageUrl}`);
    } catch {
      return 'missing';
    }
    if (url.origin !== base) return /^https?:$/.test(url.protocol) ? 'external' : 'missing';
    const p = decodeURIComponent(url.pathname);
    const file = path.join(publicDir, ...p.split('/').filter(Boolean), ...(p.endsWith('/') ? ['index.html'] : []));
    return existsSync(file) ? 'ok' : 'missing';
  };
}
