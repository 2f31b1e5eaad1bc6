import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import matter from 'gray-matter';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { emitYaml, renderFrontmatterFile, YamlDate, YamlTimestamp, type YamlValue } from '../../src/mapping/yaml/index.js';
import { loadCorpusYaml, splitFrontmatter } from '../helpers/corpus-yaml.js';
import { FIXTURE_EXPECTED, HAS_SHARED, SHARED_TRAIN } from '../helpers/env.js';

const v = (value: YamlValue): string => emitYaml({ v: value });

describe('emitYaml: scalar styles (libyaml rules)', () => {
  const cases: [string, YamlValue, string][] = [
    ['plain word', 'hello', 'v: hello\n'],
    ['empty string', '', "v: ''\n"],
    ['int-like string', '0', "v: '0'\n"],
    ['long digits', '771672321', "v: '771672321'\n"],
    ['bool-like yes', 'yes', "v: 'yes'\n"],
    ['bool-like No', 'No', "v: 'No'\n"],
    ['on', 'on', "v: 'on'\n"],
    ['t stays plain', 't', 'v: t\n'],
    ['f stays plain', 'f', 'v: f\n'],
    ['null word', 'null', "v: 'null'\n"],
    ['tilde', '~', "v: '~'\n"],
    ['float-like', '1.5', "v: '1.5'\n"],
    ['dot float', '.5', "v: '.5'\n"],
    ['1e3 is quoted for js-yaml', '1e3', "v: '1e3'\n"],
    ['0o17 is quoted for js-yaml', '0o17', "v: '0o17'\n"],
    ['hex', '0x1F', "v: '0x1F'\n"],
    ['sexagesimal', '1:30', "v: '1:30'\n"],
    ['date-like', '2021-12-08', "v: '2021-12-08'\n"],
    ['timestamp-like', '2020-09-15T09:54:49.514163Z', "v: '2020-09-15T09:54:49.514163Z'\n"],
    ['leading hash', '#tag', "v: '#tag'\n"],
    ['inner space hash', 'a #b', "v: 'a #b'\n"],
    ['inner hash ok', 'a#b', 'v: a#b\n'],
    ['colon space', 'a: b', "v: 'a: b'\n"],
    ['trailing colon', 'a:', "v: 'a:'\n"],
    ['inner colon ok', 'a:b', 'v: a:b\n'],
    ['dash space', '- x', "v: '- x'\n"],
    ['three dashes', '---', "v: '---'\n"],
    ['quote inside', "it's", "v: it's\n"],
    ['leading quote', "'x", "v: '''x'\n"],
    ['leading space', ' x', "v: ' x'\n"],
    ['trailing space', 'x ', "v: 'x '\n"],
    ['tab → double', 'a\tb', 'v: "a\\tb"\n'],
    ['newline → single with blank line', 'a\nb', "v: 'a\n\n  b'\n"],
    ['space before newline → double', 'a \nb', 'v: "a \\nb"\n'],
    ['NBSP kept plain', '\u00a0', 'v: \u00a0\n'],
    ['emoji → double escaped', 'hi 😀', 'v: "hi \\U0001F600"\n'],
    ['control char', 'a\u0001b', 'v: "a\\x01b"\n'],
    ['BOM', '\ufeffx', 'v: "\\uFEFFx"\n'],
    ['rtl text plain', 'مرحبا بالعالم', 'v: مرحبا بالعالم\n'],
    ['at sign', '@user', "v: '@user'\n"],
    ['backquote', '`x`', "v: '`x`'\n"],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(v(value)).toBe(expected);
  });

  it('folds long plain scalars at spaces past column 80, indented under the key', () => {
    const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const out = v(text);
    expect(out.split('\n').every((l) => l.length <= 90)).toBe(true);
    expect(out.split('\n')[1]!.startsWith('  word')).toBe(true);
    expect((yaml.load(out) as { v: string }).v).toBe(text);
  });

  it('writes block structures like PyYAML: sorted keys, indentless sequences, empty flow collections', () => {
    expect(emitYaml({ b: [1, 'x'], a: { d: [], c: {} }, Z: null, e: true })).toBe('Z: null\na:\n  c: {}\n  d: []\nb:\n- 1\n- x\ne: true\n');
  });

  it('writes dates and timestamps unquoted, and anchors a value shared by identity', () => {
    const ts = new YamlTimestamp('2020-08-05 04:38:35.977654');
    expect(emitYaml({ eventEndDate: ts, publishDate: ts, d: new YamlDate('2021-12-08') })).toBe(
      'd: 2021-12-08\neventEndDate: &id001 2020-08-05 04:38:35.977654\npublishDate: *id001\n',
    );
  });

  it('sorts keys by code point, not UTF-16 unit', () => {
    expect(Object.keys(yaml.load(emitYaml({ '\u{1F600}': 1, '\uFFFD': 2 })) as object)).toEqual(['\uFFFD', '\u{1F600}']);
  });
});

