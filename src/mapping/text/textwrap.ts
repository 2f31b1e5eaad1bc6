// A port of CPython's textwrap.TextWrapper (3.7 algorithm) with default options:
// expand_tabs (tabsize 8), replace_whitespace, drop_whitespace, break_long_words,
// break_on_hyphens. Only ASCII whitespace separates words; everything else — NBSP
// included — is part of a word, as in Python.
import { pythonStrip } from '../yaml/frontmatter.js';

const WS = '[\\t\\n\\x0b\\x0c\\r ]';
const NWS = '[^\\t\\n\\x0b\\x0c\\r ]';
// Python's \w is Unicode-aware: letters, numbers and "_"; \d is Nd.
const W = '[\\p{L}\\p{N}_]';
const WORD_PUNCT = '[\\p{L}\\p{N}_!"\'&.,?]';
const LETTER = '[\\p{L}\\p{Nl}\\p{No}_]';
// textwrap.TextWrapper.wordsep_re (CPython ≥ 3.7).
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WORD_PUNCT})-{2,}(?=${W})|${NWS}+?(?:-(?:(?<=${LETTER}{2}-)|(?<=${LETTER}-${LETTER}-))(?=${LETTER}-?${LETTER})|(?=${WS}|$)|(?<=${WORD_PUNCT})(?=-{2,}${W})))`,
  'u',
);

const len = (s: string): number => [...s].length;
const sliceCp = (s: string, start: number, end?: number): string => [...s].slice(start, end).join('');

/** str.expandtabs(8): columns count code points; newlines reset the column. */
function expandTabs(text: string, tabsize = 8): string {
  let out = '';
  let col = 0;
  for (const ch of text) {
    if (ch === '\t') {
      const n = tabsize - (col % tabsize);
      out += ' '.repeat(n);
      col += n;
    } else {
      out += ch;
      col = ch === '\n' || ch === '\r' ? 0 : col + 1;
    }
  }
  return out;
}

function splitChunks(text: string): string[] {
  // eslint-disable-next-line no-control-regex -- \v and \f are whitespace textwrap replaces
  const munged = expandTabs(text).replace(/[\t\n\x0b\x0c\r]/g, ' ');
  return munged.split(WORDSEP).filter((c) => c !== '');
}

/** textwrap.wrap(text, width) */
export function wrap(text: string, width: number): string[] {
  const chunks = splitChunks(text).reverse();
  const lines: string[] = [];
  const isBlank = (s: string): boolean => pythonStrip(s) === '';
  while (chunks.length) {
    const curLine: string[] = [];
    let curLen = 0;
    if (lines.length && isBlank(chunks[chunks.length - 1]!)) chunks.pop();
    while (chunks.length) {
      const l = len(chunks[chunks.length - 1]!);
      if (curLen + l <= width) {
        curLine.push(chunks.pop()!);
        curLen += l;
      } else break;
    }
    if (chunks.length && len(chunks[chunks.length - 1]!) > width) {
      // _handle_long_word (3.7): cut the word at the space left on this line.
      const spaceLeft = width < 1 ? 1 : width - curLen;
      const chunk = chunks[chunks.length - 1]!;
      curLine.push(sliceCp(chunk, 0, spaceLeft));
      chunks[chunks.length - 1] = sliceCp(chunk, spaceLeft);
    }
    if (curLine.length && isBlank(curLine[curLine.length - 1]!)) curLine.pop();
    if (curLine.length) lines.push(curLine.join(''));
  }
  return lines;
}
