// Scalar analysis, ported from libyaml's emitter.c (yaml_emitter_analyze_scalar) and
// PyYAML's resolver.py. The legacy corpus was written by PyYAML's CSafeDumper, i.e. by
// libyaml; these rules decide plain / single-quoted / double-quoted exactly as it did.

/** Result of yaml_emitter_analyze_scalar. */
export interface ScalarAnalysis {
  multiline: boolean;
  flowPlainAllowed: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  /** UTF-8 byte length (libyaml's simple-key limit counts bytes). */
  byteLength: number;
}

const isBreak = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
const isSpace = (c: number): boolean => c === 0x20;
const isBlankz = (c: number | undefined): boolean => c === undefined || c === 0x20 || c === 0x09 || isBreak(c) || c === 0;

/**
 * libyaml's IS_PRINTABLE on UTF-8: LF, 0x20–0x7E, U+00A0–U+D7FF, U+E000–U+FFFD minus
 * U+FEFF, U+FFFE, U+FFFF (yaml_private.h IS_PRINTABLE on the UTF-8 lead bytes). Everything
 * outside the BMP (emoji) is NOT printable for libyaml, so such strings are double-quoted
 * with \U escapes even with allow_unicode (the corpus has no astral character).
 */
export function isPrintable(c: number): boolean {
  if (c === 0x0a) return true;
  if (c >= 0x20 && c <= 0x7e) return true;
  if (c >= 0xa0 && c <= 0xd7ff) return true;
  if (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff) return true;
  return false;
}

export function utf8Length(codePoints: number[]): number {
  let n = 0;
  for (const c of codePoints) n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  return n;
}

/** Code points of a JS string; lone surrogates are kept as their own (non-printable) values. */
export function codePointsOf(s: string): number[] {
  const out: number[] = new Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out[n++] = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = c;
  }
  out.length = n;
  return out;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const FIRST_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`'].map((ch) => ch.charCodeAt(0)));

/** Code points of `s` as an indexable view; no array is built for the common case (no surrogates). */
function view(s: string | number[]): { length: number; at: (i: number) => number | undefined } {
  if (typeof s !== 'string') return { length: s.length, at: (i) => s[i] };
  if (!SURROGATE.test(s)) return { length: s.length, at: (i) => (i < s.length ? s.charCodeAt(i) : undefined) };
  const cps = codePointsOf(s);
  return { length: cps.length, at: (i) => cps[i] };
}

export function analyzeScalar(input: string | number[]): ScalarAnalysis {
  const v = view(input);
  const n = v.length;
  let byteLength = 0;
  for (let i = 0; i < n; i++) {
    const c = v.at(i)!;
    byteLength += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  if (n === 0) {
    return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, byteLength };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;

  const at = v.at;
  if (
    (at(0) === 0x2d && at(1) === 0x2d && at(2) === 0x2d) ||
    (at(0) === 0x2e && at(1) === 0x2e && at(2) === 0x2e)
  ) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  let followedByWhitespace = isBlankz(at(1));
  const last = n - 1;

  for (let i = 0; i < n; i++) {
    const c = at(i)!;
    if (i === 0) {
      if (c < 0x80 && FIRST_INDICATORS.has(c)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if (c === 0x3f || c === 0x3a) {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (c === 0x2d && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (c === 0x2c || c === 0x3f || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d) flowIndicators = true;
      if (c === 0x3a) {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (c === 0x23 && precededByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }
    if (!isPrintable(c)) specialCharacters = true;
    if (isBreak(c)) lineBreaks = true;

    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (i === last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
    if (i < last) followedByWhitespace = isBlankz(at(i + 2));
  }

  let flowPlainAllowed = true;
  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    flowPlainAllowed = false;
    blockPlainAllowed = false;
  }
  if (breakSpace) {
    flowPlainAllowed = false;
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (spaceBreak || specialCharacters) {
    flowPlainAllowed = false;
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (lineBreaks) {
    flowPlainAllowed = false;
    blockPlainAllowed = false;
  }
  if (flowIndicators) flowPlainAllowed = false;
  if (blockIndicators) blockPlainAllowed = false;
  return { multiline: lineBreaks, flowPlainAllowed, blockPlainAllowed, singleQuotedAllowed, byteLength };
}

// --- Implicit resolution -----------------------------------------------------------
// PyYAML's Resolver (YAML 1.1). A string that a plain scalar would read back as another
// type must be quoted. Python's `re.match(...$)` also matches before one trailing "\n";
// such strings are multi-line and quoted anyway, so that quirk never changes a style.
const PY_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const PY_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_MERGE = /^(?:<<)$/;
const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;
const PY_VALUE = /^(?:=)$/;

/** True when PyYAML's resolver would read this plain scalar as something other than a str. */
export function pyYamlResolvesNonString(s: string): boolean {
  if (s === '') return true;
  const c = s[0]!;
  // PyYAML indexes its implicit resolvers by first character; mirror that.
  if ('yYnNtTfFoO'.includes(c) && PY_BOOL.test(s)) return true;
  if ('-+0123456789.'.includes(c) && PY_FLOAT.test(s)) return true;
  if ('-+0123456789'.includes(c) && PY_INT.test(s)) return true;
  if (c === '<' && PY_MERGE.test(s)) return true;
  if ('~nN'.includes(c) && PY_NULL.test(s)) return true;
  if ('0123456789'.includes(c) && PY_TIMESTAMP.test(s)) return true;
  if (c === '=' && PY_VALUE.test(s)) return true;
  return false;
}

// js-yaml 4 (core schema) and js-yaml 3 (gray-matter's default) read some plain scalars
// as non-strings that PyYAML keeps as str: `0o17`, `09`, `1e3`, `1_000_`… Quoting those
// departs from PyYAML's bytes, but only for strings that never occur in the legacy
// corpus (the corpus test proves it), and it keeps the promise that every file parses
// back with gray-matter/js-yaml to exactly the data written.
const JS_INT = /^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9][0-9_]*|[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const JS_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)$/;
const JS_BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const JS_NULL = /^(?:~|null|Null|NULL)$/;
const JS_TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

export function jsYamlResolvesNonString(s: string): boolean {
  if (s === '' || s === '<<') return true;
  const c = s[0]!;
  if (!'-+.0123456789~nNtTfF'.includes(c)) return false;
  return JS_INT.test(s) || JS_FLOAT.test(s) || JS_BOOL.test(s) || JS_NULL.test(s) || JS_TIMESTAMP.test(s);
}
