// The sync state under the output root (docs/manifest.md): `.curate/manifest.json` (the
// sources, and a digest of each shard) and `.curate/work-packages/<from>-<to>.json`, the
// work packages' entries in shards of SHARD_SPAN ids. Pretty-printed with sorted keys so
// it diffs cleanly and can be committed with the site; a run rewrites only the shards
// whose entries changed, so what it writes (and a commit's diff) follows the change.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { OutputError } from '../errors.js';
import type { ContentProbe } from '../types.js';
import { decodeIds, encodeIds, summarizeShard, type ShardSummary } from './shard-summary.js';
import { indexShardText, parseEntry, patchBytes, patchEmpty, patchSummary, patchText, type ShardPatch, type ShardText } from './shard-text.js';
import { fsyncDir, holdsText, makeDir, stageDurably, writeTextAtomic } from './writer.js';

export const STATE_DIR = '.curate';
export const MANIFEST_FILE = `${STATE_DIR}/manifest.json`;
/**
 * 4 added each shard's summary (shard-summary.ts) beside its digest; 3 moved the work
 * packages' entries into shard files; 2 added each source's fingerprint and
 * per-work-package validity, references and memory. 1 to 3 are read and upgraded.
 */
export const MANIFEST_VERSION = 5;
/** The folder of the work packages' shards. */
export const SHARD_DIR = `${STATE_DIR}/work-packages`;
/**
 * Ids per shard: one changed work package rewrites one file of at most this many entries
 * (about 1 MB), and a site with 100,000 work packages has about 100 of them.
 */
export const SHARD_SPAN = 1000;
export const shardOf = (id: number): number => Math.floor(id / SHARD_SPAN);
/** A shard's path relative to the output root, e.g. `.curate/work-packages/2000-2999.json`. */
export const shardFile = (shard: number): string => `${SHARD_DIR}/${shardName(shard)}.json`;
const shardName = (shard: number): string => `${shard * SHARD_SPAN}-${shard * SHARD_SPAN + SHARD_SPAN - 1}`;
const SHARD_NAME = /^(\d+)-(\d+)\.json$/;
/** Whether a path relative to the output root is part of the state curate commits (the manifest or a shard). */
export const isStateFile = (rel: string): boolean => rel === MANIFEST_FILE || (rel.startsWith(`${SHARD_DIR}/`) && SHARD_NAME.test(rel.slice(SHARD_DIR.length + 1)));
/** Temp files of atomic writes: inside the state folder, never beside the files a site reads. */
export const TMP_DIR = `${STATE_DIR}/tmp`;

export interface ManifestSource {
  /**
   * The newest `updatedAt` the last complete walk of the source received that was not in
   * the future (of the server's `Date` and of this machine's clock, whichever is earlier).
   * Every later edit has a later `updatedAt`; the next walk starts there (minus the
   * overlap). Taken from a row, not from a clock: a skewed `Date` cannot move it ahead of
   * the data, and a row dated in the future cannot become it.
   */
  watermark: string | null;
  /**
   * This machine's clock when `watermark` last changed: the next walk's ceiling is at most
   * the watermark plus the real time elapsed since, so a row dated in the future cannot
   * become the watermark even when the server sends no usable `Date`.
   */
  watermarkAt?: string;
  /** Work packages whose last attempt failed: asked for again whatever their updatedAt. */
  retry: number[];
  /**
   * Hash of everything besides the server data that shapes this source's output (profile
   * name, version and options, the source spec). A different value re-maps the source.
   * Absent in version 1 manifests, which therefore re-map once after an upgrade.
   */
  fingerprint?: string;
  /**
   * Digests of the names this source's pages can show that the server changes without
   * touching any work package (projects, types, statuses, custom fields), one per kind.
   * A different digest re-maps the source. Absent before curate recorded them.
   */
  names?: Record<string, string>;
  /** Author (user id) → digest of the user's name, for the authors of this source's work packages. */
  authors?: Record<string, string>;
  /** This machine's clock when the last complete walk of every work package of the source (the audit) ended. */
  auditedAt?: string;
  /**
   * The source's owned rows whose `updatedAt` is at or after `from` (its watermark less the
   * overlap when the run that wrote it ended cleanly), as `updatedAt lockVersion digest`
   * by id: the rows the next changes walk returns again. A returned row equal to its record
   * is decided from its shard's summary, and the rows that must come back are known without
   * reading a shard. Absent when the last run that wrote the manifest did not walk the
   * source cleanly (version 4 manifests have none).
   */
  recent?: RecentRows;
}

/** `ManifestSource.recent`. */
export interface RecentRows {
  from: string;
  rows: Record<string, string>;
}

export type CachedProbe = Extract<ContentProbe, { kind: 'image' } | { kind: 'file' }>;

export interface CachedAttachment {
  md5: string | null;
  size: number;
  sha256: string;
  probe: CachedProbe;
}

export interface ManifestWorkPackage {
  source: string;
  updatedAt: string;
  lockVersion: number;
  /** Output path → sha256 of its bytes. */
  files: Record<string, string>;
  /** Attachment id → what we know of it, so unchanged attachments need no download. */
  attachments: Record<string, CachedAttachment>;
  /** The `now` interval the output is valid for (MappedDocument.validFrom / validUntil). */
  validFrom?: string;
  validUntil?: string;
  /**
   * Work package id → the source that synced it when this one was mapped, as
   * `<name>@<fingerprint>` (null: none), so a change of the target's source (its path
   * template, options) re-maps the pages linking to it.
   */
  refs?: Record<string, string | null>;
  /** Digest of the work package as last received (every attribute and link title it carries). */
  digest?: string;
  /** The profile's memory for this work package (MappedDocument.memory). */
  memory?: unknown;
}

/**
 * What a page showed of a work package it references with `##N` / `###N` (sync/facts.ts):
 * the subject and the ids of type and status, whose names come from the lists every run
 * reads (so a renamed type or status reaches the pages without a request). `outside`: no
 * source synced it when it was read (read by id; read again at the audit).
 */
export interface ManifestTarget {
  subject: string;
  type: number;
  status: number;
  outside?: true;
}

