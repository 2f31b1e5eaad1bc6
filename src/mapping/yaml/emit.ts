// A YAML emitter that writes the same bytes as PyYAML's
// `yaml.dump(data, Dumper=CSafeDumper, default_flow_style=False, allow_unicode=True,
// sort_keys=True, width=80, indent=2)`, i.e. libyaml's emitter.c driven by PyYAML's
// SafeRepresenter. It is a port of the parts of emitter.c that block-style documents
// use (block mappings and sequences, empty flow collections, the three scalar styles,
// anchors and aliases), keeping libyaml's column/indent/whitespace state machine so
// that line folding happens at exactly the same places. Reference: yaml/libyaml
// src/emitter.c (analyze_scalar, select_scalar_style, write_plain/single/double, write_indent)
// and yaml/pyyaml representer.py / resolver.py / _yaml.pyx (_anchor_node, implicit flags).
//
// Deliberate deviations from PyYAML's bytes (none of them occurs in the legacy corpus,
// which the corpus test proves, 759/759):
// - strings js-yaml 3 (gray-matter) or 4 would read as non-strings (`1e3`, `0o17`, `09`,
//   keys included) are single-quoted, so every file reads back unchanged (scalar.ts);
// - strings holding U+2028/U+2029 are double-quoted (see selectStyle);
// - lone surrogates (which PyYAML cannot encode at all) are written as \uD800 escapes;
// - `guardEnds` (renderFrontmatterFile only): see EmitOptions.
// JS has one number type: integral numbers are written as Python ints (1.0 → `1`, -0 → `0`).
import {
  analyzeScalar,
  isPrintable,
  jsYamlResolvesNonString,
  pyYamlResolvesNonString,
  type ScalarAnalysis,
} from './scalar.js';

/** A calendar date written unquoted (PyYAML `datetime.date`), e.g. 2021-12-08. */
export class YamlDate {
  constructor(readonly text: string) {
    // Only a text PyYAML's resolver reads back as a date may be written unquoted.
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text)) throw new TypeError(`YamlDate: not a YYYY-MM-DD date: ${JSON.stringify(text)}`);
  }
}
/** A naive timestamp written unquoted (PyYAML `datetime.isoformat(' ')`), e.g. 2020-06-17 11:33:10.298519. */
export class YamlTimestamp {
  constructor(readonly text: string) {
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?$/.test(text)) {
      throw new TypeError(`YamlTimestamp: not a 'YYYY-MM-DD HH:MM:SS[.ffffff]' timestamp: ${JSON.stringify(text)}`);
    }
  }
}

export type YamlValue =
  | null
  | boolean
  | number
  | string
  | YamlDate
  | YamlTimestamp
  | YamlValue[]
  | { [key: string]: YamlValue };

export interface EmitOptions {
  /** Sort mapping keys by code point, like PyYAML's default. @default true */
  sortKeys?: boolean;
  /** libyaml best_width. @default 80 */
  width?: number;
  /** libyaml best_indent (2..9, else 2). @default 2 */
  indent?: number;
  /**
   * Deviation used by renderFrontmatterFile only: python-frontmatter `strip()`s the dump,
   * which eats Unicode whitespace (NBSP, U+2000–U+200A, …) that libyaml leaves unquoted
   * at the very start (first key) or very end (last scalar) of the document. With this
   * flag those two scalars are single-quoted instead so the data survives.
   * @default false
   */
  guardEnds?: boolean;
}

type Style = 'plain' | 'single' | 'double';

interface ScalarNode {
  kind: 'scalar';
  scan?: ScalarAnalysis;
  text: string;
  /** Set by the guardEnds pass: never plain. */
  forceQuote?: boolean;
  /** str scalars may need quotes; ints/bools/null/dates resolve implicitly as plain. */
  isString: boolean;
}
interface SeqNode {
  kind: 'seq';
  items: Node[];
}
interface MapNode {
  kind: 'map';
  entries: [Node, Node][];
}
type Node = (ScalarNode | SeqNode | MapNode) & { anchor?: string; source?: object };

