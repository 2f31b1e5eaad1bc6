// A shard kept as the text it was read as. An ordinary run reads a shard because one of
// its work packages changed; the thousand others stay as they were. Parsing all of them
// into objects, checking them one by one and stringifying them again was most of the CPU
// of a run that changed 1 % of a site (every shard holds a change), and most of its
// garbage. Kept as text, a shard costs one scan when read (where each entry starts and
// ends, its source and updatedAt), an entry is parsed only when the run asks for it, and
// the written shard is the old text with the changed entries spliced in: the same bytes
// `stableJson` gives for the merged entries.
//
// Pure (no I/O): manifest.ts reads and writes the files.
import { inStableOrder, type ManifestWorkPackage } from './manifest.js';
import { decodeHashes, encodeHashes, indexInSorted, nameHash, splitPath, SummaryWindow, type ShardSummary } from './shard-summary.js';

/** A shard's text with the place of each entry in it. */
export interface ShardText {
  readonly text: string;
  /** The entries' ids, ascending. */
  readonly ids: readonly number[];
  /** Entry i's value is text.slice(bounds[2i], bounds[2i + 1]). */
  readonly bounds: Uint32Array;
  readonly sources: readonly string[];
  readonly updatedAts: readonly string[];
}

/** Where `id` is in a shard's ascending `ids`, or -1 (a binary search: a map per shard was 3.5 MB at 100,000). */
export function entryIndex(st: Pick<ShardText, 'ids'>, id: number): number {
  return indexInSorted(st.ids, id);
}

const KEY_LINE = '\n  "';
const FIELD_LINE = '\n    "';
// Built once: a 1 % run indexes every shard (30,000 entries at 30,000), and building these
// per entry, with a regular expression's match per key, was ~8 MB of its garbage.
const NEXT_KEY = `,${KEY_LINE}`;
const SOURCE_FIELD = `${FIELD_LINE}source": "`;
const UPDATED_AT_FIELD = `${FIELD_LINE}updatedAt": "`;

