// python-slugify 4.0 `slugify(text)` with default arguments (MAPPING.md §6.3), using
// text-unidecode's transliteration tables (Perl Text::Unidecode's, as shipped by the
// npm `unidecode` package).
import { lazyRequire } from './lazy-require.js';
import { HTML4_NAME_TO_CODEPOINT } from './python-tables.js';

const unidecode = lazyRequire<(s: string) => string>('unidecode');

const QUOTES = /'+/g;
const CHAR_ENTITY = /&([A-Za-z0-9]+);/g;
const DECIMAL = /&#(\d+);/g;
const HEX = /&#x([\da-fA-F]+);/g;

/** text-unidecode drops code points above U+EFFFF (private use) as it transliterates. */
function transliterate(text: string): string {
  // eslint-disable-next-line no-control-regex -- ASCII is kept as is
  if (/^[\x00-\x7f]*$/.test(text)) return text; // most subjects: nothing to transliterate
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out += ch;
    else if (cp <= 0xeffff) out += unidecode()(ch);
  }
  return out;
}

function safeFromCodePoint(n: number, fallback: string): string {
  // Python's chr() raises above 0x10FFFF; python-slugify then leaves the text as is.
  return n <= 0x10ffff ? String.fromCodePoint(n) : fallback;
}

export function slugify(input: string): string {
  let text = input.replace(QUOTES, '-');
  text = transliterate(text);
  text = text.replace(CHAR_ENTITY, (m, name: string) => {
    const cp = HTML4_NAME_TO_CODEPOINT[name];
    return cp === undefined ? m : String.fromCodePoint(cp);
  });
  // python-slugify wraps each pass in try/except: one bad reference aborts that pass.
  try {
    text = text.replace(DECIMAL, (m, d: string) => {
      const n = Number(d);
      if (n > 0x10ffff) throw new RangeError(m);
      return safeFromCodePoint(n, m);
    });
  } catch {
    /* keep text from before this pass */
  }
  try {
    text = text.replace(HEX, (m, h: string) => {
      const n = parseInt(h, 16);
      if (n > 0x10ffff) throw new RangeError(m);
      return safeFromCodePoint(n, m);
    });
  } catch {
    /* as above */
  }
  text = text.normalize('NFKD').toLowerCase();
  text = text.replace(QUOTES, '');
  text = text.replace(/(?<=\d),(?=\d)/g, '');
  text = text.replace(/[^-a-z0-9]+/g, '-');
  text = text.replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  return text;
}
