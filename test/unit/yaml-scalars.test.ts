// Table-driven checks of libyaml's scalar style rules (plain / single / double), escapes,
// folding and the PyYAML resolver, on hostile strings. Expected bytes are what PyYAML's
// CSafeDumper writes (libyaml emitter.c + SafeRepresenter/Resolver); the rows marked
// "deviation" are the few places curate quotes more than PyYAML so js-yaml/gray-matter
// read the value back unchanged.
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { emitYaml, renderFrontmatterFile, YamlDate, YamlTimestamp, type YamlValue } from '../../src/mapping/yaml/index.js';

const line = (v: YamlValue): string => emitYaml({ k: v });

describe('emitYaml scalar styles', () => {
  const rows: [string, string, string][] = [
    // [name, value, expected document]
    ['simple word', 'abc', 'k: abc\n'],
    ['empty string', '', "k: ''\n"],
    ['only spaces', '   ', "k: '   '\n"],
    ['document marker', '---', "k: '---'\n"],
    ['document marker prefix', '--- x', "k: '--- x'\n"],
    ['document end', '...', "k: '...'\n"],
    ['colon space', 'a: b', "k: 'a: b'\n"],
    ['colon without space', 'a:b', 'k: a:b\n'],
    ['trailing colon', 'x:', "k: 'x:'\n"],
    ['space hash', 'a #b', "k: 'a #b'\n"],
    ['hash inside word', 'a#b', 'k: a#b\n'],
    ['leading space', ' lead', "k: ' lead'\n"],
    ['trailing space', 'trail ', "k: 'trail '\n"],
    ['tab', 'a\tb', 'k: "a\\tb"\n'],
    ['newline', 'a\nb', "k: 'a\n\n  b'\n"],
    ['two newlines', 'a\n\nb', "k: 'a\n\n\n  b'\n"],
    ['trailing newline', 'a\n', "k: 'a\n\n  '\n"],
    ['leading newline', '\na', "k: '\n\n  a'\n"],
    ['space before newline', 'a \nb', 'k: "a \\nb"\n'],
    ['newline before space', 'a\n b', 'k: "a\\n b"\n'],
    ['carriage return', 'a\rb', 'k: "a\\rb"\n'],
    ['CRLF', 'a\r\nb', 'k: "a\\r\\nb"\n'],
    ['NBSP is printable', 'a\u00a0b', 'k: a\u00a0b\n'],
    ['lone NBSP', '\u00a0', 'k: \u00a0\n'],
    ['NEL', 'a\u0085b', 'k: "a\\Nb"\n'],
    ['BOM', '\ufeffa', 'k: "\\uFEFFa"\n'],
    ['U+FFFE', 'a\ufffe', 'k: "a\\uFFFE"\n'],
    ['emoji (astral: not printable for libyaml)', 'smile 😀', 'k: "smile \\U0001F600"\n'],
    ['right-to-left text', 'שלום עולם', 'k: שלום עולם\n'],
    ['CJK', '日本語', 'k: 日本語\n'],
    ['C0 control', 'a\u0001b', 'k: "a\\x01b"\n'],
    ['DEL', 'a\u007fb', 'k: "a\\x7Fb"\n'],
    ['escape char', '\u001b[0m', 'k: "\\e[0m"\n'],
    ['NUL', 'a\u0000b', 'k: "a\\0b"\n'],
    ['C1 control', '\u009b', 'k: "\\x9B"\n'],
    ['backslash stays plain', 'a\\b', 'k: a\\b\n'],
    ['double quote and tab', '"\t', 'k: "\\"\\t"\n'],
    ['single quote inside', "it's", "k: it's\n"],
    ['single quote first', "'x", "k: '''x'\n"],
    ['double quote first', '"x', "k: '\"x'\n"],
    ['deviation: line separator', 'a\u2028b', 'k: "a\\Lb"\n'],
    ['deviation: paragraph separator', 'a\u2029', 'k: "a\\P"\n'],
    // indicators at the start
    ['@', '@foo', "k: '@foo'\n"],
    ['backtick', '`x', "k: '`x'\n"],
    ['percent', '%x', "k: '%x'\n"],
    ['bang', '!x', "k: '!x'\n"],
    ['ampersand', '&x', "k: '&x'\n"],
    ['star', '*x', "k: '*x'\n"],
    ['pipe', '|x', "k: '|x'\n"],
    ['gt', '>x', "k: '>x'\n"],
    ['open bracket', '[x', "k: '[x'\n"],
    ['open brace', '{x', "k: '{x'\n"],
    ['comma first', ',x', "k: ',x'\n"],
    ['hash first', '#x', "k: '#x'\n"],
    ['dash word', '-x', 'k: -x\n'],
    ['dash space', '- x', "k: '- x'\n"],
    ['lone dash', '-', "k: '-'\n"],
    ['question word', '?x', 'k: ?x\n'],
    ['question space', '? x', "k: '? x'\n"],
    ['colon word', ':x', 'k: :x\n'],
    ['closing bracket inside', 'x]', 'k: x]\n'],
    ['comma inside', 'a,b', 'k: a,b\n'],
    // PyYAML resolver (YAML 1.1): these would read back as another type, so they are quoted
    ['yes', 'yes', "k: 'yes'\n"],
    ['No', 'No', "k: 'No'\n"],
    ['on', 'on', "k: 'on'\n"],
    ['OFF', 'OFF', "k: 'OFF'\n"],
    ['true', 'true', "k: 'true'\n"],
    ['tilde', '~', "k: '~'\n"],
    ['null', 'null', "k: 'null'\n"],
    ['Null', 'Null', "k: 'Null'\n"],
    ['zero', '0', "k: '0'\n"],
    ['big int', '771672321', "k: '771672321'\n"],
    ['hex', '0x1F', "k: '0x1F'\n"],
    ['octal', '017', "k: '017'\n"],
    ['binary', '0b101', "k: '0b101'\n"],
    ['underscore int', '12_000', "k: '12_000'\n"],
    ['sexagesimal', '1:30', "k: '1:30'\n"],
    ['float', '1.5', "k: '1.5'\n"],
    ['dot float', '.5', "k: '.5'\n"],
    ['float exponent', '1.e+3', "k: '1.e+3'\n"],
    ['inf', '.inf', "k: '.inf'\n"],
    ['nan', '.NaN', "k: '.NaN'\n"],
    ['merge key', '<<', "k: '<<'\n"],
    ['value key', '=', "k: '='\n"],
    ['date', '2021-12-08', "k: '2021-12-08'\n"],
    ['ISO timestamp', '2020-09-15T09:54:49.514163Z', "k: '2020-09-15T09:54:49.514163Z'\n"],
    ['timestamp with offset', '2019-12-15T00:02:00+05:30', "k: '2019-12-15T00:02:00+05:30'\n"],
    ['naive timestamp', '2020-06-17 11:33:10.298519', "k: '2020-06-17 11:33:10.298519'\n"],
    // plain in PyYAML and in js-yaml
    ['t', 't', 'k: t\n'],
    ['f', 'f', 'k: f\n'],
    ['y', 'y', 'k: y\n'],
    ['n', 'n', 'k: n\n'],
    ['version', '2006.1.0', 'k: 2006.1.0\n'],
    ['signed dot', '-.5', 'k: -.5\n'],
    ['sexagesimal from 0', '0:30', 'k: 0:30\n'],
    // deviations: plain for PyYAML, but js-yaml (4 or 3, used by gray-matter) reads a number
    ['deviation: 1e3', '1e3', "k: '1e3'\n"],
    ['deviation: 0o17', '0o17', "k: '0o17'\n"],
    ['deviation: 09', '09', "k: '09'\n"],
    ['deviation: 1e999', '1e999', "k: '1e999'\n"],
  ];
  it.each(rows)('%s', (_name, value, expected) => {
    expect(line(value)).toBe(expected);
  });
});

