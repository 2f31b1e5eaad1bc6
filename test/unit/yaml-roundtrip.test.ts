// Property: whatever curate writes reads back unchanged with js-yaml 4 (`load`, default
// schema) and with gray-matter (js-yaml 3 `safeLoad`), the readers Hugo tooling and our
// tests use. Strings cover full Unicode plus the characters YAML cares about; lone
// surrogates are included (written as \uXXXX escapes; PyYAML itself cannot encode them).
//
// What round-trips: every string, number (integral values come back as the same number,
// -0 as 0), boolean, null, nested arrays/objects; YamlDate/YamlTimestamp come back as the
// JS Date js-yaml builds (UTC). The body: python strip() semantics drop trailing
// whitespace, so gray-matter's `content` is "\n" + body.trimEnd-python, or '' when that is empty.
import fc from 'fast-check';
import matter from 'gray-matter';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { emitYaml, pythonStrip, renderFrontmatterFile, YamlDate, YamlTimestamp, type YamlValue } from '../../src/mapping/yaml/index.js';

const SPECIAL = [
  ' ', ' ', '\n', '\n', '\t', '\r', ':', ': ', '#', ' #', '-', '- ', '?', "'", '"', '\\', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '%', '@', '`',
  '\u00a0', '\u2028', '\u2029', '\u0085', '\ufeff', '\u3000', '\u200b', '😀', '\ud800', '\udfff', '\u0000', '\u001b', '\u007f', '\uffff',
  'yes', 'No', 'on', 'null', '~', '0', '1', '.', 'e', '_', 'x', '0x', '0o', '0b', '1:30', '2021-12-08', ' 12:00:00', '.inf', '<<', '=', '---', '...',
  'a', 'word',
];
const unit = fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
const str = fc.string({ unit, maxLength: 40 });
const longStr = fc.array(fc.oneof(fc.constantFrom('word', 'a', '  ', ' ', '\n', 'x'.repeat(30), '\t', '"', "'", '\u00a0')), { maxLength: 60 }).map((p) => p.join(' '));
// Strings close to the YAML 1.1 / 1.2 number, bool, null and timestamp syntaxes, where
// PyYAML and js-yaml disagree most (0o17, 09, 1e3, 1_000, 1:30, …).
const numberish = fc.oneof(
  fc.stringMatching(/^[-+.]?[0-9][0-9_.eExXoObBa-f:+-]{0,6}$/),
  fc.stringMatching(/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,3})?( ?(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$/),
  fc.stringMatching(/^[-+]?\.?(inf|Inf|INF|nan|NaN|NAN|yes|Yes|no|NO|on|Off|true|False|null|Null|NULL|~|y|n|t|f|<<|=)$/),
);
const anyStr = fc.oneof(str, str, longStr, numberish);
const num = fc.oneof(fc.integer(), fc.double({ noDefaultInfinity: false }), fc.constantFrom(0.00001, 1e-7, 1e21, 2 ** 60, 123.456));
const scalar = fc.oneof(anyStr, anyStr, num, fc.boolean(), fc.constant(null));
const key = anyStr.filter((k) => k !== '__proto__');

const { value } = fc.letrec<{ value: YamlValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
const doc = fc.dictionary(key, value, { maxKeys: 6 });

/** What js-yaml gives back for a value curate wrote. */
function expected(v: YamlValue): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (v instanceof YamlDate) return new Date(`${v.text}T00:00:00Z`);
  if (v instanceof YamlTimestamp) return new Date(`${v.text.replace(' ', 'T')}Z`);
  if (Array.isArray(v)) return v.map(expected);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expected(x)]));
  return v;
}

// YAML_PROPERTY_RUNS=20000 for a long soak; the default keeps the suite at a few seconds.
const RUNS = Number(process.env.YAML_PROPERTY_RUNS ?? 1500);

describe('emitYaml round trip', () => {
  it('js-yaml 4 reads back every document', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(yaml.load(emitYaml(v))).toEqual(expected(v));
      }),
      { numRuns: RUNS },
    );
  });

  it('gray-matter (js-yaml 3) reads back data and body of every file', () => {
    fc.assert(
      fc.property(doc, anyStr, (data, body) => {
        const file = renderFrontmatterFile(data, body);
        const parsed = matter(file, {});
        expect(parsed.data).toEqual(expected(data));
        const kept = pythonStrip(`x${body}`).slice(1); // python strip() only reaches the body's end
        expect(parsed.content).toBe(kept === '' ? '' : `\n${kept}`);
        expect(yaml.load(file.split('\n---')[0]!.slice(4))).toEqual(expected(data));
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps dates, timestamps and shared references (anchors) readable', () => {
    const date = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, fc.boolean(), fc.integer({ min: 0, max: 999999 }), (d, withFraction, micro) => {
        const iso = d.toISOString();
        const ts = new YamlTimestamp(`${iso.slice(0, 10)} ${iso.slice(11, 19)}${withFraction ? `.${String(micro).padStart(6, '0')}` : ''}`);
        const day = new YamlDate(iso.slice(0, 10));
        const data = { a: ts, b: ts, c: day, d: [day] };
        const text = emitYaml(data);
        expect(text.startsWith('a: &id001 ')).toBe(true);
        expect(yaml.load(text)).toEqual(expected(data));
      }),
      { numRuns: 300 },
    );
  });
});