/** The state as a run uses it: every entry, whatever file it is stored in. */
export interface Manifest {
  version: typeof MANIFEST_VERSION;
  profile: string;
  sources: Record<string, ManifestSource>;
  workPackages: Record<string, ManifestWorkPackage>;
  /** Work package id → its facts as last known (null: not visible or gone), for the ids pages reference with facts (kept in manifest.json). */
  targets?: Record<string, ManifestTarget | null>;
  /** This machine's clock when the `outside` targets were last read from the server (the audit bounds them). */
  targetsReadAt?: string;
}

/** manifest.json's own keys: the state less its work packages (which live in the shards). */
export type StateTop = Omit<Manifest, 'workPackages'>;

/** The work packages of a state to write, shard by shard (so no more than a few shards' entries are in memory at once). */
export interface ShardedEntries {
  /** Every shard that may hold an entry, ascending (a shard whose entries come back empty is removed). */
  shards: readonly number[];
  /** A shard's entries, or (a shard read as text) its previous text less and plus what changed. */
  entriesOf(shard: number): Promise<Record<string, ManifestWorkPackage> | ShardPatch>;
  /** How many of a shard's entries the run produced (mapped); default none. */
  fresh?(shard: number): number;
  /** The order to write these shards in (default: as given), e.g. the ones whose texts are in memory first. */
  writeOrder?(shards: readonly number[]): readonly number[];
}

/** A manifest's entries grouped by shard (a whole manifest in memory: tests, and writers that hold one). */
export function shardedEntries(workPackages: Record<string, ManifestWorkPackage>): { shards: readonly number[]; entriesOf: (shard: number) => Promise<Record<string, ManifestWorkPackage>> } {
  const groups = new Map<number, Record<string, ManifestWorkPackage>>();
  for (const id in workPackages) {
    const shard = shardOf(Number(id));
    let g = groups.get(shard);
    if (!g) groups.set(shard, (g = {}));
    g[id] = workPackages[id]!;
  }
  return { shards: [...groups.keys()].sort((a, b) => a - b), entriesOf: async (shard) => groups.get(shard) ?? {} };
}

/**
 * Shards a long-lived process (`curate watch`) parsed in earlier runs, so a run that needs
 * one again does not read it again unless it changed: a shard is taken from the cache when
 * manifest.json still records the cached digest and the file still has the cached identity
 * (inode, size, modification time in ns), which any rewrite (always a rename of a new file)
 * changes. Filled by every read and every write of the state with that cache, up to
 * STATE_CACHE_SHARDS shards.
 */
export interface StateCache {
  shards: Map<number, CachedShard>;
}

/** A shard as parsed: valid while manifest.json records `digest` and the file keeps `stamp`. */
export interface CachedShard {
  digest: string;
  stamp: string;
  entries: Record<string, ManifestWorkPackage>;
}

export const createStateCache = (): StateCache => ({ shards: new Map() });

/**
 * Shards a StateCache keeps, the most recently used: a watcher's runs read the state lazily
 * (a webhook's targeted sync reads its work package's shard), so a few shards serve a
 * burst of edits, and the cache does not grow with the state (it held every shard parsed:
 * idle RSS 119 MB at 10,000 work packages, 145 MB at 30,000; docs/performance.md, twelfth
 * session).
 */
export const STATE_CACHE_SHARDS = 8;

function cacheGet(cache: StateCache, shard: number): CachedShard | undefined {
  const hit = cache.shards.get(shard);
  if (hit) {
    cache.shards.delete(shard);
    cache.shards.set(shard, hit);
  }
  return hit;
}

function cacheSet(cache: StateCache, shard: number, value: CachedShard): void {
  cache.shards.delete(shard);
  cache.shards.set(shard, value);
  for (const oldest of cache.shards.keys()) {
    if (cache.shards.size <= STATE_CACHE_SHARDS) break;
    cache.shards.delete(oldest);
  }
}

/** A file's identity and version (inode, size, modification time): the same stamp, the same bytes. */
const stampText = (st: { ino: bigint; size: bigint; mtimeNs: bigint }): string => `${st.ino}:${st.size}:${st.mtimeNs}`;

const stampOf = async (file: string): Promise<string | null> => {
  try {
    return stampText(await stat(file, { bigint: true }));
  } catch {
    return null;
  }
};

/**
 * A shard read lazily as text: its index (whose `text` the reader may let go of) and its
 * text read again, checked to be the bytes indexed (sync: PreviousState.entry is).
 */
export interface ShardRead {
  index: ShardText;
  reread(): string;
  /**
   * The shard's bytes read again, checked like reread; only for a shard whose text is ASCII
   * (its index's offsets are then byte offsets: see ShardPatch.baseBytes).
   */
  rereadBytes?(): Buffer;
  /** Throws TornShardError unless the file still holds the bytes indexed (a stat; read only when it changed). */
  check(): void;
}

/** The state as read from disk, with how it is stored. */
export interface StoredState {
  manifest: Manifest;
  /**
   * Shard → digest of its bytes, as manifest.json records them; null when the state was
   * read from a version 1 or 2 manifest (everything inline), which is written whole.
   */
  shards: Map<number, string> | null;
  /** Shard → its summary, as manifest.json records them (format 4); null: not recorded (an older format). */
  summaries: Map<number, ShardSummary> | null;
  /**
   * Reads one shard's entries, when the state was read lazily (readState's `lazy`):
   * `manifest.workPackages` then starts empty. Throws TornShardError when the shard is not
   * the file manifest.json describes. Null: every entry was read.
   */
  load: ((shard: number) => Promise<Record<string, ManifestWorkPackage>>) | null;
  /** `load`, but a shard laid out as curate writes it comes back indexed, not parsed (shard-text.ts), with a way to read its text again. */
  loadText?: ((shard: number) => Promise<Record<string, ManifestWorkPackage> | ShardRead>) | null;
  /**
   * Why the files do not agree with each other (a shard changed, missing or added since
   * manifest.json was written: a run killed between the two, a merge, a hand edit), or null.
   */
  torn: string | null;
  /** sha256 of manifest.json as read (what a cache tied to this state names, folder-stamps.ts). */
  digest?: string;
}

/** sha256 of manifest.json's text: names one state exactly (its shards' digests are in it). */
export function digestOfManifest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// The manifest is checked by hand, in place, rather than with a zod schema: with 10,000
// work packages a schema parse copies every entry (tens of MB, ~150 ms) on every run,
// a no-change sync included. Unknown keys are dropped, as a schema would.