describe('emitYaml folding at width 80', () => {
  const word = 'x'.repeat(9);
  it('folds a plain scalar at the first space past column 80, continuation indented', () => {
    const value = Array(10).fill(word).join(' ');
    expect(line(value)).toBe(`k: ${Array(8).fill(word).join(' ')}\n  ${word} ${word}\n`);
  });
  it('folds a single-quoted scalar the same way', () => {
    const value = `'${Array(10).fill(word).join(' ')}`;
    // the opening quote and the doubled quote take two columns: 'k: ''' + 9 = col 15 after word 0
    expect(line(value)).toBe(`k: '''${Array(8).fill(word).join(' ')}\n  ${word} ${word}'\n`);
  });
  it('folds a double-quoted scalar, escaping a space that would start the next line', () => {
    const value = `\t${Array(8).fill(word).join(' ')}  ${word}`;
    expect(line(value)).toBe(`k: "\\t${Array(8).fill(word).join(' ')}\n  \\ ${word}"\n`);
  });
  it('never breaks a word longer than the width', () => {
    const long = 'y'.repeat(200);
    expect(line(`a ${long}`)).toBe(`k: a ${long}\n`);
  });
  it('does not fold simple keys and does fold under nested indentation', () => {
    const value = Array(10).fill(word).join(' ');
    expect(emitYaml({ a: { b: value } })).toBe(`a:\n  b: ${Array(8).fill(word).join(' ')}\n    ${word} ${word}\n`);
  });
  it('honours the width option', () => {
    // a break happens only once the column is strictly past the width
    expect(emitYaml({ k: 'aaa bbb ccc' }, { width: 5 })).toBe('k: aaa\n  bbb ccc\n');
    expect(emitYaml({ k: 'aaa bbb ccc' }, { width: 4 })).toBe(emitYaml({ k: 'aaa bbb ccc' }, { width: 80 }));
  });
});