function* mdFiles(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) yield* mdFiles(p);
    else if (p.endsWith('.md')) yield p;
  }
}

function corpusRoundTrip(dir: string): { ok: number; bad: string[] } {
  let ok = 0;
  const bad: string[] = [];
  for (const f of mdFiles(dir)) {
    const text = readFileSync(f, 'utf8');
    const { yaml: y, body } = splitFrontmatter(text);
    if (renderFrontmatterFile(loadCorpusYaml(y), body) === text) ok++;
    else bad.push(path.relative(dir, f));
  }
  return { ok, bad };
}

describe('emitYaml reproduces the legacy corpus byte for byte', () => {
  it('fixtures subset', () => {
    const r = corpusRoundTrip(FIXTURE_EXPECTED);
    expect(r.bad).toEqual([]);
    expect(r.ok).toBeGreaterThan(30);
  });
  it.skipIf(!HAS_SHARED)('full shared train set (../shared/medigy/train/expected)', () => {
    const r = corpusRoundTrip(path.join(SHARED_TRAIN, 'expected'));
    expect(r.bad).toEqual([]);
    expect(r.ok).toBe(759);
  });
});

describe('round trip: every emitted document parses back to the same data', () => {
  // Any string JS can hold except lone surrogates, which UTF-8 files cannot carry.
  const str = fc.string({ unit: 'binary', maxLength: 120 }).filter((s) => !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')));
  const hostile = fc.constantFrom('---', ': ', ' #', '\t', '\n', '\r\n', '\u00a0', '😀', 'مرحبا', '"', "'", '\\', '- ', '? ', '%', '@', '`', '{}', '[]', '&a', '*a', '!x', '|', '>', ' ', '...', '\u2028', '\u0085', '\ufeff', 'yes', '0', '1e3', '2021-01-01');
  const mixed = fc.array(fc.oneof(str, hostile), { maxLength: 6 }).map((parts) => parts.join(''));
  const leaf = fc.oneof(mixed, fc.integer(), fc.boolean(), fc.constant(null));
  const value: fc.Arbitrary<YamlValue> = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(mixed, tie('node'), { maxKeys: 4 })),
  })).node as fc.Arbitrary<YamlValue>;

  it('js-yaml reads back exactly what was written', () => {
    fc.assert(
      fc.property(fc.dictionary(mixed, value, { maxKeys: 6 }), (data) => {
        expect(yaml.load(emitYaml(data))).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 3000 },
    );
  });

  it('gray-matter reads back the frontmatter and the body of a rendered file', () => {
    fc.assert(
      fc.property(fc.dictionary(mixed, value, { minKeys: 1, maxKeys: 6 }), mixed, (data, body) => {
        const file = renderFrontmatterFile(data, `body ${body} end`);
        const parsed = matter(file, { engines: { yaml: (s: string) => yaml.load(s) as object } });
        expect(parsed.data).toEqual(JSON.parse(JSON.stringify(data)));
        expect(parsed.content.replace(/^\n/, '')).toBe(`body ${body} end`);
      }),
      { numRuns: 2000 },
    );
  });
});
