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

const FIRST_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`'].map((ch) => ch.charCodeAt(0)));

// One line of printable ASCII (most titles, names and excerpts): no break and no special
// character can occur, so the analysis reduces to the indicator rules below.
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const FIRST_BOTH = /^(?:[#,[\]{}&*!|>'"%@`]|[-?:](?: |$)|---|\.\.\.)/;
const FIRST_FLOW_ONLY = /^[?:]/;
const LATER_BLOCK = /.:(?: |$)| #/;
const LATER_FLOW = /.[,?[\]{}:]| #/;

/** analyzeScalar for a non-empty string of printable ASCII: the same answer, from five regex scans. */
function analyzePrintableAscii(s: string): ScalarAnalysis {
  const edgeSpace = s.charCodeAt(0) === 0x20 || s.charCodeAt(s.length - 1) === 0x20;
  const firstBoth = FIRST_BOTH.test(s);
  const blockIndicators = firstBoth || LATER_BLOCK.test(s);
  const flowIndicators = firstBoth || FIRST_FLOW_ONLY.test(s) || LATER_FLOW.test(s);
  return {
    multiline: false,
    flowPlainAllowed: !edgeSpace && !flowIndicators,
    blockPlainAllowed: !edgeSpace && !blockIndicators,
    singleQuotedAllowed: true,
    byteLength: s.length,
  };
}

/** Width in UTF-16 units of the code point `c` (as returned by codePointAt). */
const units = (c: number): number => (c > 0xffff ? 2 : 1);

/**
 * yaml_emitter_analyze_scalar over a JS string. It walks code points with codePointAt
 * (a surrogate pair is one code point, a lone surrogate its own non-printable one),
 * keeping the current, next and next-but-one code point in locals: one
 * monomorphic pass, no array and no closure per scalar (this runs for most scalars of
 * every document written).
 */
export function analyzeScalar(s: string): ScalarAnalysis {
  const len = s.length;
  if (len === 0) {
    return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, byteLength: 0 };
  }
  if (PRINTABLE_ASCII.test(s)) return analyzePrintableAscii(s);
  let byteLength = 0;
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

  if (s.startsWith('---') || s.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  // c: the current code point (at unit index i); next / after: the two that follow
  // (undefined past the end, which isBlankz treats as the end of the text).
  let i = 0;
  let c = s.codePointAt(0)!;
  let j = units(c);
  let next: number | undefined = j < len ? s.codePointAt(j) : undefined;
  let after: number | undefined = next === undefined ? undefined : j + units(next) < len ? s.codePointAt(j + units(next)) : undefined;
  let followedByWhitespace = isBlankz(next);
  for (let isFirst = true; ; isFirst = false) {
    byteLength += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    const isLast = next === undefined;
    if (isFirst) {
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
      if (isFirst) leadingSpace = true;
      if (isLast) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (isFirst) leadingBreak = true;
      if (isLast) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankz(c);
    if (isLast) break;
    followedByWhitespace = isBlankz(after);
    // Advance one code point.
    i += units(c);
    c = next!;
    next = after;
    after = next === undefined ? undefined : ((j = i + units(c) + units(next)), j < len ? s.codePointAt(j) : undefined);
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
