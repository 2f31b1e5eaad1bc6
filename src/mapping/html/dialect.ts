// OpenProject's markdown dialect, as its formatter reads a description
// (lib/open_project/text_formatting/filters/markdown_filter.rb): CommonMark with the GFM
// `table`, `strikethrough` and `tagfilter` extensions, parse option STRIKETHROUGH_DOUBLE_TILDE
// (`~x~` stays text, only `~~x~~` strikes) and render option HARDBREAKS (every line break
// inside a paragraph is a `<br>`). No footnotes; bare URLs are linked after the markdown is
// parsed (autolink_filter.rb), i.e. from the decoded text — so `&amp;` in a URL is `&`.
import type { Break, Nodes, Parent, Root, Text } from 'mdast';
import type { Processor } from 'unified';

/**
 * remark-gfm's literal-autolink and footnote constructs, turned off in the tokenizer: the
 * literal autolink reads raw source (keeping `&amp;` and `\_` in the URL, and taking the
 * URL out of an `<a href=https://…>` tag before the HTML tag is seen); footnotes are not
 * OpenProject markdown. Bare URLs are still linked by mdast-util-gfm-autolink-literal's
 * transform, which works on decoded text nodes.
 */
const DISABLED = ['wwwAutolink', 'protocolAutolink', 'emailAutolink', 'gfmFootnoteDefinition', 'gfmFootnoteCall', 'gfmPotentialFootnoteCall'];

export function remarkOpenProjectDialect(this: Processor): (tree: Root) => void {
  const data = this.data() as { micromarkExtensions?: unknown[] };
  (data.micromarkExtensions ??= []).push({ disable: { null: DISABLED } });
  return (tree) => hardBreaks(tree);
}

/** HARDBREAKS: a soft line break in text becomes a hard one (code and raw HTML untouched). */
function hardBreaks(node: Nodes): void {
  if (!('children' in node)) return;
  const parent = node as Parent;
  const out: Parent['children'] = [];
  for (const child of parent.children) {
    if (child.type === 'text' && child.value.includes('\n')) {
      const lines = child.value.split('\n');
      lines.forEach((line, i) => {
        if (i > 0) out.push({ type: 'break' } satisfies Break);
        if (line !== '') out.push({ type: 'text', value: line } satisfies Text);
      });
      continue;
    }
    hardBreaks(child);
    out.push(child);
  }
  parent.children = out;
}