/** An entry's key as an id: digits with no leading zero (JSON of a non-negative integer), else NaN. */
function keyId(text: string, from: number, to: number): number {
  if (to <= from || to - from > 15 || (text.charCodeAt(from) === 48 && to - from > 1)) return NaN; // 15 digits: exact as a number
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Where each entry of a shard's text is, or null when the text is not laid out as curate
 * writes it (`stableJson`: two-space indentation, keys sorted, ids ascending); the caller
 * then parses it whole. Only a shard whose bytes match the digest manifest.json records is
 * indexed, so null means an older or foreign layout, never a reason to fail.
 */
export function indexShardText(text: string): ShardText | null {
  if (!text.startsWith('{\n  "') || !text.endsWith('\n  }\n}\n')) return null;
  const ids: number[] = [];
  const bounds: number[] = [];
  const sources: string[] = [];
  const updatedAts: string[] = [];
  const pool = new Map<string, string>();
  // A raw newline never occurs inside a JSON string (it is escaped), so "\n" + two spaces
  // + a quote starts a top-level key and nothing else.
  let pos = 1;
  const last = text.length - 3; // the "\n}\n" that closes the object
  while (pos < last) {
    if (!text.startsWith(KEY_LINE, pos)) return null;
    const keyStart = pos + KEY_LINE.length;
    const keyEnd = text.indexOf('": {', keyStart);
    if (keyEnd < 0) return null;
    const id = keyId(text, keyStart, keyEnd);
    if (Number.isNaN(id)) return null;
    if (ids.length && id <= ids[ids.length - 1]!) return null;
    const start = keyEnd + 3;
    const next = text.indexOf(NEXT_KEY, start);
    const end = next < 0 ? last : next;
    if (!text.startsWith('\n  }', end - 4)) return null;
    const source = fieldString(text, start, end, SOURCE_FIELD);
    const updatedAt = fieldString(text, start, end, UPDATED_AT_FIELD);
    if (source === null || updatedAt === null) return null;
    ids.push(id);
    bounds.push(start, end);
    // Copies, not slices: a slice of the text would keep the whole text in memory after
    // its holder let it go (PreviousState reads it again when it needs it).
    let s = pool.get(source);
    if (s === undefined) pool.set(source, (s = detached(source)));
    sources.push(s);
    updatedAts.push(detached(updatedAt));
    pos = next < 0 ? last : next + 1;
  }
  return { text, ids, bounds: Uint32Array.from(bounds), sources, updatedAts };
}

/** A string with no escape in it, as a string of its own (not a slice of a larger one). */
const detached = (raw: string): string => JSON.parse(`"${raw}"`) as string;

/** The index with another copy of the same text (read again: the offsets still hold). */
export const withText = (st: ShardText, text: string): ShardText => ({ ...st, text });

/** The value of an entry's top-level string field (`line`: its line up to the value's quote; searched in text[start, end)), or null when absent. */
function fieldString(text: string, start: number, end: number, line: string): string | null {
  // Fields are in key order and `source` and `updatedAt` come last: search back from the end.
  const i = text.lastIndexOf(line, end);
  if (i < start) return null;
  const from = i + line.length;
  const to = text.indexOf('"', from);
  if (to < 0 || to >= end) return null;
  const raw = text.slice(from, to);
  // An escape would end the value early at an escaped quote: such values are parsed.
  if (raw.includes('\\')) return null;
  return raw;
}

/** The text of entry i's value (its lines indented for the shard, which JSON ignores). */
export const entryText = (st: ShardText, i: number): string => st.text.slice(st.bounds[2 * i]!, st.bounds[2 * i + 1]!);

/** Entry i, parsed. */
export const parseEntry = (st: ShardText, i: number): ManifestWorkPackage => JSON.parse(entryText(st, i)) as ManifestWorkPackage;

/** The paths entry i records under `files`, without parsing the entry. */
export function entryPaths(st: ShardText, i: number): string[] {
  // Searched within the entry's own text: a search of the shard for a field an entry does
  // not have would run on to the shard's end, for every such entry.
  const text = entryText(st, i);
  const open = text.indexOf(`${FIELD_LINE}files": {\n`); // not `{}`: no files
  if (open < 0) return [];
  const close = text.indexOf('\n    }', open);
  const out: string[] = [];
  let pos = open;
  for (;;) {
    const line = text.indexOf('\n      "', pos + 1);
    if (line < 0 || line >= close) break;
    // Keys are JSON strings: the first `": "` after the key's opening quote ends it unless
    // escaped; a key with a backslash is read by the JSON parser.
    const keyEnd = text.indexOf('": "', line + 8);
    const raw = text.slice(line + 8, keyEnd);
    out.push(raw.includes('\\') ? pathFromLine(text, line + 7, close) : raw);
    pos = keyEnd;
  }
  return out;
}

/** A `files` key holding an escape: the line parsed as a one-key JSON object. */
function pathFromLine(text: string, quote: number, close: number): string {
  const eol = text.indexOf('\n', quote);
  const line = text.slice(quote, eol < 0 || eol > close ? close : eol).replace(/,$/, '');
  return Object.keys(JSON.parse(`{${line}}`) as object)[0]!;
}

/** A top-level field of entry i as JSON (parsed), or undefined when absent. */
function entryField(st: ShardText, i: number, name: string): unknown {
  const text = entryText(st, i);
  const line = `${FIELD_LINE}${name}": `;
  const from = text.indexOf(line);
  if (from < 0) return undefined;
  // The value ends where the next top-level field (or the entry) starts.
  const next = text.indexOf(FIELD_LINE, from + line.length);
  const stop = next < 0 ? text.length - 4 : next;
  return JSON.parse(text.slice(from + line.length, stop).replace(/,$/, ''));
}

/** A shard as the previous text less some entries, plus new ones (mapped, or kept with fewer files). */
export interface ShardPatch {
  readonly base: ShardText;
  /**
   * The previous shard's bytes, when its text is ASCII (each character one byte, so the
   * index's offsets are byte offsets): the patched shard is then spliced from them
   * (patchBytes) rather than built as a string and encoded again.
   */
  readonly baseBytes?: Buffer;
  /** The summary manifest.json recorded for `base`. */
  readonly baseSummary: ShardSummary;
  /** The previous entries (parsed) of the ids of `base` whose text does not stay: gone, or replaced by `put`. */
  readonly dropped: ReadonlyMap<number, ManifestWorkPackage>;
  /** New entries, by id. */
  readonly put: ReadonlyMap<number, ManifestWorkPackage>;
}

/** Whether the patch leaves the shard with no entry. */
export function patchEmpty(p: ShardPatch): boolean {
  return p.put.size === 0 && p.base.ids.every((id) => p.dropped.has(id));
}

/** One entry's value as stableJson writes it inside a shard (indented one level). */
const entryJson = (e: ManifestWorkPackage): string => JSON.stringify(inStableOrder(e), null, 2).replace(/\n/g, '\n  ');

/**
 * The patched shard's entries in id order, each as its line begins: a new one (its text to
 * write), or one that stays (its index in `base`, whose text it keeps).
 */
function* mergedEntries(p: ShardPatch): Generator<string | number> {
  const put = [...p.put.keys()].sort((a, b) => a - b);
  const ids = p.base.ids;
  let j = 0;
  for (let i = 0; i <= ids.length; i++) {
    const id = i < ids.length ? ids[i]! : Infinity;
    while (j < put.length && put[j]! < id) {
      yield `  "${put[j]}": ${entryJson(p.put.get(put[j]!)!)}`;
      j += 1;
    }
    if (i === ids.length) break;
    if (p.put.has(id)) {
      yield `  "${id}": ${entryJson(p.put.get(id)!)}`;
      j += 1;
    } else if (!p.dropped.has(id)) yield i;
  }
}

/** The patched shard's bytes: what stableJson gives for the merged entries. */
export function patchText(p: ShardPatch): string {
  const parts: string[] = [];
  for (const e of mergedEntries(p)) parts.push(typeof e === 'string' ? e : `  "${p.base.ids[e]}": ${entryText(p.base, e)}`);
  return parts.length ? `{\n${parts.join(',\n')}\n}\n` : '{}\n';
}

/**
 * patchText's bytes, spliced from the previous shard's bytes (ASCII: see ShardPatch.baseBytes),
 * as the pieces to write in order: each run of entries that stay is a view of the bytes
 * they had (separators included, nothing copied), and only the new entries are stringified
 * and encoded. A run that changed a few entries in every shard (1 % changed at 30,000: 30
 * shards of ~1 MB) built each shard as a string and encoded it again (~29 MB of strings and
 * as much again of their bytes); one buffer of the whole shard instead still left ~1 MB of
 * Buffer a shard for the collector (1 % at 100,000 peaked ~25 MB higher).
 */
export function patchBytes(p: ShardPatch, baseBytes: Buffer): Buffer[] {
  const { ids, bounds } = p.base;
  /** Units in order: a range of the previous bytes (entries that stay, with the separators between them) or a new entry's text. */
  const units: ([number, number] | string)[] = [];
  /** The range the last unit is, and the index of its last entry (a next one extends it). */
  let run: { range: [number, number]; last: number } | null = null;
  for (const e of mergedEntries(p)) {
    if (typeof e === 'string') {
      run = null;
      units.push(e);
    } else if (run && run.last === e - 1) {
      run.range[1] = bounds[2 * e + 1]!;
      run.last = e;
    } else {
      // The entry's line starts with `  "<id>": ` (6 characters and the id's digits) before its value.
      run = { range: [bounds[2 * e]! - 6 - String(ids[e]).length, bounds[2 * e + 1]!], last: e };
      units.push(run.range);
    }
  }
  if (!units.length) return [Buffer.from('{}\n')];
  // The new entries and separators between two ranges are encoded together, one piece each.
  const pieces: Buffer[] = [];
  let text = '{\n';
  units.forEach((u, k) => {
    if (k > 0) text += ',\n';
    if (typeof u === 'string') text += u;
    else {
      pieces.push(Buffer.from(text, 'utf8'), baseBytes.subarray(u[0], u[1]));
      text = '';
    }
  });
  pieces.push(Buffer.from(`${text}\n}\n`, 'utf8'));
  return pieces;
}

/**
 * The patched shard's summary, equal to summarizeShard over its merged entries: owners and
 * newest from the index; file counts and names from the previous summary less the dropped
 * entries' plus the new ones'; validity and references from the previous summary when no
 * dropped entry had any, else from the kept entries' text.
 */
export function patchSummary(p: ShardPatch, bytes: number): ShardSummary {
  const { base, put, dropped } = p;
  const s = p.baseSummary;
  const owned: Record<string, number[]> = {};
  const newest: Record<string, string> = {};
  const newestAt: Record<string, number> = {};
  const note = (source: string, id: number, updatedAt: string): void => {
    (owned[source] ??= []).push(id);
    const t = Date.parse(updatedAt);
    if (newestAt[source] === undefined || t > newestAt[source]!) {
      newestAt[source] = t;
      newest[source] = updatedAt;
    }
  };
  const kept: number[] = [];
  for (let i = 0; i < base.ids.length; i++) {
    const id = base.ids[i]!;
    if (dropped.has(id) || put.has(id)) continue;
    kept.push(i);
    note(base.sources[i]!, id, base.updatedAts[i]!);
  }
  for (const [id, e] of put) note(e.source, id, e.updatedAt);
  for (const source in owned) owned[source]!.sort((a, b) => a - b);

  // Files per source: the previous counts less the dropped entries' plus the new ones'.
  const files: Record<string, number> = {};
  for (const source in owned) files[source] = s.files[source] ?? 0;
  const countFiles = (e: ManifestWorkPackage, sign: number): void => {
    let n = 0;
    for (const _ in e.files) n += 1;
    if (e.source in files) files[e.source] = files[e.source]! + sign * n;
  };
  for (const e of dropped.values()) countFiles(e, -1);
  for (const e of put.values()) countFiles(e, 1);

  // Names: the previous hashes (one per path) less one for each dropped path, plus one for
  // each new path, per folder: the same multiset summarizeShard counts from every path.
  const delta = new Map<string, { add: number[]; remove: Map<number, number> }>();
  const change = (path: string, add: boolean): void => {
    const [dir, name] = splitPath(path);
    let d = delta.get(dir);
    if (!d) delta.set(dir, (d = { add: [], remove: new Map() }));
    const h = nameHash(name);
    if (add) d.add.push(h);
    else d.remove.set(h, (d.remove.get(h) ?? 0) + 1);
  };
  for (const e of dropped.values()) for (const path in e.files) change(path, false);
  for (const e of put.values()) for (const path in e.files) change(path, true);
  const names: Record<string, string> = {};
  for (const dir of new Set([...Object.keys(s.names), ...delta.keys()])) {
    const d = delta.get(dir);
    if (!d) {
      names[dir] = s.names[dir]!;
      continue;
    }
    const list = withChanges(s.names[dir], d.remove, d.add);
    if (list.length) names[dir] = encodeHashes(list);
  }

  // Validity and references: combined from the previous summary and the new entries while
  // every dropped entry that had any is replaced by an entry with the same (combining is
  // commutative and combining a value twice is combining it once, so what the dropped one
  // gave is still given); else from every kept entry's text. A run that edits pages without
  // touching their links replaces each with the same references: with 1 % changed at 30,000
  // every one of the 30 shards was summarized from its text (~30 ms of apply).
  const window = new SummaryWindow();
  let validityDropped = false;
  let refsDropped = false;
  for (const [id, e] of dropped) {
    const next = put.get(id);
    if ((e.validFrom !== undefined || e.validUntil !== undefined) && (!next || next.validFrom !== e.validFrom || next.validUntil !== e.validUntil)) validityDropped = true;
    if (e.refs !== undefined && !sameRefs(e.refs, next?.refs)) refsDropped = true;
  }
  if (validityDropped || refsDropped) {
    for (const i of kept) {
      window.add(validityDropped ? entryField(base, i, 'validFrom') : undefined, validityDropped ? entryField(base, i, 'validUntil') : undefined, refsDropped ? (entryField(base, i, 'refs') as Record<string, string | null> | undefined) : undefined);
    }
  }
  window.add(validityDropped ? undefined : s.validFrom, validityDropped ? undefined : s.validUntil, refsDropped ? undefined : s.refs);
  for (const e of put.values()) window.add(e.validFrom, e.validUntil, e.refs);
  return { bytes, owned, newest, files, ...window.fields(), names };
}

/** Whether two entries record the same references (same targets, same keys). */
function sameRefs(a: Readonly<Record<string, string | null>>, b: Readonly<Record<string, string | null>> | undefined): boolean {
  if (b === undefined) return false;
  let n = 0;
  for (const t in a) {
    if (!(t in b) || a[t] !== b[t]) return false;
    n += 1;
  }
  for (const _ in b) n -= 1;
  return n === 0;
}

/** The hashes of `encoded` (encodeHashes' text, or none) less `remove` (hash → how many), plus `added`. */
function withChanges(encoded: string | undefined, remove: Map<number, number>, added: readonly number[]): number[] {
  const out: number[] = [...added];
  for (const h of encoded ? decodeHashes(encoded) : []) {
    const n = remove.get(h);
    if (n) remove.set(h, n - 1);
    else out.push(h);
  }
  return out;
}
