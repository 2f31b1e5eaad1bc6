// The legacy `description` excerpt (MAPPING.md §6.1): strip tags, html.unescape, then
// the first line of textwrap.wrap(text, 200). No strip() first: leading spaces survive.
import { htmlUnescape } from './html-unescape.js';
import { wrap } from './textwrap.js';

export function excerpt(raw: string, width = 200): string {
  const text = htmlUnescape(raw.replace(/<[^>]*>/g, ''));
  // Only the first line is kept, so only a prefix needs splitting: the first line holds at
  // most `width` columns of chunks, every chunk boundary before the cut is unchanged by
  // it (textwrap's lookarounds reach a few characters), and a word still running at the
  // cut is longer than `width` either way (tabs only widen text). 4×width is ample.
  if (text.length > width * 4) {
    const lines = wrap(text.slice(0, width * 4), width);
    // A second line proves the first one ended well before the cut; otherwise (e.g. a
    // description opening with hundreds of spaces) fall back to the whole text.
    if (lines.length >= 2) return lines[0]!;
  }
  return wrap(text, width)[0] ?? '';
}