class ShapeError extends Error {}
/**
 * A shard read lazily is not the file manifest.json describes (a hand edit or a merge
 * that kept its size): the run starts again reading every shard, which then finds the
 * state torn and reads every work package again, as before a lazy read existed.
 */
export class TornShardError extends Error {
  constructor(readonly file: string) {
    super(`${file} changed since manifest.json was written`);
  }
}
/** State written by a newer curate: refused as such, never "fixed" by rebuilding. */
class NewerStateError extends Error {
  constructor(readonly version: number) {
    super(`version ${version}`);
  }
}

type Obj = Record<string, unknown>;
const what = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
// Paths are passed as (base, key) and joined only to report a failure: a 10,000-entry
// manifest has ~250,000 checked values, and building each path up front was a third of a
// no-change run's garbage collection.
function expect(ok: boolean, base: string, key: string, expected: string, v: unknown): void {
  if (!ok) throw new ShapeError(`${key ? `${base}.${key}` : base}: expected ${expected}, got ${what(v)}`);
}
function object(v: unknown, base: string, key = ''): Obj {
  expect(typeof v === 'object' && v !== null && !Array.isArray(v), base, key, 'object', v);
  return v as Obj;
}
function only(o: Obj, keys: readonly string[]): void {
  for (const k in o) if (!keys.includes(k)) delete o[k];
}
const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const FORMATS: readonly string[] = ['JPEG', 'PNG', 'GIF', 'WEBP', 'ICO'];

function checkProbe(v: unknown, at: string): void {
  const p = object(v, at, 'probe');
  if (p.kind === 'file') return only(p, ['kind']);
  expect(p.kind === 'image', at, 'probe.kind', '"image" or "file"', p.kind);
  if (p.valid === false) return only(p, ['kind', 'valid']);
  expect(p.valid === true, at, 'probe.valid', 'boolean', p.valid);
  expect(typeof p.format === 'string' && FORMATS.includes(p.format), at, 'probe.format', FORMATS.join(' | '), p.format);
  expect(isNumber(p.width), at, 'probe.width', 'number', p.width);
  expect(isNumber(p.height), at, 'probe.height', 'number', p.height);
  only(p, ['kind', 'valid', 'format', 'width', 'height']);
}

function checkWorkPackage(v: unknown, at: string): void {
  const w = object(v, at);
  expect(typeof w.source === 'string', at, 'source', 'string', w.source);
  expect(typeof w.updatedAt === 'string', at, 'updatedAt', 'string', w.updatedAt);
  expect(isNumber(w.lockVersion), at, 'lockVersion', 'number', w.lockVersion);
  const files = object(w.files, at, 'files');
  for (const k in files) if (typeof files[k] !== 'string') expect(false, at, `files.${k}`, 'string', files[k]);
  const atts = object(w.attachments, at, 'attachments');
  for (const k in atts) {
    const aa = atts[k] as Obj;
    if (typeof aa !== 'object' || aa === null || Array.isArray(aa)) object(aa, at, `attachments.${k}`);
    if (!(aa.md5 === null || typeof aa.md5 === 'string') || !isNumber(aa.size) || typeof aa.sha256 !== 'string') {
      const aat = `${at}.attachments.${k}`;
      expect(aa.md5 === null || typeof aa.md5 === 'string', aat, 'md5', 'string or null', aa.md5);
      expect(isNumber(aa.size), aat, 'size', 'number', aa.size);
      expect(typeof aa.sha256 === 'string', aat, 'sha256', 'string', aa.sha256);
    }
    checkProbe(aa.probe, `${at}.attachments.${k}`);
    only(aa, ['md5', 'size', 'sha256', 'probe']);
  }
  for (const k of ['validFrom', 'validUntil'] as const) {
    if (w[k] !== undefined) expect(typeof w[k] === 'string' && !Number.isNaN(Date.parse(w[k])), at, k, 'an ISO 8601 instant', w[k]);
  }
  if (w.refs !== undefined) {
    const refs = object(w.refs, at, 'refs');
    for (const k in refs) if (!(refs[k] === null || typeof refs[k] === 'string')) expect(false, at, `refs.${k}`, 'string or null', refs[k]);
  }
  if (w.digest !== undefined) expect(typeof w.digest === 'string', at, 'digest', 'string', w.digest);
  only(w, ['source', 'updatedAt', 'lockVersion', 'files', 'attachments', 'validFrom', 'validUntil', 'refs', 'memory', 'digest']);
}

/**
 * Validates (in place) that `json` is a manifest; throws ShapeError naming the first bad
 * key. Versions 1 and 2 hold the entries inline; version 3 records its shards' digests.
 */
