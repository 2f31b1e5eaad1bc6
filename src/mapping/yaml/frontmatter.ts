// The file layout python-frontmatter writes (frontmatter.dumps with its YAMLHandler):
//   ("---\n" + yaml.dump(metadata).strip() + "\n---\n\n" + content + "\n").strip()
// with Python's str.strip() (Unicode whitespace, see pythonStrip). Consequences the legacy
// corpus shows: one blank line after the closing `---`, no trailing newline, and a page
// with an empty (or all-whitespace) body ends right after `---`. Whitespace at the END of
// the body is lost (strip); whitespace at its start is kept (the file starts with `---`).
// Read back with gray-matter, `content` is "\n" + body-without-trailing-whitespace (or '').
//
// One deliberate deviation: Python's strip() of the dump would also eat Unicode
// whitespace (e.g. NBSP) that libyaml leaves unquoted at the very start of the first
// key or the very end of the last scalar; we single-quote those two scalars instead
// (emitYaml `guardEnds`), so no data is lost. The legacy corpus has no such case.
import { emitYaml, type YamlValue } from './emit.js';

// Python's str.isspace() set, which str.strip() removes (Unicode White_Space plus the
// ASCII separators \x1c–\x1f). A body ending in NBSP loses it, exactly as in Python.

/** Python's str.isspace() for one UTF-16 unit (every such character is in the BMP). */
function isPySpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
  );
}

/** Python `str.strip()` with no arguments (scans from both ends: linear on any input). */
export function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isPySpace(s.charCodeAt(start))) start++;
  while (end > start && isPySpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** A markdown file as python-frontmatter writes it: YAML frontmatter (PyYAML CSafeDumper bytes) + body. */
export function renderFrontmatterFile(data: { [key: string]: YamlValue }, body: string): string {
  const yaml = pythonStrip(emitYaml(data, { guardEnds: true }));
  // pythonStrip(`---\n${yaml}\n---\n\n${body}\n`) without building and scanning that
  // string twice: it starts with "-", so only its end is stripped, and that end is the
  // body's unless the body is all whitespace (then the "\n\n" after `---` goes too).
  let end = body.length;
  while (end > 0 && isPySpace(body.charCodeAt(end - 1))) end--;
  return end === 0 ? `---\n${yaml}\n---` : `---\n${yaml}\n---\n\n${end === body.length ? body : body.slice(0, end)}`;
}
