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
// textwrap.TextWrapper.wordsep_re (CPython ≥ 3.7). Global: Chunks scans with it from a
// lastIndex it sets before every exec (wrap is synchronous, so one instance serves all).
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WORD_PUNCT})-{2,}(?=${W})|${NWS}+?(?:-(?:(?<=${LETTER}{2}-)|(?<=${LETTER}-${LETTER}-))(?=${LETTER}-?${LETTER})|(?=${WS}|$)|(?<=${WORD_PUNCT})(?=-{2,}${W})))`,
  'gu',
);

/** Length in code points (Python's len): UTF-16 units minus the low half of each surrogate pair. */
function len(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
const sliceCp = (s: string, start: number, end?: number): string => [...s].slice(start, end).join('');

/** str.expandtabs(8): columns count code points; newlines reset the column. */
function expandTabs(text: string, tabsize = 8): string {
  if (!text.includes('\t')) return text;
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

/**
 * The chunks of `re.split(wordsep_re, munged)` minus the empty strings, produced on
 * demand: wrap() usually needs the first line only (the excerpt), so only the first
 * ~width columns of a long description are split. The pattern never matches an empty
 * string, so scanning match by match (text between matches included) gives exactly
 * split's sequence.
 */
class Chunks {
  private readonly text: string;
  private pos = 0;
  private pending: string | undefined;
  private head: string | undefined;

  constructor(text: string) {
    // eslint-disable-next-line no-control-regex -- \v and \f are whitespace textwrap replaces
    this.text = expandTabs(text).replace(/[\t\n\x0b\x0c\r]/g, ' ');
  }

  /** The next chunk, or undefined at the end. */
  peek(): string | undefined {
    if (this.head === undefined) this.head = this.advance();
    return this.head;
  }
  pop(): string | undefined {
    const h = this.peek();
    this.head = undefined;
    return h;
  }
  /** _handle_long_word puts the rest of a cut chunk back. */
  replaceHead(rest: string): void {
    this.head = rest;
  }

  private advance(): string | undefined {
    if (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    if (this.pos >= this.text.length) return undefined;
    WORDSEP.lastIndex = this.pos;
    const m = WORDSEP.exec(this.text);
    if (!m) {
      const rest = this.text.slice(this.pos);
      this.pos = this.text.length;
      return rest;
    }
    const gap = m.index > this.pos ? this.text.slice(this.pos, m.index) : '';
    this.pos = WORDSEP.lastIndex;
    if (gap) {
      this.pending = m[1]!;
      return gap;
    }
    return m[1]!;
  }
}

/** textwrap.wrap(text, width); with `maxLines`, only the first lines (the same ones). */
export function wrap(text: string, width: number, maxLines = Infinity): string[] {
  const chunks = new Chunks(text);
  const lines: string[] = [];
  const isBlank = (s: string): boolean => pythonStrip(s) === '';
  while (lines.length < maxLines && chunks.peek() !== undefined) {
    const curLine: string[] = [];
    let curLen = 0;
    if (lines.length && isBlank(chunks.peek()!)) chunks.pop();
    for (let next = chunks.peek(); next !== undefined; next = chunks.peek()) {
      const l = len(next);
      if (curLen + l <= width) {
        curLine.push(next);
        chunks.pop();
        curLen += l;
      } else break;
    }
    const next = chunks.peek();
    if (next !== undefined && len(next) > width) {
      // _handle_long_word (3.7): cut the word at the space left on this line.
      const spaceLeft = width < 1 ? 1 : width - curLen;
      curLine.push(sliceCp(next, 0, spaceLeft));
      chunks.replaceHead(sliceCp(next, spaceLeft));
    }
    if (curLine.length && isBlank(curLine[curLine.length - 1]!)) curLine.pop();
    if (curLine.length) lines.push(curLine.join(''));
  }
  return lines;
}
