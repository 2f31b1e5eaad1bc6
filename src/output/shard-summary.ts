// What manifest.json records of each shard besides its digest (format 4): enough for an
// ordinary run to keep a whole shard's work packages without reading the shard, and to
// know which shards it must read. Pure: computed from a shard's entries when it is written.
//
// An ordinary run keeps an owned work package when nothing could have changed its output
// (sync/collect.ts). For a shard it does not read, each of those signals is answered here:
// - which work packages each source owns (the listing's ids are compared with these);
// - the newest `updatedAt` per source (a shard with nothing as new as the changes walk's
//   bound holds no row the walk must have returned);
// - the window of `now` every entry is valid in (latest `validFrom`, earliest `validUntil`);
// - every reference its pages recorded (`refs`: target → recorded key), so a moved or
//   renamed target finds the shards showing it;
// - the files per source (counted by the planner) and, per folder, a 32-bit hash of each
//   file's name (sorted), checked against one listing of the folder: every hash must be
//   among the names there. A file deleted by hand is missed only if its name's hash equals
//   another file's in the same folder (about one chance in 430,000 for a folder of 10,000
//   files); the audit, which reads every shard, checks every path.
import type { ManifestWorkPackage } from './manifest.js';

export interface ShardSummary {
  /** Size of the shard file in bytes: a cheap check that it is the file manifest.json describes. */
  bytes: number;
  /** Source → the ids it owns in the shard, ascending. */
  owned: Record<string, number[]>;
  /** Source → the newest `updatedAt` among them. */
  newest: Record<string, string>;
  /** Source → how many files its entries in the shard record. */
  files: Record<string, number>;
  /** The latest `validFrom` and the earliest `validUntil` of the shard's entries. */
  validFrom?: string;
  validUntil?: string;
  /** Target id → the key its pages recorded (`refs`); false: two pages recorded different keys. */
  refs?: Record<string, string | null | false>;
  /** Folder (relative to the output root; "." for the root) → sorted name hashes, as base64 of big-endian uint32s. */
  names: Record<string, string>;
}

/** FNV-1a over the name's UTF-16 code units: stable, fast, and the same in every run. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A path's folder and name, as the presence check lists them. */
export function splitPath(rel: string): [string, string] {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? ['.', rel] : [rel.slice(0, cut), rel.slice(cut + 1)];
}

/** Ascending ids as text: runs of consecutive ids as `from-to`, joined by commas ("1-3,7,9"). */
export function encodeIds(ids: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j += 1;
    out.push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  return out.join(',');
}

/** The ids of encodeIds' text; null when it is not such a text. */
export function decodeIds(text: string): number[] | null {
  if (text === '') return [];
  const out: number[] = [];
  // Read character by character: every run reads every shard's owned ids, and a regular
  // expression's match per part was ~2 MB of garbage in a no-change run at 30,000.
  let at = 0;
  const digits = (): number | null => {
    const start = at;
    let n = 0;
    for (let c = text.charCodeAt(at); c >= 48 && c <= 57; c = text.charCodeAt(++at)) n = n * 10 + (c - 48);
    return at > start ? n : null;
  };
  for (;;) {
    const from = digits();
    if (from === null) return null;
    let to = from;
    if (text.charCodeAt(at) === 45 /* - */) {
      at += 1;
      const end = digits();
      if (end === null) return null;
      to = end;
    }
    if (to < from || (out.length && from <= out[out.length - 1]!)) return null;
    for (let id = from; id <= to; id++) out.push(id);
    if (at === text.length) return out;
    if (text.charCodeAt(at) !== 44 /* , */) return null;
    at += 1;
  }
}

export function encodeHashes(hashes: number[]): string {
  const sorted = Uint32Array.from(hashes).sort();
  const buf = Buffer.alloc(sorted.length * 4);
  sorted.forEach((h, i) => buf.writeUInt32BE(h, i * 4));
  return buf.toString('base64');
}

export function decodeHashes(text: string): Uint32Array {
  const buf = Buffer.from(text, 'base64');
  const out = new Uint32Array(buf.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = buf.readUInt32BE(i * 4);
  return out;
}

/** How many file names the summaries record per folder (4 bytes a name hash, base64; nothing decoded). */
export function namesPerFolder(summaries: Iterable<ShardSummary>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of summaries) {
    for (const dir in s.names) {
      const text = s.names[dir]!;
      const bytes = (text.length * 3) / 4 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
      counts.set(dir, (counts.get(dir) ?? 0) + bytes / 4);
    }
  }
  return counts;
}

