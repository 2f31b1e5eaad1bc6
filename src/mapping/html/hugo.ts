// What Hugo itself reads in a content file besides markdown: shortcodes. Hugo runs its
// shortcode lexer over the whole file before the markdown renderer, so description text
// that happens to contain `{{<` or `{{%` must be neutralised, and the one shortcode we write
// (Hugo's built-in `figure`) needs parameter values its lexer reads back unchanged.

/**
 * A shortcode parameter value. Hugo's lexer drops every backslash inside "…" values
 * (measured with Hugo 0.111), so values go in a raw `…` string, which keeps everything
 * literally; a backtick cannot appear in one and becomes a straight quote.
 */
export function shortcodeValue(value: string): string {
  return `\`${value.replace(/`/g, "'").replace(/\r?\n/g, ' ')}\``;
}

/**
 * Plain text for a `caption`: Hugo's figure shortcode renders it with markdownify, so every
 * character markdown or HTML would read as syntax is written as a numeric entity.
 */
export function markdownifyLiteral(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+\-.!|~&"'=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Hugo's built-in `figure` shortcode (no theme needed). */
export function figureShortcode(f: { src: string; alt: string; caption: string; width?: number; height?: number; link?: string }): string {
  const params = [`src=${shortcodeValue(f.src)}`];
  if (f.alt !== '') params.push(`alt=${shortcodeValue(f.alt)}`);
  if (f.caption !== '') params.push(`caption=${shortcodeValue(markdownifyLiteral(f.caption))}`);
  if (f.link !== undefined) params.push(`link=${shortcodeValue(f.link)}`);
  if (f.width !== undefined) params.push(`width=${shortcodeValue(String(f.width))}`);
  if (f.height !== undefined) params.push(`height=${shortcodeValue(String(f.height))}`);
  return `{{< figure ${params.join(' ')} >}}`;
}

// Code text (inline or fenced) is not markdown-escaped, so a complete shortcode call in it
// is written in Hugo's comment form (`{{</*` … `*/>}}`), which Hugo prints as the call.
export function neutraliseShortcodesInCode(code: string): string {
  if (!code.includes('{{')) return code;
  return code.replace(/\{\{<(?!\/\*)([\s\S]*?)>\}\}/g, '{{</*$1*/>}}').replace(/\{\{%(?!\/\*)([\s\S]*?)%\}\}/g, '{{%/*$1*/%}}');
}

/**
 * Plain text for a front matter key Hugo renders as markdown (`summary`): characters that
 * markdown or HTML would read as syntax are backslash-escaped (a literal `<tags>` would
 * otherwise be dropped as raw HTML), and so is a line start that would open a block.
 */
export function markdownLiteral(text: string): string {
  // Quotes, `...`, `--` and `<<`/`>>` too: Hugo's typographer would turn them into curly quotes, an ellipsis, dashes, «».
  return text
    .replace(/[\\`*_[\]<>&~|"']/g, '\\$&')
    .replace(/\.(?=\.\.)/g, '\\.')
    .replace(/-(?=-)/g, '\\-')
    .replace(/^(\s*)([#>+=-]|\d+[.)])/, (_m, sp: string, mark: string) => `${sp}${mark.replace(/([#>+=.)-])$/, '\\$1')}`);
}
