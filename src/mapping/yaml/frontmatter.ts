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

// eslint-disable-next-line no-control-regex -- \x1c-\x1f are whitespace to Python
const PY_SPACE_CHAR = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;
const isPySpace = (ch: string): boolean => PY_SPACE_CHAR.test(ch);

/** Python `str.strip()` with no arguments (scans from both ends: linear on any input). */
export function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isPySpace(s[start]!)) start++;
  while (end > start && isPySpace(s[end - 1]!)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** A markdown file as python-frontmatter writes it: YAML frontmatter (PyYAML CSafeDumper bytes) + body. */
export function renderFrontmatterFile(data: { [key: string]: YamlValue }, body: string): string {
  const yaml = pythonStrip(emitYaml(data, { guardEnds: true }));
  return pythonStrip(`---\n${yaml}\n---\n\n${body}\n`);
}