function checkManifest(json: unknown): { manifest: Manifest; shards: Map<number, string> | null; summaries: Map<number, ShardSummary> | null } {
  const m = object(json, '(top level)');
  if (typeof m.version === 'number' && Number.isInteger(m.version) && m.version > MANIFEST_VERSION) throw new NewerStateError(m.version);
  expect(
    m.version === 1 || m.version === 2 || m.version === 3 || m.version === 4 || m.version === MANIFEST_VERSION,
    'version',
    '',
    `1, 2, 3, 4 or ${MANIFEST_VERSION}`,
    m.version,
  );
  const inline = m.version === 1 || m.version === 2;
  // Version 4 is version 5 without `sources.<name>.recent`.
  const summarized = m.version === 4 || m.version === MANIFEST_VERSION;
  m.version = MANIFEST_VERSION;
  expect(typeof m.profile === 'string', 'profile', '', 'string', m.profile);
  for (const [name, v] of Object.entries(object(m.sources, 'sources'))) {
    const at = `sources.${name}`;
    const src = object(v, at);
    // A watermark that is not an instant would make the changes walk ask for garbage: refuse it here.
    expect(src.watermark === null || (typeof src.watermark === 'string' && !Number.isNaN(Date.parse(src.watermark))), at, 'watermark', 'an ISO 8601 instant or null', src.watermark);
    expect(Array.isArray(src.retry) && src.retry.every(isNumber), at, 'retry', 'array of numbers', src.retry);
    expect(src.fingerprint === undefined || typeof src.fingerprint === 'string', at, 'fingerprint', 'string', src.fingerprint);
    for (const k of ['names', 'authors'] as const) {
      if (src[k] === undefined) continue;
      const o = object(src[k], at, k);
      for (const key in o) if (typeof o[key] !== 'string') expect(false, at, `${k}.${key}`, 'string', o[key]);
    }
    for (const k of ['auditedAt', 'watermarkAt'] as const) expect(src[k] === undefined || (typeof src[k] === 'string' && !Number.isNaN(Date.parse(src[k]))), at, k, 'an ISO 8601 instant', src[k]);
    if (src.recent !== undefined) {
      const recent = object(src.recent, at, 'recent');
      expect(isInstant(recent.from), `${at}.recent`, 'from', 'an ISO 8601 instant', recent.from);
      const rows = object(recent.rows, `${at}.recent`, 'rows');
      for (const id in rows) expect(typeof rows[id] === 'string' && parseRecentRow(rows[id]) !== null, `${at}.recent.rows`, id, '"<updatedAt> <lockVersion> <digest>"', rows[id]);
      only(recent, ['from', 'rows']);
    }
    only(src, ['watermark', 'watermarkAt', 'retry', 'fingerprint', 'names', 'authors', 'auditedAt', 'recent']);
  }
  let shards: Map<number, string> | null = null;
  let summaries: Map<number, ShardSummary> | null = null;
  if (inline) {
    const wps = object(m.workPackages, 'workPackages');
    for (const id in wps) checkWorkPackage(wps[id], `workPackages.${id}`);
  } else {
    shards = new Map();
    const record = object(m.shards, 'shards');
    for (const k in record) {
      const range = /^(\d+)-(\d+)$/.exec(k);
      const shard = range ? Number(range[1]) / SHARD_SPAN : NaN;
      expect(Number.isInteger(shard) && shardName(shard) === k, 'shards', k, `a range "<n×${SHARD_SPAN}>-<n×${SHARD_SPAN}+${SHARD_SPAN - 1}>"`, k);
      if (summarized) {
        const rec = object(record[k], 'shards', k);
        expect(typeof rec.digest === 'string', `shards.${k}`, 'digest', 'string', rec.digest);
        shards.set(shard, rec.digest as string);
        (summaries ??= new Map()).set(shard, checkSummary(rec, `shards.${k}`, shard));
      } else {
        expect(typeof record[k] === 'string', 'shards', k, 'string', record[k]);
        shards.set(shard, record[k] as string);
      }
    }
    if (summarized) summaries ??= new Map();
    m.workPackages = {};
  }
  if (m.targets !== undefined) {
    const targets = object(m.targets, 'targets');
    for (const id in targets) {
      const t = targets[id];
      if (t === null) continue;
      const at = `targets.${id}`;
      const o = object(t, at);
      expect(typeof o.subject === 'string', at, 'subject', 'string', o.subject);
      expect(isNumber(o.type), at, 'type', 'number', o.type);
      expect(isNumber(o.status), at, 'status', 'number', o.status);
      expect(o.outside === undefined || o.outside === true, at, 'outside', 'true', o.outside);
      only(o, ['subject', 'type', 'status', 'outside']);
    }
  }
  expect(m.targetsReadAt === undefined || (typeof m.targetsReadAt === 'string' && !Number.isNaN(Date.parse(m.targetsReadAt))), 'targetsReadAt', '', 'an ISO 8601 instant', m.targetsReadAt);
  only(m, ['version', 'profile', 'sources', 'workPackages', 'targets', 'targetsReadAt']);
  return { manifest: m as unknown as Manifest, shards, summaries };
}

const isInstant = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** A `recent` row's record: `updatedAt lockVersion digest`. */
export function recentRow(updatedAt: string, lockVersion: number, digest: string): string {
  return `${updatedAt} ${lockVersion} ${digest}`;
}

/** The instant of a `recent` row's record (ms), or null when it is not one. */
export function parseRecentRow(record: string): number | null {
  const [updatedAt, lockVersion, digest, more] = record.split(' ');
  if (more !== undefined || !digest || !/^\d+$/.test(lockVersion ?? '')) return null;
  const t = Date.parse(updatedAt!);
  return Number.isNaN(t) ? null : t;
}

/** A shard's summary as manifest.json records it (ids as encodeIds' text), checked and decoded. */
function checkSummary(rec: Obj, at: string, shard: number): ShardSummary {
  expect(isNumber(rec.bytes), at, 'bytes', 'number', rec.bytes);
  const owned: Record<string, number[]> = {};
  const ownedText = object(rec.owned, at, 'owned');
  for (const source in ownedText) {
    const ids = typeof ownedText[source] === 'string' ? decodeIds(ownedText[source] as string) : null;
    const ok = ids !== null && ids.every((id) => shardOf(id) === shard);
    expect(ok, at, `owned.${source}`, `ids from ${shard * SHARD_SPAN} to ${shard * SHARD_SPAN + SHARD_SPAN - 1}, as "1-3,7"`, ownedText[source]);
    owned[source] = ids!;
  }
  const newest = object(rec.newest, at, 'newest');
  for (const source in owned) expect(isInstant(newest[source]), at, `newest.${source}`, 'an ISO 8601 instant', newest[source]);
  const files = object(rec.files, at, 'files');
  for (const source in owned) expect(isNumber(files[source]), at, `files.${source}`, 'number', files[source]);
  const names = object(rec.names, at, 'names');
  for (const dir in names) expect(typeof names[dir] === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(names[dir] as string), at, `names.${dir}`, 'base64', names[dir]);
  for (const k of ['validFrom', 'validUntil'] as const) expect(rec[k] === undefined || isInstant(rec[k]), at, k, 'an ISO 8601 instant', rec[k]);
  if (rec.refs !== undefined) {
    const refs = object(rec.refs, at, 'refs');
    for (const t in refs) if (!(refs[t] === null || refs[t] === false || typeof refs[t] === 'string')) expect(false, at, `refs.${t}`, 'string, null or false', refs[t]);
  }
  return {
    bytes: rec.bytes as number,
    owned,
    newest: newest as Record<string, string>,
    files: files as Record<string, number>,
    ...(rec.validFrom !== undefined ? { validFrom: rec.validFrom as string } : {}),
    ...(rec.validUntil !== undefined ? { validUntil: rec.validUntil as string } : {}),
    ...(rec.refs !== undefined ? { refs: rec.refs as Record<string, string | null | false> } : {}),
    names: names as Record<string, string>,
  };
}