/** Whether an ascending list of name hashes holds `h` (binary search). */
export function hasHash(sorted: Uint32Array, h: number): boolean {
  return indexInSorted(sorted, h) >= 0;
}

/** Where `v` is in an ascending list of numbers, or -1 (binary search). */
export function indexInSorted(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = sorted[mid]!;
    if (at === v) return mid;
    if (at < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The shards whose summaries may record one of `paths`, by their folders' name hashes: a
 * shard that records a path is always among them (a hash shared by another name only
 * costs reading a shard for nothing). `names`: shard → its summary's `names`.
 */
export function shardsNaming(names: ReadonlyMap<number, Readonly<Record<string, string>>>, paths: Iterable<string>): Set<number> {
  const byDir = new Map<string, number[]>();
  for (const p of paths) {
    const [dir, name] = splitPath(p);
    const list = byDir.get(dir);
    if (list) list.push(nameHash(name));
    else byDir.set(dir, [nameHash(name)]);
  }
  const out = new Set<number>();
  for (const [shard, folders] of names) {
    for (const [dir, hashes] of byDir) {
      const text = folders[dir];
      if (text === undefined) continue;
      const sorted = decodeHashes(text);
      if (hashes.some((h) => hasHash(sorted, h))) {
        out.add(shard);
        break;
      }
    }
  }
  return out;
}

/** The summary of a shard whose file holds `entries` in `bytes` bytes. */
export function summarizeShard(entries: Record<string, ManifestWorkPackage>, bytes: number): ShardSummary {
  const owned: Record<string, number[]> = {};
  const newest: Record<string, string> = {};
  const files: Record<string, number> = {};
  const names = new Map<string, number[]>();
  const window = new SummaryWindow();
  for (const key in entries) {
    const e = entries[key]!;
    (owned[e.source] ??= []).push(Number(key));
    const prev = newest[e.source];
    if (prev === undefined || Date.parse(e.updatedAt) > Date.parse(prev)) newest[e.source] = e.updatedAt;
    for (const p in e.files) {
      files[e.source] = (files[e.source] ?? 0) + 1;
      const [dir, name] = splitPath(p);
      let list = names.get(dir);
      if (!list) names.set(dir, (list = []));
      list.push(nameHash(name));
    }
    files[e.source] ??= 0;
    window.add(e.validFrom, e.validUntil, e.refs);
  }
  for (const s in owned) owned[s]!.sort((a, b) => a - b);
  const encoded: Record<string, string> = {};
  for (const [dir, list] of names) encoded[dir] = encodeHashes(list);
  return { bytes, owned, newest, files, ...window.fields(), names: encoded };
}

/**
 * The validity window and the references of a shard's entries, folded one entry at a
 * time (in any order): the latest `validFrom`, the earliest `validUntil`, and per target
 * the key recorded (false when two entries recorded different ones).
 */
export class SummaryWindow {
  private validFrom: number | null = null;
  private validUntil: number | null = null;
  private readonly refs: Record<string, string | null | false> = {};
  private hasRefs = false;

  add(validFrom: unknown, validUntil: unknown, refs: Readonly<Record<string, string | null | false>> | undefined): void {
    if (typeof validFrom === 'string' && validFrom) this.validFrom = Math.max(this.validFrom ?? -Infinity, Date.parse(validFrom));
    if (typeof validUntil === 'string' && validUntil) this.validUntil = Math.min(this.validUntil ?? Infinity, Date.parse(validUntil));
    for (const t in refs ?? {}) {
      this.hasRefs = true;
      const recorded = refs![t]!;
      if (!(t in this.refs)) this.refs[t] = recorded;
      else if (this.refs[t] !== recorded) this.refs[t] = false;
    }
  }

  /** The summary's `validFrom`, `validUntil` and `refs`, each absent when no entry had one. */
  fields(): Pick<ShardSummary, 'validFrom' | 'validUntil' | 'refs'> {
    return {
      ...(this.validFrom !== null ? { validFrom: new Date(this.validFrom).toISOString() } : {}),
      ...(this.validUntil !== null ? { validUntil: new Date(this.validUntil).toISOString() } : {}),
      ...(this.hasRefs ? { refs: this.refs } : {}),
    };
  }
}

/** Whether `now` is in every entry's validity window. */
export function summaryValidAt(s: ShardSummary, now: Date): boolean {
  const t = now.getTime();
  if (s.validFrom && t < Date.parse(s.validFrom)) return false;
  if (s.validUntil && t >= Date.parse(s.validUntil)) return false;
  return true;
}
