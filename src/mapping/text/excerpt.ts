// The legacy `description` excerpt (MAPPING.md §6.1): strip tags, html.unescape, then
// the first line of textwrap.wrap(text, 200). No strip() first: leading spaces survive.
import { htmlUnescape } from './html-unescape.js';
import { wrap } from './textwrap.js';

export function excerpt(raw: string, width = 200): string {
  const text = htmlUnescape(raw.replace(/<[^>]*>/g, ''));
  // wrap() splits lazily, so asking for one line splits only what that line needs.
  return wrap(text, width, 1)[0] ?? '';
}