/** A summary as manifest.json records it. */
function summaryRecord(digest: string, s: ShardSummary): Record<string, unknown> {
  const owned: Record<string, string> = {};
  for (const source in s.owned) owned[source] = encodeIds(s.owned[source]!);
  return { digest, ...s, owned };
}

export function emptyManifest(profile: string): Manifest {
  return { version: MANIFEST_VERSION, profile, sources: {}, workPackages: {} };
}

/**
 * A shard's digest: the first 16 hex digits of the sha256 of its UTF-8 bytes (given as text,
 * bytes, or bytes in pieces). Given the bytes where the caller has them: hashing a string
 * converts it to UTF-8 first, a copy of the whole shard (~1 MB) each time.
 */
function digestOf(content: string | Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  if (typeof content === 'string' || content instanceof Uint8Array) hash.update(content);
  else for (const piece of content) hash.update(piece);
  return hash.digest('hex').slice(0, 16);
}

/** The manifest, or null when there is none; `profile` (when given) must be the one that wrote it. */
export async function readManifest(root: string, profile?: string, cache?: StateCache): Promise<Manifest | null> {
  return (await readState(root, profile, cache))?.manifest ?? null;
}

/**
 * The entries of `ids` in the state under `root` (an id absent from the map has none),
 * reading only the shards that hold them: a caller asking about a few work packages of a
 * large state (the failures `--summary` describes) does not pay for all of it. A state that
 * cannot be read shard by shard (an older format, or torn) is read whole. Null: no state.
 */
export async function readEntries(root: string, ids: Iterable<number>): Promise<Map<number, ManifestWorkPackage> | null> {
  const wanted = [...new Set(ids)];
  const found = new Map<number, ManifestWorkPackage>();
  const pick = (entries: Record<string, ManifestWorkPackage>, of: readonly number[]): void => {
    for (const id of of) if (entries[String(id)]) found.set(id, entries[String(id)]!);
  };
  const state = await readState(root, undefined, undefined, { lazy: true });
  if (!state) return null;
  if (state.load && state.shards) {
    const byShard = new Map<number, number[]>();
    for (const id of wanted) {
      const shard = shardOf(id);
      if (!state.shards.has(shard)) continue; // no shard, no entry
      const of = byShard.get(shard);
      if (of) of.push(id);
      else byShard.set(shard, [id]);
    }
    try {
      for (const [shard, of] of byShard) pick(await state.load(shard), of);
      return found;
    } catch (e) {
      // A shard that is not the one manifest.json describes: read whole, the state is torn.
      if (!(e instanceof TornShardError)) throw e;
      found.clear();
      const whole = await readState(root);
      if (!whole) return null;
      pick(whole.manifest.workPackages, wanted);
      return found;
    }
  }
  pick(state.manifest.workPackages, wanted);
  return found;
}

/**
 * The ids of the work packages the state under `root` records (null: no state), from
 * manifest.json's shard summaries when it has them (no shard read), else from every entry.
 */
export async function readOwnedIds(root: string, profile?: string): Promise<Set<number> | null> {
  const state = await readState(root, profile, undefined, { lazy: true });
  if (!state) return null;
  if (state.load && state.summaries) return new Set([...state.summaries.values()].flatMap((s) => Object.values(s.owned).flat()));
  return new Set(Object.keys(state.manifest.workPackages).map(Number));
}

/**
 * The state under `root`, or null when there is none (no manifest.json: a first run).
 * Throws OutputError naming the file and the key when it is not curate's state, or was
 * written by a newer curate, or (when `profile` is given) by another profile.
 */
