// Passes over the stored description text before it is parsed, for what OpenProject's
// formatter reads differently from our markdown parser:
// - setting variables (`{{opSetting:base_url}}`, `{{opSetting:host_name}}`;
//   matchers/setting_macros.rb): the stored text keeps the variable, OpenProject expands it
//   when rendering. Every current demo text writes its links this way.
// - tags GFM's tagfilter shows as text (`<script>`), escaped so they read as text here too;
// - HTML tags with unquoted attribute values holding a `/` or `=` (`<a href=https://x/y?v=1>`):
//   browsers read them as links; micromark ends an unquoted value at `/` (and CommonMark
//   allows no `=` in one), and then shows the whole tag as text. Such values are quoted;
//   nothing else in the text changes, and code is left alone.

export interface Settings {
  /** `{{opSetting:base_url}}`: the instance root (with its sub-path), no trailing slash; null = unknown. */
  baseUrl: string | null;
}

const SETTING = /\{\{opSetting:(base_url|host_name)\}\}/g;

// A link saved through the editor may hold the variable percent-encoded after some prefix
// (`http://host/prefix/%7B%7BopSetting:base_url%7D%7D/foo`); OpenProject links it to the base
// URL (setting_variable_spec.rb), dropping what came before the variable.
const ENCODED_BASE = /(?:[a-z][a-z0-9+.-]*:\/\/[^\s()<>"']*?)?%7B%7BopSetting:base_url%7D%7D/gi;

export function expandSettings(source: string, settings: Settings): string {
  if (!source.includes('{{opSetting:') && !/%7B%7BopSetting:/i.test(source)) return source;
  const encoded = settings.baseUrl === null ? source : source.replace(ENCODED_BASE, settings.baseUrl);
  return encoded.replace(SETTING, (whole, name: string) => {
    if (settings.baseUrl === null) return name === 'base_url' ? '' : whole;
    return name === 'base_url' ? settings.baseUrl : new URL(settings.baseUrl).host;
  });
}

// An open tag as a browser reads it (HTML's unquoted attribute values may hold `/` and `=`,
// e.g. `href=https://www.youtube.com/watch?v=6BYsdXdwNKM`, which CommonMark does not allow).
const ATTRIBUTE = String.raw`\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'<>\x60]+|'[^']*'|"[^"]*"))?`;
const OPEN_TAG = new RegExp(String.raw`<[A-Za-z][A-Za-z0-9-]*(?:${ATTRIBUTE})*\s*\/?>`, 'g');
const UNQUOTED = /(\s[A-Za-z_:][A-Za-z0-9_.:-]*\s*=\s*)([^\s"'<>`]*[/=][^\s"'<>`]*?)(?=\s|\/?>$)/g;

// GFM's tagfilter (on in OpenProject's formatter) shows these tags as text: `this is a
// <script>` reads "this is a <script>" there. (`iframe` and `style` are left to the converter,
// which links an embed and drops style sheets.)
const FILTERED_TAG = /<(?=\/?(?:script|title|textarea|xmp|noembed|noframes|plaintext)\b)/gi;

/** Tagfilter escapes and quoted attribute values (see above), outside fenced and inline code. */
export function normaliseTags(source: string): string {
  if (!/=\s*[^\s"'<>`]*[/=]/.test(source) && !/<\/?(?:script|title|textarea|xmp|noembed|noframes|plaintext)\b/i.test(source)) return source;
  let fence: string | null = null;
  return source
    .split('\n')
    .map((line) => {
      const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence !== null) {
        if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length && line.trim() === f[1]) fence = null;
        return line;
      }
      if (f) {
        fence = f[1]!;
        return line;
      }
      if (/^(?: {4}|\t)/.test(line)) return line; // possibly indented code: leave it
      // Inline code spans (backtick runs) are kept as written.
      return line
        .split(/(`+[^`]*`+)/)
        .map((part, i) => (i % 2 === 1 ? part : part.replace(FILTERED_TAG, '&lt;').replace(OPEN_TAG, (tag) => tag.replace(UNQUOTED, (_m, pre: string, value: string) => `${pre}"${value}"`))))
        .join('');
    })
    .join('\n');
}
