// Description (CKEditor 5 markdown with embedded HTML) → markdown without HTML, which Hugo's
// default renderer (`unsafe = false`) shows in full. One tree for both languages: the
// markdown is parsed (remark), turned into HTML nodes with the raw HTML parsed in place
// (rehype-raw, a spec HTML parser), rewritten (ckeditor.ts), and written back as markdown
// (rehype-remark, remark-stringify). The same input always gives the same bytes.
import type { Element, Root as HastRoot } from 'hast';
import type { Html, Nodes as MdastNodes, Root as MdastRoot } from 'mdast';
import rehypeRaw from 'rehype-raw';
import rehypeRemark from 'rehype-remark';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import remarkStringify from 'remark-stringify';
import type { ConstructName } from 'mdast-util-to-markdown';
import { unified } from 'unified';
import { FIGURE, rewriteCkeditor, type DescriptionLinks } from './ckeditor.js';
import { remarkOpenProjectDialect } from './dialect.js';
import { expandSettings, normaliseTags } from './source.js';
import { figureShortcode, neutraliseShortcodesInCode } from './hugo.js';

export type { DescriptionLinks, LocalImage } from './ckeditor.js';

export interface ConvertedDescription {
  /** The markdown body. */
  markdown: string;
  /** The visible text (no markup, no image names), for excerpts. */
  text: string;
}

function figureHandler(_state: unknown, node: Element): Html {
  const p = node.properties;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  return {
    type: 'html',
    value: figureShortcode({
      src: String(p.src ?? ''),
      alt: String(p.alt ?? ''),
      caption: String(p.caption ?? ''),
      width: num(p.width),
      height: num(p.height),
      ...(typeof p.link === 'string' ? { link: p.link } : {}),
    }),
  };
}

// Built once: a frozen processor is reusable and keeps no state between documents.
let processors: { parse: ReturnType<typeof buildParse>; parseHtml: ReturnType<typeof buildParseHtml>; toMarkdown: ReturnType<typeof buildToMarkdown> } | undefined;

function buildParse() {
  return unified().use(remarkParse).use(remarkGfm, { singleTilde: false }).use(remarkOpenProjectDialect).use(remarkRehype, { allowDangerousHtml: true }).freeze();
}

function buildParseHtml() {
  return unified().use(remarkParse).use(remarkGfm, { singleTilde: false }).use(remarkOpenProjectDialect).use(remarkRehype, { allowDangerousHtml: true }).use(rehypeRaw).freeze();
}

/** Constructs whose text is an URL or title (mdast-util-to-markdown's full phrasing spans): never typographer-escaped. */
const URL_SPANS: ConstructName[] = ['autolink', 'destinationLiteral', 'destinationRaw', 'reference', 'titleQuote', 'titleApostrophe'];

function buildToMarkdown() {
  return unified()
    .use(rehypeRemark, { handlers: { [FIGURE]: figureHandler as never } })
    .use(remarkGfm)
    .use(remarkStringify, {
      bullet: '-',
      emphasis: '_',
      strong: '*',
      fences: true,
      rule: '-',
      listItemIndent: 'one',
      // `{{<` / `{{%` in text would be read by Hugo as a shortcode call.
      unsafe: [
        { character: '<', before: '\\{\\{' },
        { character: '%', before: '\\{\\{' },
        // Hugo's typographer (on in a stock site) turns "…" and '…' into curly quotes, `...`
        // into an ellipsis, `--` into a dash and `<<` into «; OpenProject shows the characters
        // as written. An escaped character is left alone.
        // Only in text: in an autolink or a link destination the escape would change the URL.
        { character: '"', inConstruct: 'phrasing', notInConstruct: URL_SPANS },
        { character: "'", inConstruct: 'phrasing', notInConstruct: URL_SPANS },
        { character: '.', after: '\\.\\.', inConstruct: 'phrasing', notInConstruct: URL_SPANS },
        { character: '-', after: '-', inConstruct: 'phrasing', notInConstruct: URL_SPANS },
        { character: '<', after: '<', inConstruct: 'phrasing', notInConstruct: URL_SPANS },
        { character: '>', after: '>', inConstruct: 'phrasing', notInConstruct: URL_SPANS },
      ],
    })
    .freeze();
}

/** Converts one description. `links` answers every attachment / work package question. */
export function convertDescription(stored: string, links: DescriptionLinks): ConvertedDescription {
  const source = normaliseTags(expandSettings(stored, { baseUrl: links.baseUrl ?? null }));
  processors ??= { parse: buildParse(), parseHtml: buildParseHtml(), toMarkdown: buildToMarkdown() };
  const { toMarkdown } = processors;
  // Without a `<` there is no raw HTML to parse: the HTML pass (a second full parse and a
  // copy of the tree) is skipped, which halves the time of a plain-markdown description.
  const parse = source.includes('<') ? processors.parseHtml : processors.parse;
  const hast = parse.runSync(parse.parse(source)) as HastRoot;
  rewriteCkeditor(hast, links);
  const mdast = toMarkdown.runSync(hast as never) as unknown as MdastRoot;
  const text = visibleText(mdast);
  neutraliseCode(mdast);
  return { markdown: toMarkdown.stringify(mdast).replace(/\n+$/, ''), text };
}

function neutraliseCode(node: MdastNodes): void {
  if (node.type === 'code' || node.type === 'inlineCode') node.value = neutraliseShortcodesInCode(node.value);
  if ('children' in node) for (const c of node.children) neutraliseCode(c);
}

const BLOCKS = new Set(['paragraph', 'heading', 'blockquote', 'list', 'listItem', 'table', 'tableRow', 'tableCell', 'code', 'thematicBreak']);

/** Readable text of the converted document: images and shortcodes contribute nothing. */
function visibleText(root: MdastRoot): string {
  const parts: string[] = [];
  const walk = (n: MdastNodes): void => {
    // Fenced code is not prose: an excerpt of it reads as noise.
    if (n.type === 'text' || n.type === 'inlineCode') parts.push(n.value);
    else if (n.type === 'break') parts.push(' ');
    else if ('children' in n) for (const c of n.children) walk(c);
    // A heading runs into the text after it unless something separates them.
    if (n.type === 'heading' && !/[.!?:;…]\s*$/.test(parts[parts.length - 1] ?? '')) parts.push(' — ');
    else if (BLOCKS.has(n.type)) parts.push(' ');
  };
  walk(root);
  return parts.join('').replace(/\s+/g, ' ').trim();
}
