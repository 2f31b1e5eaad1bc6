// The file layout python-frontmatter writes (frontmatter.dumps with its YAML handler):
//   ("---\n" + yaml.dump(metadata).strip() + "\n---\n\n" + content + "\n").strip()
// Consequences the legacy corpus shows: one blank line after the closing `---`, no
// trailing newline, and a page with an empty body ends right after `---`.
import { emitYaml, type YamlValue } from './emit.js';

// Python's str.isspace() set, which str.strip() removes (Unicode White_Space plus the
// ASCII separators \x1c–\x1f). A body ending in NBSP loses it, exactly as in Python.
const PY_WHITESPACE = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Python `str.strip()` with no arguments. */
export function pythonStrip(s: string): string {
  return s.replace(PY_WHITESPACE, '');
}

export function renderFrontmatterFile(data: { [key: string]: YamlValue }, body: string): string {
  const yaml = pythonStrip(emitYaml(data));
  return pythonStrip(`---\n${yaml}\n---\n\n${body}\n`);
}