/** Python's sorted() on str compares code points; JS `<` compares UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  // The two orders differ only where a surrogate meets another unit at the first
  // difference; everywhere else the first differing unit decides, as a code point would.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return compareByIterator(a, b);
    return x - y;
  }
  return a.length - b.length;
}

function compareByIterator(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/**
 * Python's repr() of a float: the shortest round-trip digits (which JS also
 * computes), laid out with Python's rule — exponent form when the decimal exponent
 * is < -4 or >= 16, two-digit exponents with a sign (1e-05, 1e+16).
 */
function pythonFloatRepr(n: number): string {
  const [mantissa = '0', exp = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decpt = Number(exp) + 1; // position of the decimal point relative to `digits`
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const rest = digits.slice(1);
    return `${sign}${digits[0]}${rest ? `.${rest}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * PyYAML represent_int / represent_float. JS has one number type: an integral value
 * is written as a Python int (so 1.0 becomes `1` and -0 becomes `0`), anything else
 * as PyYAML writes a float (`repr().lower()`, `.0` added before a bare exponent).
 */
function representNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  if (Number.isInteger(n)) return BigInt(n).toString();
  let v = pythonFloatRepr(n).toLowerCase();
  if (!v.includes('.') && v.includes('e')) v = v.replace('e', '.0e');
  return v;
}

/**
 * Build the node graph the way PyYAML's representer does: the same object (by identity)
 * represented twice becomes one node, which the serializer then anchors. Strings,
 * numbers, booleans and null are never aliased (SafeRepresenter.ignore_aliases).
 */
function represent(value: YamlValue, sortKeys: boolean, seen: Map<object, Node>): Node {
  if (value === null) return { kind: 'scalar', text: 'null', isString: false, scan: undefined };
  if (typeof value === 'boolean') return { kind: 'scalar', text: value ? 'true' : 'false', isString: false, scan: undefined };
  if (typeof value === 'number') {
    return { kind: 'scalar', text: representNumber(value), isString: false, scan: undefined };
  }
  if (typeof value === 'string') return { kind: 'scalar', text: value, isString: true, scan: undefined };
  // PyYAML's SafeRepresenter refuses objects it does not know; so do we (undefined,
  // functions, bigint, Date, class instances): a silent guess would corrupt the output.
  if (typeof value !== 'object') throw new TypeError(`emitYaml: cannot represent a value of type ${typeof value}`);
  const existing = seen.get(value);
  if (existing) return existing;
  let node: Node;
  if (value instanceof YamlDate || value instanceof YamlTimestamp) {
    node = { kind: 'scalar', text: value.text, isString: false, source: value, scan: undefined };
    seen.set(value, node);
    return node;
  }
  if (Array.isArray(value)) {
    const seq: SeqNode & { source: object } = { kind: 'seq', items: [], source: value };
    seen.set(value, seq);
    for (const item of value) seq.items.push(represent(item, sortKeys, seen));
    return seq;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`emitYaml: cannot represent an instance of ${(value as object).constructor?.name ?? 'an unknown class'}`);
  }
  const map: MapNode & { source: object } = { kind: 'map', entries: [], source: value };
  seen.set(value, map);
  const keys = Object.keys(value);
  if (sortKeys) keys.sort(compareCodePoints);
  for (const key of keys) {
    const v = (value as { [k: string]: YamlValue })[key];
    // Like JSON.stringify, a key whose value is undefined is left out.
    if (v === undefined) continue;
    map.entries.push([{ kind: 'scalar', text: key, isString: true, scan: undefined }, represent(v, sortKeys, seen)]);
  }
  return map;
}

