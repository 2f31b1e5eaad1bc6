// The HTML that OpenProject's CKEditor 5 leaves inside markdown descriptions, rewritten in
// the HTML tree (after markdown and raw HTML are parsed into one tree) into elements that
// have a markdown form. Everything is rewritten in place; nothing that carries text is
// removed (an unclosed `<macro>` swallows the rest of the description in the HTML parser,
// so even dropped macros keep their children).
import type { Element, ElementContent, Root, RootContent, Text } from 'hast';
import type { WorkPackageFacts } from '../../types.js';
import { findOpenProjectSyntax, resourceLabel, wikiLabel, type AttributeMacro, type ResourceRef, type WikiLink } from './op-syntax.js';
import { findHashReferences } from './references.js';

/** What the converter needs from the profile, per description. */
export interface DescriptionLinks {
  /**
   * An `<img src>`: `{kind:'local'}` for a file written beside the page, `{kind:'text'}` for an
   * attachment that cannot be shown (replaced by its text), null to leave the URL as it is.
   */
  image(src: string): LocalImage | { kind: 'text'; text: string } | null;
  /** A link's href, rewritten (attachments → local files, instance URLs → absolute or internal). */
  href(href: string): string;
  /** Where a reference to work package `id` links to, or null to leave it as text. */
  workPackage(id: number): string | null;
  /**
   * What `##N` / `###N` show of work package `id`: its facts, null when it is not visible or
   * does not exist; absent (or undefined) when nothing can be known (mapping outside a sync).
   */
  workPackageFacts?(id: number): WorkPackageFacts | null | undefined;
  /** Link for macros that only OpenProject can render (embedded tables), or null. */
  openProjectPage: string | null;
  /** `{{opSetting:base_url}}`: the instance root readers can open, or null (the variable then expands to nothing). */
  baseUrl?: string | null;
  /** OpenProject's other link syntaxes (`version#3`, `commit:abc`, `[[Wiki]]`, `attachment:a.zip`): where they link, or null for text. */
  resource?(ref: ResourceRef): string | null;
  wiki?(link: WikiLink): string | null;
  /** A work package by its semantic identifier (`#PROJ-7`): where it links, or null for text. */
  semanticWorkPackage?(key: string): string | null;
  /** An attribute macro (`workPackageValue:subject`): what the page shows instead of the macro. */
  attribute?(macro: AttributeMacro): { text: string; href: string | null };
}

export interface LocalImage {
  kind: 'local';
  src: string;
  width: number;
  height: number;
}

/** A block image, turned into Hugo's `figure` shortcode when the tree becomes markdown. */
export const FIGURE = 'curate-figure';

const BLOCK = new Set(['address', 'article', 'aside', 'blockquote', 'details', 'dl', 'div', 'figure', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'ol', 'p', 'pre', 'section', 'table', 'ul', FIGURE]);
const MEDIA = new Set(['oembed', 'embed', 'iframe', 'video', 'audio', 'object']);
const NO_REFERENCES = new Set(['a', 'code', 'pre', 'kbd', 'samp', 'script', 'style', FIGURE]);

type Parent = Root | Element;

