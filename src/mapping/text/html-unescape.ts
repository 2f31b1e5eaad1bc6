// Python's html.unescape (CPython 3.4+), the step the legacy excerpt used: named
// references with and without ";" (longest-prefix rule), decimal and hex references,
// windows-1252 remapping and dropped invalid code points.
import { HTML5_ENTITIES, INVALID_CHARREFS, INVALID_CODEPOINTS } from './python-tables.js';

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;
const INVALID = new Set(INVALID_CODEPOINTS);

function replaceCharref(ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    // BigInt: Python ints never overflow, and "&#99999999999999999999;" must still give U+FFFD.
    const big = BigInt(hex ? `0x${digits}` : digits);
    if (big <= 0xffffn && INVALID_CHARREFS[Number(big)] !== undefined) return INVALID_CHARREFS[Number(big)]!;
    if ((big >= 0xd800n && big <= 0xdfffn) || big > 0x10ffffn) return '\uFFFD';
    const num = Number(big);
    if (INVALID.has(num)) return '';
    return String.fromCodePoint(num);
  }
  const exact = HTML5_ENTITIES[ref];
  if (exact !== undefined) return exact;
  for (let x = ref.length - 1; x > 1; x--) {
    const hit = HTML5_ENTITIES[ref.slice(0, x)];
    if (hit !== undefined) return hit + ref.slice(x);
  }
  return `&${ref}`;
}

export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(CHARREF, (_m, ref: string) => replaceCharref(ref));
}
