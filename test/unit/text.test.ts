import { describe, expect, it } from 'vitest';
import { brandOf, camelCaseFieldName, excerpt, htmlUnescape, isoWith6Fraction, naiveTimestampText, slugBaseOf, slugify, uuid5, wrap } from '../../src/mapping/text/index.js';

describe('slugify (python-slugify 4 + text-unidecode)', () => {
  it.each([
    ['Humanity and the Benefits of Artificial Intelligence', 'humanity-and-the-benefits-of-artificial-intelligence'],
    ['What’s next', 'whats-next'],
    ["Don't stop", 'don-t-stop'],
    ['17,700 new cases', '17700-new-cases'],
    ['Café & Crème', 'cafe-creme'],
    ['£5 – cheap “deal”', 'ps5-cheap-deal'],
    ['Recent Updates & Reports', 'recent-updates-reports'],
    ['Vaccine/Drugs in the Pipeline', 'vaccine-drugs-in-the-pipeline'],
    ['COVID-19: a #hashtag', 'covid-19-a-hashtag'],
    ['---', ''],
    ['AT&amp;T', 'at-t'],
    ['&#233;t&#xE9;', 'e-te'],
    ['Ελληνικά', 'ellenika'],
    ['北京', 'bei-jing'],
    ['emoji 😀 here', 'emoji-here'],
    ['  spaced  out  ', 'spaced-out'],
  ])('%s → %s', (input, expected) => {
    expect(slugify(input)).toBe(expected);
  });
});

describe('excerpt (tags removed, html.unescape, first textwrap line of 200)', () => {
  it('keeps leading spaces (no strip before wrapping)', () => {
    expect(excerpt('  Leading text')).toBe('  Leading text');
  });
  it('keeps NBSP at both ends (only ASCII whitespace separates words)', () => {
    expect(excerpt('&nbsp;Text&nbsp;')).toBe('\u00a0Text\u00a0');
  });
  it('removes tags without inserting spaces and decodes entities', () => {
    expect(excerpt('<p>Fish&amp;<b>Chips</b></p>')).toBe('Fish&Chips');
  });
  it('cuts at 200 columns on a word boundary', () => {
    const text = 'word '.repeat(60);
    const out = excerpt(text);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.endsWith('word')).toBe(true);
  });
  it('may break after a hyphen', () => {
    const text = `${'a'.repeat(194)} well-known`;
    expect(excerpt(text)).toBe(`${'a'.repeat(194)} well-`);
  });
  it('is empty for an empty or tag-only description', () => {
    expect(excerpt('')).toBe('');
    expect(excerpt('<br>')).toBe('');
  });
  it('breaks a word longer than the width', () => {
    expect(wrap('x'.repeat(450), 200)).toEqual(['x'.repeat(200), 'x'.repeat(200), 'x'.repeat(50)]);
  });
});

describe('html.unescape', () => {
  it.each([
    ['&amp;', '&'],
    ['&amp', '&'],
    ['&notit;', '¬it;'],
    ['&#x41;&#66;', 'AB'],
    ['&#150;', '–'],
    ['&#0;', '\uFFFD'],
    ['&#xD800;', '\uFFFD'],
    ['&#99999999999999999999;', '\uFFFD'],
    ['&#1;', ''],
    ['&unknown;', '&unknown;'],
  ])('%s', (input, expected) => {
    expect(htmlUnescape(input)).toBe(expected);
  });
});

describe('brand and slug base (tldextract semantics, ICANN suffixes)', () => {
  it.each([
    ['https://www.brief.health/post/x', 'brief.health', 'brief'],
    ['https://afterrounds.lww.com/a', 'afterrounds.lww.com', 'afterrounds.lww'],
    ['www.medigy.com', 'medigy.com', 'medigy'],
    [' https://www.beckershospitalreview.com/x', '', ''],
    ['https://www.nhs.uk/conditions', 'nhs.uk', ''],
    ['https://x.co.uk/', 'x.co.uk', 'x'],
    ['', '', ''],
    ['http://localhost:8080/x', '', ''],
    ['https://user@www.Example.COM:443/x?y#z', 'Example.COM', 'Example'],
  ])('%j', (href, brand, base) => {
    expect(brandOf(href)).toBe(brand);
    expect(slugBaseOf(brandOf(href))).toBe(base);
  });
});

describe('uuid5, camelCase and timestamps', () => {
  it('uuid5 matches Python uuid.uuid5 (values computed with CPython)', () => {
    expect(uuid5('python.org')).toBe('7af94e2b-4dd9-50f0-9c9a-8a48519bdef0');
    expect(uuid5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });
  it.each([
    ['Clean URL', 'cleanUrl'],
    ['Video Recording URL', 'videoRecordingUrl'],
    ['Location', 'location'],
    ['Medigy Topics', 'medigyTopics'],
  ])('%s → %s', (name, key) => expect(camelCaseFieldName(name)).toBe(key));
  it.each([
    ['2020-10-14T11:10:40.671Z', '2020-10-14T11:10:40.671000Z'],
    ['2020-10-14T11:10:40.671234Z', '2020-10-14T11:10:40.671234Z'],
    ['2020-10-14T11:10:40Z', '2020-10-14T11:10:40.000000Z'],
  ])('%s → %s', (iso, out) => expect(isoWith6Fraction(iso)).toBe(out));
  it('naive timestamps drop a zero fraction like datetime.isoformat', () => {
    expect(naiveTimestampText('2020-06-17T11:33:10.298519Z')).toBe('2020-06-17 11:33:10.298519');
    expect(naiveTimestampText('2020-06-17T11:33:10Z')).toBe('2020-06-17 11:33:10');
  });
  it('rejects a non-UTC datetime with a clear error', () => {
    expect(() => isoWith6Fraction('yesterday')).toThrow(/not an ISO-8601 UTC datetime/);
  });
});

describe('excerpt (one lazily split line) matches the whole-text algorithm', () => {
  it.each([
    ['long prose', 'lorem ipsum dolor sit amet '.repeat(100)],
    ['hundreds of leading spaces', `${' '.repeat(900)}text after the spaces`],
    ['one huge word', 'x'.repeat(2000)],
    ['hyphens', 'well-known-hyphen-ated words '.repeat(80)],
    // Found by a differential fuzz: a fixed 4×width prefix cut this text inside the long
    // word that follows the first line and changed how that word was broken.
    ['astral characters, tabs and a hyphen run', `${' '.repeat(300)}${'\u{1F600}'.repeat(120)}\t\t\t\t${'\u{1F600}'.repeat(120)}${'-'.repeat(100)}`],
  ])('%s', (_n, text) => {
    expect(excerpt(text)).toBe(wrap(text, 200)[0] ?? '');
  });
});