describe('emitYaml structure', () => {
  it('writes block collections; sequences in mappings are not indented', () => {
    const data = { list: ['a', ['b', 'c'], { x: 1, y: [] }], map: { inner: {} }, empty: [], none: null, yes: true, no: false };
    expect(emitYaml(data)).toBe(
      "empty: []\nlist:\n- a\n- - b\n  - c\n- x: 1\n  y: []\nmap:\n  inner: {}\n'no': false\nnone: null\n'yes': true\n",
    );
  });
  it('sorts keys by code point (not UTF-16 units) and quotes keys like values', () => {
    const data = { b: 1, B: 2, a: 3, '😀': 4, '\uffee': 5, 'a: b': 6, '1': 7 };
    expect(emitYaml(data)).toBe("'1': 7\nB: 2\na: 3\n'a: b': 6\nb: 1\n\uffee: 5\n\"\\U0001F600\": 4\n");
  });
  it('keeps insertion order with sortKeys: false', () => {
    expect(emitYaml({ b: 1, a: 2 }, { sortKeys: false })).toBe('b: 1\na: 2\n');
  });
  it('writes keys longer than 128 bytes or multi-line as explicit keys', () => {
    const long = 'k'.repeat(129);
    expect(emitYaml({ [long]: 1 })).toBe(`? ${long}\n: 1\n`);
    expect(emitYaml({ ['k'.repeat(128)]: 1 })).toBe(`${'k'.repeat(128)}: 1\n`);
    expect(emitYaml({ 'a\nb': 1 })).toBe("? 'a\n\n  b'\n: 1\n");
  });
  it('writes dates and naive timestamps unquoted', () => {
    expect(emitYaml({ d: new YamlDate('2021-12-08'), t: new YamlTimestamp('2020-06-17 11:33:10.298519') })).toBe(
      'd: 2021-12-08\nt: 2020-06-17 11:33:10.298519\n',
    );
    expect(() => new YamlDate('2021-1-8')).toThrow(TypeError);
    expect(() => new YamlTimestamp('2020-06-17T11:33:10')).toThrow(TypeError);
  });
  it('anchors objects that occur twice, numbered in emission order', () => {
    const ts = new YamlTimestamp('2020-08-05 04:38:35.977654');
    const list = ['x'];
    expect(emitYaml({ eventEndDate: ts, publishDate: ts, z1: list, z2: list, z3: list })).toBe(
      'eventEndDate: &id001 2020-08-05 04:38:35.977654\npublishDate: *id001\nz1: &id002\n- x\nz2: *id002\nz3: *id002\n',
    );
    // equal but distinct objects are not aliased; strings never are
    expect(emitYaml({ a: ['x'], b: ['x'], c: 's', d: 's' })).toBe('a:\n- x\nb:\n- x\nc: s\nd: s\n');
  });
  it('writes numbers as PyYAML writes int and float', () => {
    const rows: [number, string][] = [
      [0, '0'], [-7, '-7'], [1.5, '1.5'], [0.1, '0.1'], [0.0001, '0.0001'], [0.00001, '1.0e-05'],
      [1.5e-7, '1.5e-07'], [123456789.125, '123456789.125'], [1e16, '10000000000000000'],
      [2 ** 70, '1180591620717411303424'], [NaN, '.nan'], [Infinity, '.inf'], [-Infinity, '-.inf'], [-0.5, '-0.5'],
    ];
    for (const [n, text] of rows) expect(emitYaml({ n })).toBe(`n: ${text}\n`);
  });
  it('rejects values PyYAML could not represent', () => {
    expect(() => emitYaml({ d: new Date() as unknown as YamlValue })).toThrow(TypeError);
    expect(() => emitYaml({ f: (() => 1) as unknown as YamlValue })).toThrow(TypeError);
    expect(() => emitYaml({ b: 1n as unknown as YamlValue })).toThrow(TypeError);
  });
  it('writes lone surrogates as \\u escapes (PyYAML would fail to encode them)', () => {
    const text = emitYaml({ k: 'a\ud800b' });
    expect(text).toBe('k: "a\\uD800b"\n');
    expect(yaml.load(text)).toEqual({ k: 'a\ud800b' });
  });
});