/** PyYAML Serializer.anchor_node: a node reached a second time gets the next id00N. */
function assignAnchors(root: Node): void {
  const visited = new Set<Node>();
  let counter = 0;
  const walk = (node: Node): void => {
    // A scalar made from a string, number, boolean or null is a fresh node each time it
    // is represented: only collections and dates (node.source) can be reached twice.
    if (node.kind === 'scalar' && !node.source) return;
    if (visited.has(node)) {
      if (!node.anchor) node.anchor = `id${String(++counter).padStart(3, '0')}`;
      return;
    }
    visited.add(node);
    if (node.kind === 'seq') node.items.forEach(walk);
    else if (node.kind === 'map') {
      for (const [k, v] of node.entries) {
        walk(k);
        walk(v);
      }
    }
  };
  walk(root);
}

class Emitter {
  // One growing string: V8 ropes make appends cheap, and most scalars go in whole (fast paths below).
  private out = '';
  private column = 0;
  private indent = -1;
  private indents: number[] = [];
  private whitespace = true;
  private indention = true;
  private readonly emitted = new Set<Node>();

  constructor(
    private readonly bestWidth: number,
    private readonly bestIndent: number,
  ) {}

  result(): string {
    return this.out;
  }

  // --- low-level writers (PUT, PUT_BREAK, WRITE) ---
  private put(s: string): void {
    this.out += s;
    this.column += 1;
  }
  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }
  private writeCodePoint(c: number): void {
    this.out += c < 0x80 ? ASCII[c]! : String.fromCodePoint(c);
    this.column += 1;
  }
  private writeBreak(c: number): void {
    if (c === 0x0a) this.putBreak();
    else {
      this.out += String.fromCodePoint(c);
      this.column = 0;
    }
  }

  private writeIndent(): void {
    const indent = this.indent >= 0 ? this.indent : 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    for (const ch of indicator) this.writeCodePoint(ch.codePointAt(0)!);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }
  private popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  // --- node emission ---
  emitDocument(root: Node): void {
    this.emitNode(root, false, false);
    // yaml_emitter_emit_document_end: finish the last line.
    this.writeIndent();
  }

  /** `mapping`: the node is a mapping key or value; `simpleKey`: it is a simple key. */
  private emitNode(node: Node, mapping: boolean, simpleKey: boolean): void {
    if (node.anchor && this.emitted.has(node)) {
      // yaml_emitter_emit_alias
      this.writeIndicator(`*${node.anchor}`, true, false, false);
      return;
    }
    // Only anchored nodes can be met again (as aliases): the others need no bookkeeping.
    if (node.anchor) this.emitted.add(node);
    if (node.kind === 'scalar') this.emitScalar(node, simpleKey);
    else if (node.kind === 'seq') this.emitSequence(node, mapping);
    else this.emitMapping(node);
  }

  private processAnchor(node: Node): void {
    if (node.anchor) this.writeIndicator(`&${node.anchor}`, true, false, false);
  }

  private emitSequence(node: SeqNode & { anchor?: string }, mapping: boolean): void {
    this.processAnchor(node);
    if (node.items.length === 0) {
      // check_empty_sequence → flow style "[]"
      this.writeIndicator('[', true, true, false);
      this.writeIndicator(']', false, false, false);
      return;
    }
    this.increaseIndent(false, mapping && !this.indention);
    for (const item of node.items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.emitNode(item, false, false);
    }
    this.popIndent();
  }

  private emitMapping(node: MapNode & { anchor?: string }): void {
    this.processAnchor(node);
    if (node.entries.length === 0) {
      this.writeIndicator('{', true, true, false);
      this.writeIndicator('}', false, false, false);
      return;
    }
    this.increaseIndent(false, false);
    for (const [key, value] of node.entries) {
      this.writeIndent();
      if (this.checkSimpleKey(key)) {
        this.emitNode(key, true, true);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.emitNode(key, true, false);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.emitNode(value, true, false);
    }
    this.popIndent();
  }

  /** yaml_emitter_check_simple_key: scalars of at most 128 bytes on one line. */
  private checkSimpleKey(key: Node): boolean {
    if (key.kind !== 'scalar') return false;
    if (key.anchor && this.emitted.has(key)) return true;
    const a = scanned(key);
    const length = (key.anchor ? key.anchor.length : 0) + a.byteLength;
    return !a.multiline && length <= 128;
  }

  private selectStyle(node: ScalarNode, a: ScalarAnalysis, simpleKey: boolean): Style {
    // PyYAML: implicit[0] (plain_implicit) is false when the resolver would read the
    // plain text as another type; libyaml then falls back to single quotes.
    // Deviation (js-yaml/gray-matter round trip): also false when js-yaml would.
    const plainImplicit = node.isString ? !pyYamlResolvesNonString(node.text) && !jsYamlResolvesNonString(node.text) : true;
    let style: Style = 'plain';
    if (simpleKey && a.multiline) style = 'double';
    if (style === 'plain') {
      if (!a.blockPlainAllowed) style = 'single';
      if (a.byteLength === 0 && simpleKey) style = 'single';
      if (!plainImplicit) style = 'single';
      if (node.forceQuote) style = 'single';
    }
    if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
    // Deviation (js-yaml round trip): libyaml writes U+2028/U+2029 raw inside single
    // quotes and indents the next line; YAML 1.1 readers (PyYAML) see a line break there,
    // YAML 1.2 readers (js-yaml) see a plain character followed by indentation spaces.
    // Double quotes escape them (\L, \P), which every reader agrees on. Absent from the corpus.
    if (style === 'single' && /[\u2028\u2029]/.test(node.text)) style = 'double';
    return style;
  }

  private emitScalar(node: ScalarNode & { anchor?: string }, simpleKey: boolean): void {
    const analysis = scanned(node);
    const style = node.isString ? this.selectStyle(node, analysis, simpleKey) : 'plain';
    // Text without surrogates: one UTF-16 unit per code point, so its length is its width.
    const width = /[\uD800-\uDFFF]/.test(node.text) ? -1 : node.text.length;
    this.processAnchor(node);
    this.increaseIndent(true, false);
    const allowBreaks = !simpleKey;
    if (style === 'plain' && width >= 0 && this.fitsWithoutFolding(width, analysis, 0)) {
      // Fast path, same bytes: no line break and no space can reach past the width, so
      // write_plain would copy the text as is.
      if (!this.whitespace && width > 0) this.put(' ');
      this.out += node.text;
      this.column += width;
      this.whitespace = false;
      this.indention = false;
    } else if (style === 'single' && width >= 0 && this.fitsWithoutFolding(width, analysis, 2 + countQuotes(node.text))) {
      this.writeIndicator("'", true, false, false);
      this.out += node.text.replace(/'/g, "''");
      this.column += width + countQuotes(node.text);
      this.writeIndicator("'", false, false, false);
      this.whitespace = false;
      this.indention = false;
    } else if (style === 'plain') this.writePlain(node.text, allowBreaks);
    else if (style === 'single') this.writeSingleQuoted(node.text, allowBreaks);
    else this.writeDoubleQuoted(node.text, allowBreaks);
    this.popIndent();
  }

  /**
   * True when writing `text` from the current column can never fold: the scalar has no
   * line break, and even its last character lands at or before the width (folding only
   * happens at a space while the column is already past the width). `extra` counts the
   * columns quoting adds (quotes and doubled single quotes).
   */
  private fitsWithoutFolding(width: number, a: ScalarAnalysis, extra: number): boolean {
    if (a.multiline) return false;
    const start = this.column + (this.whitespace ? 0 : 1);
    return start + width + extra <= this.bestWidth;
  }

  // The three writers walk the text by code point (codePointAt; a lone surrogate is its
  // own code point, as in libyaml's view of the UTF-8 it would be given).
  private writePlain(text: string, allowBreaks: boolean): void {
    if (!this.whitespace && text.length > 0) this.put(' ');
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < text.length; ) {
      const c = text.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      if (c === 0x20) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && text.charCodeAt(i) !== 0x20) {
          this.writeIndent();
        } else {
          this.writeCodePoint(c);
        }
        spaces = true;
      } else if (c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.writeCodePoint(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private writeSingleQuoted(text: string, allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < text.length; ) {
      const first = i === 0;
      const c = text.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      const last = i >= text.length;
      if (c === 0x20) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && !first && !last && text.charCodeAt(i) !== 0x20) {
          this.writeIndent();
        } else {
          this.writeCodePoint(c);
        }
        spaces = true;
      } else if (c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029) {
        if (!breaks && c === 0x0a) this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === 0x27) this.put("'");
        this.writeCodePoint(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (breaks) this.writeIndent();
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeDoubleQuoted(text: string, allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    let spaces = false;
    for (let i = 0; i < text.length; ) {
      const first = i === 0;
      const c = text.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      const last = i >= text.length;
      const isBreakChar = c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
      if (!isPrintable(c) || c === 0xfeff || isBreakChar || c === 0x22 || c === 0x5c) {
        this.put('\\');
        const simple = DOUBLE_ESCAPES.get(c);
        if (simple) this.put(simple);
        else {
          const [letter, digits] = c <= 0xff ? ['x', 2] : c <= 0xffff ? ['u', 4] : ['U', 8];
          this.put(letter);
          for (const d of c.toString(16).toUpperCase().padStart(digits, '0')) this.put(d);
        }
        spaces = false;
      } else if (c === 0x20) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && !first && !last) {
          this.writeIndent();
          if (text.charCodeAt(i) === 0x20) this.put('\\');
        } else {
          this.writeCodePoint(c);
        }
        spaces = true;
      } else {
        this.writeCodePoint(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }
}

const ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

function countQuotes(text: string): number {
  let n = 0;
  for (let i = text.indexOf("'"); i !== -1; i = text.indexOf("'", i + 1)) n++;
  return n;
}

/** libyaml's analysis of a scalar node, computed once (keys are analysed twice) and kept on the node. */
function scanned(node: ScalarNode): ScalarAnalysis {
  return (node.scan ??= analyzeScalar(node.text));
}

const DOUBLE_ESCAPES = new Map<number, string>([
  [0x00, '0'],
  [0x07, 'a'],
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0b, 'v'],
  [0x0c, 'f'],
  [0x0d, 'r'],
  [0x1b, 'e'],
  [0x22, '"'],
  [0x5c, '\\'],
  [0x85, 'N'],
  [0x2028, 'L'],
  [0x2029, 'P'],
]);

// Python's str.isspace() characters that libyaml treats as ordinary printable text.
const PY_ONLY_SPACE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/;

/** See EmitOptions.guardEnds: quote the first key and the last scalar if strip() would eat their ends. */
function guardEnds(root: Node): void {
  if (root.kind === 'map' && root.entries.length > 0) {
    const key = root.entries[0]![0];
    if (key.kind === 'scalar' && PY_ONLY_SPACE.test(key.text.charAt(0))) key.forceQuote = true;
  }
  let node: Node = root;
  for (;;) {
    if (node.kind === 'map' && node.entries.length > 0) node = node.entries[node.entries.length - 1]![1];
    else if (node.kind === 'seq' && node.items.length > 0) node = node.items[node.items.length - 1]!;
    else break;
  }
  if (node.kind === 'scalar' && node.isString && PY_ONLY_SPACE.test(node.text.charAt(node.text.length - 1))) node.forceQuote = true;
}

/** Dump `value` as PyYAML's CSafeDumper would (block style, trailing newline included). */
export function emitYaml(value: YamlValue, options: EmitOptions = {}): string {
  const sortKeys = options.sortKeys ?? true;
  // yaml_emitter_emit_stream_start: out-of-range settings fall back to libyaml's defaults.
  let indent = options.indent ?? 2;
  if (!Number.isInteger(indent) || indent < 2 || indent > 9) indent = 2;
  let width = options.width ?? 80;
  if (width >= 0 && width <= indent * 2) width = 80;
  if (width < 0) width = Number.POSITIVE_INFINITY;
  const root = represent(value, sortKeys, new Map());
  assignAnchors(root);
  if (options.guardEnds) guardEnds(root);
  const emitter = new Emitter(width, indent);
  emitter.emitDocument(root);
  return emitter.result();
}
