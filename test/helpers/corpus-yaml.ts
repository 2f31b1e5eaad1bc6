// Reads a legacy corpus file back into the data PyYAML had dumped: timestamps and
// dates become YamlTimestamp / YamlDate (keeping their text), anchors become shared
// references, so that re-emitting it must reproduce the file byte for byte.
import yaml from 'js-yaml';
import { YamlDate, YamlTimestamp, type YamlValue } from '../../src/mapping/yaml/index.js';

const TS =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

const timestamp = new yaml.Type('tag:yaml.org,2002:timestamp', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && TS.test(data),
  construct: (data: string) => (data.length === 10 ? new YamlDate(data) : new YamlTimestamp(data)),
  instanceOf: YamlTimestamp,
});

export const CORPUS_SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [timestamp] });

/** Split a python-frontmatter file into its YAML text and body. */
export function splitFrontmatter(text: string): { yaml: string; body: string } {
  if (!text.startsWith('---\n')) throw new Error('no frontmatter');
  const end = text.indexOf('\n---', 4);
  if (end < 0) throw new Error('unterminated frontmatter');
  const rest = text.slice(end + 4);
  return { yaml: text.slice(4, end + 1), body: rest.startsWith('\n\n') ? rest.slice(2) : rest.replace(/^\n/, '') };
}

export function loadCorpusYaml(text: string): { [key: string]: YamlValue } {
  return yaml.load(text, { schema: CORPUS_SCHEMA }) as { [key: string]: YamlValue };
}