const SAFE_IMAGE_SRC = /^(?:https?:|data:image\/|[^:/?#]*(?:[/?#]|$))/i;

/** Relative URLs, anchors, and the protocols OpenProject's sanitizer keeps in links. */
const SAFE_HREF = /^(?:(?:https?|ftps?|mailto|tel):|[^:/?#]*(?:[/?#]|$))/i;

const el = (tagName: string, properties: Element['properties'], children: ElementContent[]): Element => ({ type: 'element', tagName, properties, children });
const text = (value: string): Text => ({ type: 'text', value });
const classes = (e: Element): string[] => {
  const c: unknown = e.properties.className;
  return Array.isArray(c) ? c.map(String) : typeof c === 'string' ? c.split(/\s+/) : [];
};
const prop = (e: Element, name: string): string | undefined => {
  const v = e.properties[name];
  return v === undefined || v === null || v === false ? undefined : Array.isArray(v) ? v.join(' ') : String(v);
};

export function textOf(node: RootContent | Root | ElementContent): string {
  if (node.type === 'text') return node.value;
  if (node.type === 'element' || node.type === 'root') return node.children.map((c) => textOf(c)).join('');
  return '';
}

/** Rewrites the CKEditor tree in place. */
export function rewriteCkeditor(tree: Root, links: DescriptionLinks): void {
  rewriteChildren(tree, links);
  linkHashReferences(tree, links, false);
}

function rewriteChildren(parent: Parent, links: DescriptionLinks): void {
  const out: (RootContent & ElementContent)[] = [];
  for (const child of parent.children as (RootContent & ElementContent)[]) {
    if (child.type === 'comment') continue; // comments are not content
    if (child.type !== 'element') {
      out.push(child);
      continue;
    }
    out.push(...rewriteElement(child, links));
  }
  parent.children = CONTAINERS.has(parent.type === 'root' ? '' : parent.tagName) ? standaloneImagesAsFigures(out) : out;
}

/** Block containers where a lone image (raw `<img>` between blocks) is a figure, not inline. */
const CONTAINERS = new Set(['', 'div', 'blockquote', 'section', 'article', 'li', 'details']);

function standaloneImagesAsFigures(nodes: ElementContent[]): ElementContent[] {
  const isBlank = (n: ElementContent | undefined): boolean => n === undefined || (n.type === 'text' && n.value.trim() === '');
  const isBlockOrNone = (n: ElementContent | undefined): boolean => n === undefined || (n.type === 'element' && BLOCK.has(n.tagName));
  return nodes.map((n, i) => {
    if (n.type !== 'element' || n.tagName !== 'img' || n.properties.dataCurateLocal !== true) return n;
    let prev = i - 1;
    while (prev >= 0 && isBlank(nodes[prev])) prev--;
    let next = i + 1;
    while (next < nodes.length && isBlank(nodes[next])) next++;
    if (!isBlockOrNone(nodes[prev]) || !isBlockOrNone(nodes[next])) return n;
    return el(FIGURE, { src: String(n.properties.src), alt: String(n.properties.alt), width: Number(n.properties.dataWidth), height: Number(n.properties.dataHeight), caption: '' }, []);
  });
}

function rewriteElement(e: Element, links: DescriptionLinks): ElementContent[] {
  const tag = e.tagName;
  // CKEditor's placeholder inside empty cells and paragraphs.
  if (tag === 'br' && prop(e, 'dataCkeFiller') !== undefined) return [];
  if (tag === 'mention') return mention(e, links);
  if (tag === 'opce-macro-wp-quickinfo') return workPackageRef(e, prop(e, 'dataId'), links);
  if (tag === 'macro' || tag.startsWith('opce-macro-')) return macro(e, links);
  if (tag === 'figure') {
    const fig = figure(e, links);
    if (fig) return [fig];
  }
  if (tag === 'img') return image(e, links, false);
  if (MEDIA.has(tag)) {
    // Embedded media (CKEditor's media embed, iframes, video): markdown has no player, so the
    // reader gets a link to what was embedded.
    const source = findFirst(e, 'source');
    const url = prop(e, 'url') ?? prop(e, 'src') ?? prop(e, 'data') ?? (source ? prop(source, 'src') : undefined);
    const label = prop(e, 'title') ?? url;
    return url ? [el('a', { href: links.href(url) }, [text(label ?? url)])] : [];
  }
  rewriteChildren(e, links);
  if (tag === 'p') {
    const block = blockImage(e);
    if (block) return [block];
  }
  if (tag === 'a') {
    const href = prop(e, 'href');
    // OpenProject's sanitizer drops links of other protocols (`javascript:`, `data:`): their text stays.
    if (href !== undefined && !SAFE_HREF.test(href.trim())) return e.children;
    if (href !== undefined) e.properties = { ...e.properties, href: links.href(href) };
    return [e];
  }
  // No markdown for underline or highlight: the nearest emphasis keeps the author's stress.
  if (tag === 'u' || tag === 'ins') return [el('em', {}, e.children)];
  if (tag === 'mark') return [el('strong', {}, e.children)];
  if (tag === 'td' || tag === 'th') {
    checkboxesAsText(e);
    flattenCell(e);
  }
  if (tag === 'li') todoItem(e);
  if (tag === 'table') headerRow(e);
  return [e];
}

const isCheckbox = (n: ElementContent): n is Element => n.type === 'element' && n.tagName === 'input' && prop(n, 'type')?.toLowerCase() === 'checkbox';

/** A task's checkbox in a table cell (no GFM task list there) is shown as ☑ / ☐, keeping its state. */
function checkboxesAsText(e: Element): void {
  e.children = e.children.map((c) => (isCheckbox(c) ? text(c.properties.checked ? '☑ ' : '☐ ') : c));
  for (const c of e.children) if (c.type === 'element') checkboxesAsText(c);
}

/**
 * CKEditor's to-do list item (`<li><label class="todo-list__label"><input type=checkbox>
 * <span>text</span></label></li>`): the checkbox first, as a GFM task list item has it.
 */
function todoItem(li: Element): void {
  const labelEl = li.children.find((c): c is Element => c.type === 'element' && c.tagName === 'label' && c.children.some(isCheckbox));
  if (!labelEl) return;
  const box = labelEl.children.find(isCheckbox)!;
  const rest = labelEl.children.filter((c) => c !== box);
  li.children = [box, text(' '), ...li.children.flatMap((c) => (c === labelEl ? rest : [c]))];
}

/**
 * A GFM table always has a header row; CKEditor's default table has none. Its first row
 * becomes the header (rather than an empty header row above it).
 */
function headerRow(table: Element): void {
  const sections = table.children.filter((c): c is Element => c.type === 'element');
  if (sections.some((s) => s.tagName === 'thead' && s.children.some((r) => r.type === 'element' && r.tagName === 'tr'))) return;
  const rows = sections.flatMap((s) => (s.tagName === 'tr' ? [s] : s.tagName === 'tbody' || s.tagName === 'tfoot' ? s.children.filter((r): r is Element => r.type === 'element' && r.tagName === 'tr') : []));
  const first = rows[0];
  if (!first) return;
  for (const cell of first.children) if (cell.type === 'element' && cell.tagName === 'td') cell.tagName = 'th';
}

function mention(e: Element, links: DescriptionLinks): ElementContent[] {
  const type = prop(e, 'dataType');
  if (type === 'work_package') return workPackageRef(e, prop(e, 'dataId'), links);
  // Users and groups: their visible name. An empty element (older editors) carries it in data-text.
  if (textOf(e).trim() === '') return [text(prop(e, 'dataText') ?? '')];
  rewriteChildren(e, links);
  return e.children;
}

function workPackageRef(e: Element, rawId: string | undefined, links: DescriptionLinks): ElementContent[] {
  const shown = textOf(e).trim();
  const id = rawId !== undefined && /^[1-9]\d*$/.test(rawId) ? Number(rawId) : null;
  // A quick info: CKEditor's `<opce-macro-wp-quickinfo data-detailed>` element, or a mention
  // whose text has two or three hashes (OpenProject's mention_filter.rb counts them).
  const hashes = /^(#{2,3})[\w-]+$/.exec(shown)?.[1]?.length ?? /^(#{2,3})\w/.exec(prop(e, 'dataText') ?? '')?.[1]?.length ?? 1;
  const detailed = e.tagName === 'opce-macro-wp-quickinfo' ? prop(e, 'dataDetailed') === 'true' : hashes === 3;
  if (id !== null && (e.tagName === 'opce-macro-wp-quickinfo' || hashes > 1)) {
    // A semantic identifier (`data-display-id="KSTP-2"`) is the label as it is, without a hash (format_display_id).
    const display = prop(e, 'dataDisplayId');
    const quick = quickInfo(id, detailed, links, display !== undefined && /[A-Za-z]/.test(display) ? display : `#${id}`);
    if (quick) return [quick];
  }
  // `##42`, `###KSTP-2` whose target is not known: the page shows `#42`, `#KSTP-2`, never the hashes.
  const label = /^#{2,3}[\w-]+$/.test(shown) ? [text(shown.replace(/^#+/, '#'))] : shown !== '' ? e.children : [text((prop(e, 'dataText') ?? (rawId ? `#${rawId}` : '')).replace(/^#{2,3}(?=\w)/, '#'))];
  const href = id === null ? null : links.workPackage(id);
  // The label is what the author saw (`#12`); it must not be linked a second time.
  return href === null ? [el('span', { dataCurateLabel: true }, label)] : [el('a', { href }, label)];
}

function macro(e: Element, links: DescriptionLinks): ElementContent[] {
  rewriteChildren(e, links);
  const kind = classes(e)[0] ?? (e.tagName === 'macro' ? '' : e.tagName.replace(/^opce-macro-/, ''));
  const kept = e.children.filter((c) => !(c.type === 'text' && c.value.trim() === ''));
  switch (kind) {
    case '': // a bare `<macro>` names nothing (OpenProject's own specs write `<macro class="toc"><macro>`)
    case 'toc': // Hugo themes build their own table of contents.
    case 'child_pages': // wiki-only
    case 'create_work_package_link': // a button of the OpenProject UI
      return kept;
    case 'include_wiki_page': {
      // OpenProject shows the wiki page's content here; the page links to it.
      const page = prop(e, 'dataPage') ?? '';
      const href = page === '' ? null : (links.wiki?.({ project: null, page, title: null }) ?? null);
      const note = `Wiki page${page === '' ? '' : ` "${page}"`} (shown in OpenProject)`;
      return [el('p', {}, [el('em', {}, [href === null ? text(note) : el('a', { href }, [text(note)])])]), ...kept];
    }
    case 'embedded-table':
    case 'embedded_table': {
      const note = 'Embedded work package table (shown in OpenProject)';
      const p = el('p', {}, [el('em', {}, [links.openProjectPage ? el('a', { href: links.openProjectPage }, [text(note)]) : text(note)])]);
      return [p, ...kept];
    }
    default:
      // Unknown macro: say what was there rather than lose it.
      return [el('em', {}, [text(`[OpenProject macro: ${kind}]`)]), ...kept];
  }
}

function figure(e: Element, links: DescriptionLinks): Element | null {
  const img = findFirst(e, 'img');
  if (!img) return null; // a table figure: its table is rewritten like any other
  const caption = findFirst(e, 'figcaption');
  const replaced = image(img, links, true);
  const only = replaced.length === 1 ? replaced[0] : undefined;
  const captionText = caption ? (rewriteChildren(caption, links), textOf(caption).replace(/\s+/g, ' ').trim()) : '';
  if (only?.type === 'element' && only.tagName === FIGURE) {
    only.properties = { ...only.properties, caption: captionText };
    const link = findLinkAround(e, img);
    if (link) only.properties.link = links.href(link);
    return only;
  }
  // Not a local image (external URL or unavailable): keep the image or its text, then the caption.
  const children: ElementContent[] = [...replaced];
  if (captionText !== '') children.push(el('br', {}, []), el('em', {}, [text(captionText)]));
  return el('p', {}, children);
}

function findLinkAround(root: Element, target: Element): string | undefined {
  for (const c of root.children) {
    if (c.type !== 'element') continue;
    if (c.tagName === 'a' && c.children.includes(target)) return prop(c, 'href');
    const inner = findLinkAround(c, target);
    if (inner) return inner;
  }
  return undefined;
}

function findFirst(e: Element, tag: string): Element | undefined {
  for (const c of e.children) {
    if (c.type !== 'element') continue;
    if (c.tagName === tag) return c;
    const inner = findFirst(c, tag);
    if (inner) return inner;
  }
  return undefined;
}

function positiveInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+(?:px)?\s*$/.test(v)) return undefined;
  const n = parseInt(v, 10);
  return n > 0 ? n : undefined;
}

function image(img: Element, links: DescriptionLinks, block: boolean): ElementContent[] {
  const src = prop(img, 'src') ?? '';
  const alt = prop(img, 'alt') ?? '';
  const resolved = links.image(src);
  // A source no browser can load from a site (`chrome-extension://…`, `file:`): OpenProject's
  // sanitizer drops it; the page names the image instead of showing a broken one.
  if (resolved === null && !SAFE_IMAGE_SRC.test(src.trim())) return alt !== '' ? [text(`[image: ${alt}]`)] : [];
  if (resolved === null) {
    // Not an attachment: an URL of the instance is made absolute like a link's; a relative
    // path (`some/dir/x.png`, a file name no attachment has) resolves on no site, so the page
    // names the image instead of showing it broken.
    const url = links.href(src);
    if (/^(?:https?:|data:image\/)/i.test(url) || url.startsWith('//')) return [{ ...img, properties: { ...img.properties, src: url } }];
    const name = alt !== '' ? alt : (src.split(/[/?#]/).filter(Boolean).pop() ?? '');
    return name !== '' ? [text(`[image: ${name}]`)] : [];
  }
  if (resolved.kind === 'text') return [text(alt !== '' ? `[image: ${alt}]` : `[image: ${resolved.text}]`)];
  // The author's width (CKEditor's resize) wins; the height keeps the image's proportions.
  const width = positiveInt(prop(img, 'width')) ?? resolved.width;
  const height = positiveInt(prop(img, 'width')) !== undefined ? Math.max(1, Math.round((resolved.height * width) / resolved.width)) : resolved.height;
  if (block) return [el(FIGURE, { src: resolved.src, alt, width, height, caption: '' }, [])];
  return [el('img', { src: resolved.src, alt, dataCurateLocal: true, dataWidth: width, dataHeight: height }, [])];
}

/** A paragraph holding one local image and nothing else is a figure (with its size). */
function blockImage(p: Element): Element | null {
  const meaningful = p.children.filter((c) => !(c.type === 'text' && c.value.trim() === ''));
  if (meaningful.length !== 1) return null;
  let only = meaningful[0]!;
  let link: string | undefined;
  if (only.type === 'element' && only.tagName === 'a' && only.children.length === 1 && only.children[0]!.type === 'element') {
    link = prop(only, 'href');
    only = only.children[0]!;
  }
  if (only.type !== 'element' || only.tagName !== 'img' || only.properties.dataCurateLocal !== true) return null;
  const f = el(FIGURE, { src: prop(only, 'src') ?? '', alt: prop(only, 'alt') ?? '', width: Number(only.properties.dataWidth), height: Number(only.properties.dataHeight), caption: '' }, []);
  if (link) f.properties.link = link;
  return f;
}

/**
 * GFM table cells hold one line of inline content. A cell with blocks (lists, paragraphs)
 * keeps all its text on that line: list items prefixed with a bullet, blocks joined by a space.
 */
function flattenCell(cell: Element): void {
  if (!cell.children.some((c) => c.type === 'element' && BLOCK.has(c.tagName))) return;
  const out: ElementContent[] = [];
  const push = (nodes: ElementContent[]): void => {
    if (out.length > 0 && nodes.length > 0) out.push(text(' '));
    out.push(...nodes);
  };
  const walk = (nodes: ElementContent[]): void => {
    let inline: ElementContent[] = [];
    const flush = (): void => {
      if (inline.some((c) => !(c.type === 'text' && c.value.trim() === ''))) push(inline);
      inline = [];
    };
    for (const c of nodes) {
      if (c.type === 'element' && BLOCK.has(c.tagName)) {
        flush();
        if (c.tagName === 'li') {
          push([text('• ')]);
          walk(c.children);
        } else if (c.tagName === FIGURE) push([el('img', { src: String(c.properties.src), alt: String(c.properties.alt) }, [])]);
        else walk(c.children);
      } else inline.push(c);
    }
    flush();
  };
  walk(cell.children);
  cell.children = out;
}

/**
 * OpenProject's text syntaxes (`#N` references, resource and wiki links, attribute macros) and
 * bare URLs in text become links or their text, except inside links and code.
 */
function linkHashReferences(parent: Parent, links: DescriptionLinks, skip: boolean): void {
  const out: ElementContent[] = [];
  let afterMarkup = true;
  for (const child of parent.children as ElementContent[]) {
    if (child.type === 'element') {
      const inert = skip || NO_REFERENCES.has(child.tagName) || child.properties.dataCurateLabel === true;
      linkHashReferences(child, links, inert);
      out.push(child);
      afterMarkup = true;
      continue;
    }
    if (child.type !== 'text' || skip) {
      out.push(child);
      continue;
    }
    out.push(...linkText(child.value, afterMarkup, links));
    afterMarkup = false;
  }
  parent.children = out;
}

interface Piece {
  start: number;
  end: number;
  nodes: ElementContent[];
}

const label = (value: string): Element => el('span', { dataCurateLabel: true }, [text(value)]);
const linkOrLabel = (href: string | null, value: string): Element => (href === null ? label(value) : el('a', { href }, [text(value)]));

/**
 * `##N` / `###N` as OpenProject renders them where no script runs (its static HTML for mails
 * and feeds, `render_static_work_package_macro` in link_handlers/work_packages.rb with
 * helpers/static_macro_label.rb): `Type #N: Subject`, `Status Type #N: Subject` for `###`,
 * linked to the work package; a work package the key cannot see (or that does not exist)
 * is its bare label `#N`, not linked. Null when nothing can be known (mapping outside a sync):
 * the caller shows the plain reference.
 */
function quickInfo(id: number, detailed: boolean, links: DescriptionLinks, shownId = `#${id}`): Element | null {
  const facts = links.workPackageFacts?.(id);
  if (facts === undefined) return null;
  if (facts === null) return label(shownId);
  const parts = detailed ? [facts.status, facts.type] : [facts.type];
  return linkOrLabel(links.workPackage(id), `${[...parts.filter((p) => p !== ''), shownId].join(' ')}: ${facts.subject}`);
}

function linkText(value: string, afterMarkup: boolean, links: DescriptionLinks): ElementContent[] {
  const pieces: Piece[] = [];
  for (const r of findHashReferences(value, afterMarkup)) {
    let node: Element | null = null;
    if (r.escaped) node = label(r.text);
    else if (r.text.startsWith('##')) node = quickInfo(r.id, r.text.startsWith('###'), links);
    // `#N`, and `##N` / `###N` when the target cannot be known here: the plain reference, never the hashes.
    pieces.push({ start: r.start, end: r.end, nodes: [node ?? linkOrLabel(links.workPackage(r.id), `#${r.id}`)] });
  }
  for (const m of findOpenProjectSyntax(value, afterMarkup)) {
    if (m.type === 'attribute') {
      const shown = links.attribute?.(m.macro) ?? { text: `${m.macro.attribute}`, href: null };
      pieces.push({ start: m.start, end: m.end, nodes: [linkOrLabel(shown.href, shown.text)] });
    } else if (m.type === 'semantic') {
      // `##PROJ-7` / `###PROJ-7` ask for the subject, unknown here (as for `##N`): shown `#PROJ-7`.
      pieces.push({ start: m.start, end: m.end, nodes: [m.escaped ? label(m.text.replace(/^!/, '')) : linkOrLabel(links.semanticWorkPackage?.(m.key) ?? null, `#${m.key}`)] });
    } else if (m.escaped) {
      // `!version#3`, `![[Page]]`: the author asked for the literal text (without the `!`).
      pieces.push({ start: m.start, end: m.end, nodes: [label(m.text.replace(/^!/, ''))] });
    } else if (m.type === 'resource') {
      pieces.push({ start: m.start, end: m.end, nodes: [linkOrLabel(links.resource?.(m.ref) ?? null, resourceLabel(m.ref))] });
    } else {
      pieces.push({ start: m.start, end: m.end, nodes: [linkOrLabel(links.wiki?.(m.link) ?? null, wikiLabel(m.link))] });
    }
  }
  for (const u of findBareUrls(value)) pieces.push({ start: u.start, end: u.end, nodes: [el('a', { href: links.href(u.url) }, [text(u.text)])] });
  if (pieces.length === 0) return [text(value)];
  pieces.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: ElementContent[] = [];
  let at = 0;
  for (const p of pieces) {
    if (p.start < at) continue; // overlaps an earlier match
    if (p.start > at) out.push(text(value.slice(at, p.start)));
    out.push(...p.nodes);
    at = p.end;
  }
  if (at < value.length) out.push(text(value.slice(at)));
  return out;
}

/**
 * Bare URLs in text that markdown did not link (text inside raw HTML): OpenProject's
 * autolink filter links them. Trailing punctuation and an unbalanced `)` stay text.
 */
export function findBareUrls(value: string): { start: number; end: number; url: string; text: string }[] {
  if (!/https?:\/\/|www\./i.test(value)) return [];
  const out: { start: number; end: number; url: string; text: string }[] = [];
  for (const m of value.matchAll(/(?<![\p{L}\p{N}_@/.])(?:https?:\/\/|www\.)[^\s<>"]+/giu)) {
    let t = m[0];
    for (;;) {
      const trimmed = t.replace(/[?!.,:;*_~'"]+$/, '');
      const unbalanced = trimmed.endsWith(')') && (trimmed.match(/\(/g)?.length ?? 0) < (trimmed.match(/\)/g)?.length ?? 0);
      const next = unbalanced ? trimmed.slice(0, -1) : trimmed;
      if (next === t) break;
      t = next;
    }
    if (/^(?:https?:\/\/|www\.)$/i.test(t) || !/[\p{L}\p{N}]\.[\p{L}\p{N}]|localhost|\d/u.test(t.replace(/^https?:\/\//i, ''))) continue;
    out.push({ start: m.index, end: m.index + t.length, url: /^www\./i.test(t) ? `http://${t}` : t, text: t });
  }
  return out;
}