describe('renderFrontmatterFile', () => {
  it('lays the file out as python-frontmatter does', () => {
    expect(renderFrontmatterFile({ title: 'T' }, 'Body')).toBe('---\ntitle: T\n---\n\nBody');
    expect(renderFrontmatterFile({ title: 'T' }, '')).toBe('---\ntitle: T\n---');
    expect(renderFrontmatterFile({ title: 'T' }, ' \n\t')).toBe('---\ntitle: T\n---');
    expect(renderFrontmatterFile({ title: 'T' }, '  indented\n\n')).toBe('---\ntitle: T\n---\n\n  indented');
    expect(renderFrontmatterFile({ title: 'T' }, 'ends in nbsp\u00a0')).toBe('---\ntitle: T\n---\n\nends in nbsp');
    expect(renderFrontmatterFile({}, 'x')).toBe('---\n{}\n---\n\nx');
  });
  it('quotes a first key or last value that strip() would otherwise cut (deviation)', () => {
    expect(renderFrontmatterFile({ a: 'x\u00a0', b: 'y\u00a0' }, '')).toBe("---\na: x\u00a0\nb: 'y\u00a0'\n---");
    expect(renderFrontmatterFile({ '\u3000k': 1 }, '')).toBe("---\n'\u3000k': 1\n---");
    // emitYaml itself stays byte-compatible with PyYAML
    expect(emitYaml({ b: 'y\u00a0' })).toBe('b: y\u00a0\n');
  });
});