export async function readState(root: string, profile?: string, cache?: StateCache, options: { lazy?: boolean } = {}): Promise<StoredState | null> {
  let text: string;
  try {
    text = await readFile(path.join(root, MANIFEST_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputError(`cannot read ${MANIFEST_FILE}: ${(e as Error).message}`);
  }
  let checked: ReturnType<typeof checkManifest>;
  try {
    checked = checkManifest(parseState(MANIFEST_FILE, text));
  } catch (e) {
    if (e instanceof NewerStateError) {
      throw new OutputError(`${MANIFEST_FILE} was written by a newer curate (state format ${e.version}; this curate reads formats 1 to ${MANIFEST_VERSION}): upgrade curate (npm install curate@latest) rather than deleting the state, which would make the next run a first run`);
    }
    if (!(e instanceof ShapeError)) throw e;
    throw new OutputError(`${MANIFEST_FILE}: ${e.message}; delete it and run \`curate sync --full\` to rebuild it`);
  }
  const { manifest, shards, summaries } = checked;
  if (profile !== undefined && manifest.profile !== profile) {
    throw new OutputError(`${MANIFEST_FILE} was written by the "${manifest.profile}" profile, the config now says "${profile}"; run \`curate sync --full\` in a fresh output root`);
  }
  // Lazily: the shards are only looked at (names and sizes), each read when a run needs it.
  if (options.lazy && shards && summaries && (await shardFilesAsRecorded(root, summaries))) {
    const loadText = async (shard: number): Promise<Record<string, ManifestWorkPackage> | ShardRead> => {
      const r = await readShard(root, shard, shards.get(shard), cache, true);
      if (!r.intact) throw new TornShardError(shardFile(shard));
      return r.text ?? r.entries;
    };
    const load = async (shard: number): Promise<Record<string, ManifestWorkPackage>> => {
      const r = await readShard(root, shard, shards.get(shard), cache);
      if (!r.intact) throw new TornShardError(shardFile(shard));
      return r.entries!;
    };
    return { manifest, shards, summaries, load, loadText, torn: null, digest: digestOfManifest(text) };
  }
  const torn = shards ? await readShards(root, manifest, shards, cache) : null;
  return { manifest, shards, summaries, load: null, loadText: null, torn, digest: digestOfManifest(text) };
}

/** Whether the shard files on disk are the recorded ones, by name and size (a lazy read's check; their digests are checked as each is read). */
async function shardFilesAsRecorded(root: string, summaries: ReadonlyMap<number, ShardSummary>): Promise<boolean> {
  let names: string[];
  try {
    names = (await readdir(path.join(root, SHARD_DIR))).filter((n) => SHARD_NAME.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputError(`cannot read ${SHARD_DIR}: ${(e as Error).message}`);
    names = [];
  }
  if (names.length !== summaries.size) return false;
  const sizes = await Promise.all(
    names.map(async (n) => {
      const shard = Number(SHARD_NAME.exec(n)![1]) / SHARD_SPAN;
      const recorded = summaries.get(shard);
      if (!recorded || `${shardName(shard)}.json` !== n) return false;
      try {
        return (await stat(path.join(root, SHARD_DIR, n))).size === recorded.bytes;
      } catch {
        return false;
      }
    }),
  );
  return sizes.every(Boolean);
}

/**
 * One shard's entries, and whether its bytes are the ones manifest.json records (entries
 * of a shard that is not are checked key by key; throws OutputError when they are bad).
 * With `asText`, a shard whose bytes are the recorded ones comes back as its indexed text
 * (shard-text.ts), its entries not parsed, when it is laid out as curate writes it.
 */
async function readShard(root: string, shard: number, recorded: string | undefined, cache?: StateCache, asText = false): Promise<{ entries: Record<string, ManifestWorkPackage>; text?: undefined; intact: boolean } | { text: ShardRead; entries?: undefined; intact: true }> {
  const file = shardFile(shard);
  const abs = path.join(root, file);
  const cached = cache && cacheGet(cache, shard);
  const stamp = cache || asText ? await stampOf(abs) : null;
  if (cached && stamp !== null && cached.stamp === stamp && cached.digest === recorded) return { entries: cached.entries, intact: true };
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    throw new OutputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const digest = digestOf(bytes);
  const text = bytes.toString('utf8');
  const intact = recorded === digest;
  if (intact && asText && !cache && stamp !== null) {
    const indexed = indexShardText(text);
    if (indexed) {
      const length = text.length; // not `text` itself in the closure: its reader lets go of it
      const read: ShardRead = { index: indexed, reread: () => rereadShard(abs, file, stamp, length, digest), check: () => checkShard(abs, file, stamp, length, digest) };
      // As many bytes as characters: every character is ASCII.
      if (bytes.length === length) read.rereadBytes = () => rereadShardBytes(abs, file, stamp, length, digest);
      return { text: read, intact };
    }
  }
  let entries: Obj;
  try {
    entries = object(parseState(file, text), file);
    // A shard whose bytes are the ones manifest.json records is one curate wrote and
    // checked: its entries are not checked again (a third of reading the state).
    if (!intact) {
      const from = shard * SHARD_SPAN;
      for (const id in entries) {
        expect(/^\d+$/.test(id) && shardOf(Number(id)) === shard, file, id, `a work package id from ${from} to ${from + SHARD_SPAN - 1}`, id);
        checkWorkPackage(entries[id], `${file}: ${id}`);
      }
    }
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new OutputError(`${e.message}; delete .curate/ and run \`curate sync --full\` to rebuild the state`);
  }
  // The stamp taken before the read: a rewrite during it makes the next read miss, never hit stale.
  if (cache && stamp !== null) cacheSet(cache, shard, { digest, stamp, entries: entries as Record<string, ManifestWorkPackage> });
  return { entries: entries as Record<string, ManifestWorkPackage>, intact };
}

/**
 * A shard read again, for a run that let go of it (PreviousState): the same file (inode,
 * size, modification time) as when it was read, or failing that the same bytes by digest.
 * Anything else is a shard changed while the run held the lock: TornShardError. Read as
 * text, or (an ASCII shard, whose `length` in characters is then its size in bytes) as bytes.
 */
function rereadAs<T extends string | Buffer>(read: (abs: string) => T, abs: string, file: string, stamp: string, length: number, digest: string): T {
  let content: T;
  let now: string;
  try {
    now = stampText(statSync(abs, { bigint: true }));
    content = read(abs);
  } catch (e) {
    throw new OutputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (content.length !== length || (now !== stamp && digestOf(content) !== digest)) throw new TornShardError(file);
  return content;
}

const rereadShard = (abs: string, file: string, stamp: string, length: number, digest: string): string => rereadAs((f) => readFileSync(f, 'utf8'), abs, file, stamp, length, digest);

const rereadShardBytes = (abs: string, file: string, stamp: string, length: number, digest: string): Buffer => rereadAs((f) => readFileSync(f), abs, file, stamp, length, digest);

/** rereadShard's check without the text: the same file by its stamp, or failing that the same bytes. */
function checkShard(abs: string, file: string, stamp: string, length: number, digest: string): void {
  let now: string | null = null;
  try {
    now = stampText(statSync(abs, { bigint: true }));
  } catch {
    /* gone: rereadShard says so */
  }
  if (now !== stamp) rereadShard(abs, file, stamp, length, digest);
}

function parseState(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const conflict = /^(<<<<<<<|>>>>>>>) /m.test(text) ? ' (it holds git conflict markers: take either side, e.g. `git checkout --theirs -- <file>`, and the next sync reads every work package again)' : '';
    throw new OutputError(`${file} is not valid JSON${conflict} (${(e as Error).message}); fix it or delete .curate/ and run \`curate sync --full\``);
  }
}

/** Reads every shard on disk into `manifest.workPackages`; returns why they disagree with manifest.json's record, or null. */
async function readShards(root: string, manifest: Manifest, recorded: ReadonlyMap<number, string>, cache?: StateCache): Promise<string | null> {
  let names: string[];
  try {
    names = (await readdir(path.join(root, SHARD_DIR))).filter((n) => SHARD_NAME.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputError(`cannot read ${SHARD_DIR}: ${(e as Error).message}`);
    names = [];
  }
  const problems: string[] = [];
  const seen = new Set<number>();
  // Each shard is parsed as soon as it is read and its text dropped: at 30,000 work
  // packages the texts alone are ~26 MB, held all at once they set the run's peak.
  const limit = pLimit(4);
  await Promise.all(
    names.map((n) =>
      limit(async () => {
        const file = `${SHARD_DIR}/${n}`;
        const [, from, to] = SHARD_NAME.exec(n)!;
        const shard = Number(from) / SHARD_SPAN;
        if (!Number.isInteger(shard) || shardName(shard) !== `${from}-${to}`) {
          problems.push(`${file} is not a shard name curate writes`);
          return;
        }
        seen.add(shard);
        const { entries, intact } = await readShard(root, shard, recorded.get(shard), cache);
        if (!intact) problems.push(recorded.has(shard) ? `${file} changed` : `${file} is not recorded`);
        Object.assign(manifest.workPackages, entries!);
      }),
    ),
  );
  problems.sort();
  for (const shard of recorded.keys()) if (!seen.has(shard)) problems.push(`${shardFile(shard)} is missing`);
  return problems.length ? problems.join('; ') : null;
}

/** Own keys in the order an object built from them sorted would list them (integer-like keys first, ascending). */
function sortedKeys(o: object): string[] {
  return inKeyOrder(Object.keys(o));
}

/** Keys in the order an object built from them, sorted, lists them: array-index keys first, ascending, then the rest sorted. */
export function inKeyOrder(keys: string[]): string[] {
  const index: string[] = [];
  const rest: string[] = [];
  for (const k of keys) (isArrayIndex(k) ? index : rest).push(k);
  return [...index.sort((a, b) => Number(a) - Number(b)), ...rest.sort()];
}

/**
 * The pieces of `stableJson(value)`, produced while walking the value: the same bytes as
 * `JSON.stringify(<value with keys sorted at every level>, null, 2)` plus a newline,
 * without building the sorted copy or the whole string (a 10,000-entry manifest is
 * ~10 MB of text and ~40 MB as objects).
 */
export function* stableJsonChunks(value: unknown): Generator<string> {
  function* walk(v: unknown, indent: string): Generator<string> {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    if (v === null || typeof v !== 'object') {
      yield JSON.stringify(v) ?? 'null';
      return;
    }
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return yield '[]';
      yield '[\n';
      for (let i = 0; i < v.length; i++) {
        yield inner;
        const item: unknown = v[i];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') yield 'null';
        else yield* walk(item, inner);
        yield i < v.length - 1 ? ',\n' : '\n';
      }
      return yield `${indent}]`;
    }
    const entries = sortedKeys(v).filter((k) => {
      const x = (v as Record<string, unknown>)[k];
      return x !== undefined && typeof x !== 'function' && typeof x !== 'symbol';
    });
    if (entries.length === 0) return yield '{}';
    yield '{\n';
    for (let i = 0; i < entries.length; i++) {
      const k = entries[i]!;
      yield `${inner}${JSON.stringify(k)}: `;
      yield* walk((v as Record<string, unknown>)[k], inner);
      yield i < entries.length - 1 ? ',\n' : '\n';
    }
    yield `${indent}}`;
  }
  yield* walk(value, '');
  yield '\n';
}

/** JSON with keys sorted at every level: stable bytes for the same state. */
export function stableJson(value: unknown): string {
  // The same bytes as stableJsonChunks, by the native stringifier over a copy sorted only
  // where it is not already: entries read back from a shard are in order, so writing a
  // shard of 1,000 mostly unchanged entries copies little (the chunked walk cost ~0.6 s
  // of a 30,000-entry run whose changes touched every shard).
  return `${JSON.stringify(inStableOrder(value), null, 2) ?? 'null'}\n`;
}

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;
/** JavaScript lists array-index keys first, ascending, whatever the insertion order. */
export const isArrayIndex = (k: string): boolean => ARRAY_INDEX.test(k) && Number(k) < 4294967295;

/** Whether keys as Object.keys lists them are already in sortedKeys' order. */
function keysSorted(keys: readonly string[]): boolean {
  let i = 0;
  while (i < keys.length && isArrayIndex(keys[i]!)) i += 1;
  for (let j = i + 1; j < keys.length; j++) if (!(keys[j - 1]! < keys[j]!)) return false;
  return true;
}

/**
 * `value` with keys sorted at every level, sharing every part that already was. Entries
 * put into this order when they are made are shared, not copied, when their shard is
 * written (Ledger.mapped): the copies of a cold sync's entries, all made at its end, were
 * a burst of garbage the size of the state.
 */
export function inStableOrder(value: unknown): unknown {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const s = inStableOrder(item);
      if (s !== item) (copy ??= v.slice())[i] = s;
    }
    return copy ?? v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let same = v === value && keysSorted(keys);
  const values = keys.map((k) => {
    const x = o[k];
    const s = inStableOrder(x);
    if (s !== x) same = false;
    return s;
  });
  if (same) return v;
  // fromEntries defines own properties (a "__proto__" key stays a key).
  const entries = keys.map((k, i): [string, unknown] => [k, values[i]]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries);
}

const isPatch = (c: Record<string, ManifestWorkPackage> | ShardPatch): c is ShardPatch => (c as Partial<ShardPatch>).dropped instanceof Map;

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** A patched shard's entries as objects (every kept entry parsed): for the watch cache and format-3 summaries. */
function entriesOfPatch(p: ShardPatch): Record<string, ManifestWorkPackage> {
  const out: Record<string, ManifestWorkPackage> = {};
  p.base.ids.forEach((id, i) => {
    if (!p.dropped.has(id)) out[String(id)] = parseEntry(p.base, i);
  });
  for (const [id, e] of p.put) out[String(id)] = e;
  return out;
}

/** What manifest.json recorded of the shards a run read: their digests and (format 4) summaries. */
export interface PreviousShards {
  digests: ReadonlyMap<number, string>;
  summaries: ReadonlyMap<number, ShardSummary> | null;
}

/**
 * Writes the state: the shards in `dirty` (null: every shard, and any other shard file on
 * disk removed), then manifest.json with every shard's digest. Shards first: a run killed
 * between the two leaves shards that disagree with manifest.json's record, which the next
 * run sees (StoredState.torn) and answers by reading every work package again; the entries
 * themselves describe files already in place. Returns the paths written or removed.
 */
export async function writeState(root: string, manifest: Manifest, dirty: ReadonlySet<number> | null, previous: PreviousShards | null, cache?: StateCache): Promise<string[]> {
  const { workPackages, ...top } = manifest;
  return (await (await stageState(root, top, shardedEntries(workPackages), dirty, previous, cache)).commit()).touched;
}

/** A state as written: the paths written or removed, and what a reader of it would find. */
export interface WrittenState {
  touched: string[];
  /** sha256 of the manifest.json written (digestOfManifest). */
  digest: string;
  /** Each shard's summary, as manifest.json records it. */
  summaries: ReadonlyMap<number, ShardSummary>;
}

/** The state's new shard bytes, durable in temp files; `commit` puts them in place, removes emptied shards and writes manifest.json. */
export interface StagedState {
  commit(): Promise<WrittenState>;
  /** The run stops before committing: its temp files go. */
  discard(): Promise<void>;
}

/**
 * writeState's first half: the changed shards stringified, summarized and made durable in
 * temp files, touching nothing the state is read from. apply.ts stages them while it syncs
 * the pages' folders and deletes (their fsyncs overlap), and commits after.
 */
export async function stageState(root: string, top: StateTop, next: ShardedEntries, dirty: ReadonlySet<number> | null, previous: PreviousShards | null, cache?: StateCache, onShard?: (shard: number, bytes: number, fresh: number) => void): Promise<StagedState> {
  const tmp = path.join(root, TMP_DIR);
  const digests = new Map(dirty ? (previous?.digests ?? []) : []);
  const summaries = new Map(dirty ? (previous?.summaries ?? []) : []);
  const dir = path.join(root, SHARD_DIR);
  const staged: { shard: number; file: string; tmp: string; digest: string; entries: Record<string, ManifestWorkPackage> | null }[] = [];
  /** Shards written with at least one entry (the others in `dirty`, or all others with `dirty` null, are removed). */
  const written = new Set<number>();
  const ascending = dirty ? [...dirty].sort((x, y) => x - y) : next.shards;
  const toWrite = next.writeOrder?.(ascending) ?? ascending;
  if (toWrite.length) await Promise.all([makeDir(dir), makeDir(tmp)]);
  // Two at a time: stringifying is CPU on this thread either way, and each shard in flight
  // holds its entries and text until written (nothing else holds them: a cold sync's
  // entries wait on disk, sync/ledger.ts). Their fsyncs overlap the page folders'
  // (apply.ts stages the state once the pages are in place).
  const limit = pLimit(2);
  await Promise.all(
    toWrite.map((shard) =>
      limit(async () => {
        const content = await next.entriesOf(shard);
        const patch = isPatch(content) ? content : null;
        const entries = patch ? null : (content as Record<string, ManifestWorkPackage>);
        if (patch ? patchEmpty(patch) : isEmpty(entries!)) return;
        written.add(shard);
        // Encoded once, and only the bytes kept: hashed, measured and written as they are.
        const pieces = patch?.baseBytes ? patchBytes(patch, patch.baseBytes) : [Buffer.from(patch ? patchText(patch) : stableJson(entries), 'utf8')];
        const digest = digestOf(pieces);
        const size = pieces.reduce((n, b) => n + b.length, 0);
        const before = digests.get(shard);
        digests.set(shard, digest);
        summaries.set(shard, patch ? patchSummary(patch, size) : summarizeShard(entries!, size));
        const file = path.join(root, shardFile(shard));
        // A dirty shard of intact state holds the bytes its recorded digest names (it was
        // read and checked): the same digest means the same bytes. Every shard written
        // afresh (dirty null) is compared with what is on disk.
        const same = dirty ? before === digest : await holdsText(file, pieces);
        if (!same) staged.push({ shard, file, tmp: await stageDurably(file, pieces, tmp), digest, entries: cache ? (entries ?? entriesOfPatch(patch!)) : null });
        onShard?.(shard, size, next.fresh?.(shard) ?? 0);
      }),
    ),
  );
  // Shards kept as they are but recorded without a summary (state of format 3): summarized
  // from their entries, which the run then read (only format 4 state is read lazily).
  for (const shard of [...digests.keys()].filter((x) => !summaries.has(x))) {
    const bytes = (await stat(path.join(root, shardFile(shard)))).size;
    const content = await next.entriesOf(shard);
    summaries.set(shard, summarizeShard(isPatch(content) ? entriesOfPatch(content) : content, bytes));
  }
  return {
    async discard() {
      await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    },
    async commit() {
      const touched: string[] = [];
      staged.sort((x, y) => x.shard - y.shard);
      for (const s of staged) {
        try {
          await rename(s.tmp, s.file);
        } catch (e) {
          await rm(s.tmp, { force: true });
          throw e;
        }
        touched.push(shardFile(s.shard));
        if (cache) {
          const stamp = await stampOf(s.file);
          if (stamp === null || !s.entries) cache.shards.delete(s.shard);
          else cacheSet(cache, s.shard, { digest: s.digest, stamp, entries: s.entries });
        }
      }
      const remove = async (shard: number): Promise<void> => {
        digests.delete(shard);
        summaries.delete(shard);
        cache?.shards.delete(shard);
        try {
          await unlink(path.join(root, shardFile(shard)));
          touched.push(shardFile(shard));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      };
      // Shards left with no entry go; with `dirty` null, so does every shard file not written.
      for (const shard of dirty ?? []) if (!written.has(shard)) await remove(shard);
      if (!dirty) {
        let names: string[] = [];
        try {
          names = await readdir(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        for (const n of names) {
          const m = SHARD_NAME.exec(n);
          const shard = m ? Number(m[1]) / SHARD_SPAN : NaN;
          if (m && Number.isInteger(shard) && !written.has(shard)) await remove(shard);
        }
      }
      if (touched.length) await fsyncDir(dir).catch(() => undefined);
      const record: Record<string, unknown> = {};
      for (const [shard, digest] of [...digests].sort((x, y) => x[0] - y[0])) record[shardName(shard)] = summaryRecord(digest, summaries.get(shard)!);
      const json = { version: top.version, profile: top.profile, sources: top.sources, shards: record, targets: top.targets, targetsReadAt: top.targetsReadAt };
      let digest = '';
      if (await writeTextAtomic(path.join(root, MANIFEST_FILE), stableJsonChunks(json), tmp, (d) => (digest = d))) touched.push(MANIFEST_FILE);
      return { touched, digest, summaries };
    },
  };
}
