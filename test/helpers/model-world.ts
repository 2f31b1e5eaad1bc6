// The interpreter of the sync invariant's histories (issue 12): a real simulator, a real
// output folder, the real config loader and engine (in process, or the real binary for
// the SIGKILL subset), and after every run the checks:
//   compare     a run that exits 0 leaves byte for byte the tree a fresh sync into an
//               empty folder writes (same server state, config and --now), no extra file;
//   exit-status a run that exits 0 while the fresh sync reports errors (or fails);
//   safety-delete  no run deletes or overwrites a file that both the state before and
//               after the run still want with the same bytes;
//   safety-hand no run touches a hand-written file;
//   atomicity   after any run (killed, aborted, faulted) every file holds its old bytes or
//               the new ones, never anything else;
//   brake       the mass-delete brake refuses only when real deletions pass the limit;
//   internal    the engine fails with something that is not a CurateError;
//   unhandled   a run leaves a promise that rejects with nobody listening (in the CLI:
//               a crash with a stack trace after the run has already ended);
//   signal      the binary, sent SIGTERM / SIGINT mid-run, does not exit 143 / 130 within
//               2 s, or leaves its lock or staging behind;
//   leftover    a run aborted in process leaves its lock or staging behind (or work it
//               left running recreates staging after it returned);
//   stuck       at the end of a history, with nothing disturbing it, an incremental sync
//               fails where a fresh one succeeds;
//   hang        a run (in process, the binary, or the fresh oracle) does not return within
//               HANG_MS (30 s; env FUZZ_HANG_MS): the history ends there instead of stalling
//               the whole campaign until its time limit;
//   blocked     (issue 19) while a directory stands where an owned file belongs (or a file
//               where an owned folder is), a run exits 0, or its item errors do not name the
//               work package and the path.
// The oracle ("fresh sync") runs on a second simulator serving a frozen copy of the data.
//
// Issue 19's event kinds (model-steps.ts): renames of every named entity, the server's
// Date header (missing, garbage, skewed; once or from now on), backups and restores, bulk
// updates at one instant (with a small page size), links between work packages (so a
// source path edit moves link targets), `curate watch` with a stale config, blockers at
// owned paths. Two modelling choices:
// - a custom option renamed gives no signal at all (no work package changes, nothing is
//   listed): the engine's bounded mechanism is its periodic audit walk. So after an option
//   rename (or a restore, once any option was renamed) an "audit is due": every in-process
//   run passes `auditIntervalMs: 0` until one exits 0 (and is compared), and a CLI run while
//   it is due is checked for everything but `compare`. The same holds for a work package no
//   source syncs (issue 20): a page showing its facts (`##N`) learns of an edit to it only at
//   the audit, so such an edit (and a restore, once one happened) makes an audit due too;
// - a watch run (targeted sync) is never compared on its own (pending edits of other work
//   packages are not its business); the next plain sync is, so a watcher that left pages of
//   an old shape behind is caught there. A type or status rename is followed in the config
//   (and in the medigy type table), as the administrator must.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/defaults.js';
import { CurateError } from '../../src/errors.js';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { DEFAULT_TYPES } from '../../src/mapping/profiles/medigy-options.js';
import { createOpenProjectClient } from '../../src/openproject/index.js';
import { alive } from '../../src/output/lock.js';
import { createFakeClient } from './fake-client.js';
import {
  bulkUpdate,
  cloneDataset,
  createWorkPackage,
  moveWorkPackage,
  renameCustomField,
  renameCustomOption,
  renameProject,
  renameStatus,
  renameType,
  renameUser,
  replaceAttachment,
  requestHooks,
  restoreSnapshot,
  setDateHeader,
  setStatus,
  type DateHeaderMode,
  type RequestHooks,
} from '../../src/simulator/hooks.js';
import { startSimulator, type Dataset, type FaultSpec, type Json, type JsonObject, type Simulator } from '../../src/simulator/index.js';
import { runSync } from '../../src/sync/index.js';
import type { Profile, SourceSpec } from '../../src/types.js';
import { BIN, diffTrees, LEGACY_NOW, medigyConfig, treeHashes } from './env.js';
import type { ConfigEdit, DateMode, Mutation, RenameTarget, Setup, Step, SyncStep } from './model-steps.js';
import { freshFixtureDataset, TEST_KEY } from './sync-harness.js';
import { readStateJson } from './state.js';

/** The folder-stamp margin of the histories' in-process runs (the binary keeps its default). */
const FUZZ_STAMP_MARGIN_MS = Number(process.env.FUZZ_STAMP_MARGIN_MS ?? 25);

export type ViolationKind = 'compare' | 'exit-status' | 'safety-delete' | 'safety-hand' | 'atomicity' | 'brake' | 'internal' | 'unhandled' | 'signal' | 'leftover' | 'stuck' | 'blocked' | 'hang';

/**
 * The fixture's custom fields the edits set, by id (fixtures/medigy/dataset/instance.json):
 * a rename step may have changed their names (found by fuzz:sync, seed 1137630225: an
 * edit of "Clean URL" after it was renamed threw inside the harness).
 */
const FIELD = { cleanUrl: 1, cancelled: 2, topics: 4 } as const;
function setFieldById(sim: Simulator, id: number, fieldId: number, value: Json): void {
  sim.updateWorkPackage(id, (wp) => {
    wp[`customField${fieldId}`] = value;
  });
}

export class InvariantViolation extends Error {
  constructor(
    readonly kind: ViolationKind,
    message: string,
  ) {
    super(`[${kind}] ${message}`);
  }
}

export const COMMUNITY_TYPES = ['Curated Content', 'Curated News', 'Curated Video', 'Ideas', 'Recent Updates & Reports', 'Vaccine/Drugs in the Pipeline', 'Curated Offering', 'Infographics', 'Contributed Content', 'Curated Event', 'Curated Recognition'];

export const DEFAULT_PROFILE_SOURCES: SourceSpec[] = [
  { name: 'communities', projects: ['chronic-care-management', 'pandemic', 'risk-compliance', 'femtech', 'security'], types: COMMUNITY_TYPES, statuses: [], path: 'communities', options: {} },
  { name: 'news', projects: ['news'], types: ['Curated Content'], statuses: [], path: 'news', options: {} },
  { name: 'events', projects: ['events'], types: ['Curated Event'], statuses: [], path: 'events', options: {} },
];

/** Profile options the histories switch between; index 0 is the default (left out of the file). */
const OPTION_CHOICES: Record<Setup['profile'], { key: string; values: Json[] }[]> = {
  medigy: [
    { key: 'aliasPrefix', values: ['/news', '/brief'] },
    { key: 'cleanUrl', values: ['Clean URL', 'Source URL'] },
    { key: 'featuredImagePrefix', values: ['Curated_Featured_Image.', 'Curated_Featured_Img.'] },
    { key: 'eventRow', values: [true, false] },
  ],
  default: [
    { key: 'bundle', values: [true, false] },
    { key: 'descriptionLength', values: [160, 60, 300] },
    { key: 'publishedStatuses', values: [['Published', 'Closed'], ['New'], []] },
    { key: 'tagsField', values: ['Tags', 'Medigy Topics', null] },
    { key: 'featuredImage', values: ['Curated_Featured_Image', null, 'Curated_Source_FavIcon'] },
    { key: 'customFieldsKey', values: ['openproject', 'op'] },
  ],
};

/** `typeNames`: a type's name in the fixture → its name on the server now (renamed types; the medigy type table follows). */
function profileOptions(profile: Setup['profile'], choice: Record<string, number>, typeNames: ReadonlyMap<string, string> = new Map()): Record<string, Json> {
  const value = (key: string): Json => {
    const row = OPTION_CHOICES[profile].find((r) => r.key === key)!;
    return row.values[choice[key] ?? 0]!;
  };
  const changed = (key: string): boolean => (choice[key] ?? 0) !== 0;
  const out: Record<string, Json> = {};
  if (profile === 'default') {
    for (const { key } of OPTION_CHOICES.default) if (changed(key)) out[key] = value(key);
    return out;
  }
  const renamed = [...typeNames].some(([a, b]) => a !== b && a in DEFAULT_TYPES);
  if (changed('aliasPrefix') || changed('eventRow') || renamed) {
    const types = structuredClone(DEFAULT_TYPES) as unknown as Record<string, Record<string, Json>>;
    types['Curated Content']!.aliasPrefix = value('aliasPrefix');
    types['Curated Event']!.event = value('eventRow');
    const table: Record<string, Json> = {};
    for (const [k, row] of Object.entries(types)) table[typeNames.get(k) ?? k] = row;
    out.types = table;
  }
  if (changed('cleanUrl')) out.fields = { cleanUrl: value('cleanUrl') };
  if (changed('featuredImagePrefix')) out.attachments = { featuredImagePrefix: value('featuredImagePrefix') };
  return out;
}

/** A list custom field the fixture lacks, added to every schema so custom option renames show (issue 19). */
const LIST_FIELD = { id: 13, name: 'Audience', fieldFormat: 'list' } as const;
const OPTION_TITLES = ['Clinicians', 'Payers', 'Patients'];
const optionHref = (n: number): string => `/api/v3/custom_options/${n + 1}`;

/**
 * A deterministic subset of the fixture: per project its three lowest ids, and every work
 * package of the events project (upcoming, past and cancelled events). Every project and
 * source keeps work packages (most more than the small page sizes 2 and 3 hold), with their
 * attachments.
 */
export function smallDataset(ds: Dataset): Dataset {
  const keep = new Set<number>();
  const byProject = new Map<string, number[]>();
  for (const id of [...ds.workPackages.keys()].sort((a, b) => a - b)) {
    const project = String((ds.workPackages.get(id)!._links.project as { href?: Json }).href);
    byProject.set(project, [...(byProject.get(project) ?? []), id]);
  }
  for (const [project, ids] of byProject) (project.endsWith('/projects/2') ? ids : ids.slice(0, 3)).forEach((id) => keep.add(id));
  const containerOf = (a: { meta: JsonObject }): number => Number(String((a.meta._links as Record<string, { href?: Json }> | undefined)?.container?.href ?? '').split('/').pop());
  return {
    instance: ds.instance,
    workPackages: new Map([...ds.workPackages].filter(([id]) => keep.has(id))),
    attachments: new Map([...ds.attachments].filter(([, a]) => keep.has(containerOf(a)))),
  };
}

/** The fixture (or its small subset) plus the list field: every schema has it, two of three work packages carry an option. */
let fixture: Promise<Dataset> | null = null;

async function worldDataset(size: 'fixture' | 'small' = 'fixture'): Promise<Dataset> {
  // Read from disk once per process; each history gets its own deep copy.
  fixture ??= freshFixtureDataset();
  const full = cloneDataset(await fixture);
  const ds = size === 'small' ? smallDataset(full) : full;
  ds.instance.customFields.push({ ...LIST_FIELD });
  for (const key of Object.keys(ds.instance.schemas)) ds.instance.schemas[key] = [...ds.instance.schemas[key]!, LIST_FIELD.id];
  for (const id of [...ds.workPackages.keys()].sort((a, b) => a - b)) {
    const wp = ds.workPackages.get(id)!;
    wp._links[`customField${LIST_FIELD.id}`] = id % 3 === 0 ? { href: null } : { href: optionHref(id % 2), title: OPTION_TITLES[id % 2]! };
  }
  return ds;
}

const HOUR = 3_600_000;
/** A run that has not returned after this long hangs (the test client gives up on a request after 1.5 s × 8 tries). */
const HANG_MS = Number(process.env.FUZZ_HANG_MS ?? 30_000);

/** The hand-file slot a blocker (block step) is checked under: never touched, never compared. */
const BLOCKER_SLOT = 99;
const DATE_HEADERS: Record<DateMode, DateHeaderMode> = {
  normal: { mode: 'normal' },
  missing: { mode: 'missing' },
  garbage: { mode: 'garbage', value: 'Thu, 99 Foo' },
  ahead: { mode: 'skewed', ms: 2 * HOUR },
  farAhead: { mode: 'skewed', ms: 365 * 24 * HOUR },
  behind: { mode: 'skewed', ms: -HOUR },
};

/** What a config file says (and which curate reads it): a watcher may still run with an older one. */
interface ConfigState {
  sources: SourceSpec[];
  choice: Record<string, number>;
  overlap: number | null;
  pageSize: number;
  overlapSeconds: number;
  upgrade: number;
}

const SUBJECTS = ['Weekly digest', 'Alpha & Omega', 'Ünïcödé — Überblick', 'Telehealth: what changed in 2021?', 'NATCON 2020', `A long subject ${'that goes on '.repeat(8)}`];
const DAY = 86_400_000;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function png(width: number, height: number, salt: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('tEXt', Buffer.from(`fuzz\0${salt}`)), chunk('IEND', Buffer.alloc(0))]);
}

const lectio = (v: number): Buffer =>
  Buffer.from(JSON.stringify([
    { name: 'openGraphMetaData', content: [{ name: 'og:title', content: `Title ${v}` }] },
    { name: 'twitterMetaData', content: [] },
    { name: 'htmlMetaData', content: [{ name: 'description', content: `About ${v}` }] },
  ]));

function attachmentFor(kind: string, v: number): { fileName: string; bytes: Buffer } {
  switch (kind) {
    case 'featured':
      return { fileName: 'Curated_Featured_Image.png', bytes: png(10 + (v % 50), 5 + (v % 7), v) };
    case 'favicon':
      return { fileName: 'Curated_Source_FavIcon.png', bytes: png(16, 16, v) };
    case 'pdf':
      return { fileName: 'Curated_Featured_Image.pdf', bytes: Buffer.from(`%PDF-1.4\n% fuzz ${v}\n%%EOF\n`) };
    case 'json':
      return { fileName: 'Lectio_Extension_Curation.json', bytes: lectio(v) };
    case 'badjson':
      return { fileName: 'Lectio_Extension_Curation.json', bytes: Buffer.from('{"broken": ') };
    default:
      return { fileName: `notes-${v % 3}.txt`, bytes: Buffer.from(`notes ${v}\n`) };
  }
}

/** New bytes of the same kind as an existing attachment (by its name). */
function replacementFor(fileName: string, v: number): Buffer {
  if (/\.png$/i.test(fileName)) return png(20 + (v % 40), 9 + (v % 5), v + 1000);
  if (/\.jpe?g$|\.gif$/i.test(fileName)) return png(30, 30, v); // now a PNG under a .jpg name: the bytes decide
  if (/\.json$/i.test(fileName)) return lectio(v + 1000);
  if (/\.pdf$/i.test(fileName)) return Buffer.from(`%PDF-1.4\n% replaced ${v}\n%%EOF\n`);
  return Buffer.from(`replaced ${v}\n`);
}

interface Outcome {
  outcome: 'ok' | 'errors' | 'threw' | 'aborted' | 'killed';
  detail: string;
  error?: unknown;
}

interface Fresh extends Outcome {
  tree: Map<string, string>;
  dir: string;
  /** work package id → its source and files, from the fresh run's manifest. */
  owned: Map<number, { source: string; files: string[] }>;
}

/**
 * The tree's hashes. `rememberedAliases`: the default profile's pages list the URLs they
 * had before a rename in `aliases` (kept in the manifest's memory, so old links keep
 * working). A fresh sync cannot know them: that is the one documented exception to the
 * invariant, so those entries are left out of the comparison (the stable id alias, which
 * a fresh sync writes too, is kept).
 */
async function tree(dir: string, rememberedAliases = false): Promise<Map<string, string>> {
  return timed('trees', () => hashTree(dir, rememberedAliases));
}

/**
 * Hashes of files already hashed, by absolute path, valid while the file's inode, size,
 * mtime and ctime (nanoseconds) are the same: a history hashes its output folder before and
 * after every run, and most files did not change. Any write (in place or a rename over it)
 * changes the signature.
 */
const hashCache = new Map<string, { sig: string; hash: string; stripped?: string }>();

async function hashTree(dir: string, rememberedAliases: boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && d === dir) return;
      throw e;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p).split(path.sep).join('/');
      if (rel === '.curate' || rel.startsWith('.curate/') || rel === '.git' || rel.startsWith('.git/')) continue;
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      // Synchronous: a stat or a read of a small file in memory (/dev/shm) costs less CPU
      // than the thread pool's round trips (the trees of a history are ~a fifth of its CPU).
      const st = statSync(p, { bigint: true });
      const sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      let hit = hashCache.get(p);
      if (!hit || hit.sig !== sig) {
        const bytes = readFileSync(p);
        hit = { sig, hash: createHash('sha256').update(bytes).digest('hex') };
        if (rel.endsWith('.md')) {
          const text = bytes.toString('utf8');
          const kept = withoutRememberedAliases(text);
          if (kept !== text) hit.stripped = createHash('sha256').update(kept).digest('hex');
        }
        hashCache.set(p, hit);
      }
      out.set(rel, rememberedAliases && hit.stripped !== undefined ? hit.stripped : hit.hash);
    }
  };
  await walk(dir);
  return out;
}

/** A tree's hashes (env.ts `treeHashes`) with the default profile's remembered `aliases` (the documented exception) left out of every page. */
export async function treeWithoutRememberedAliases(dir: string): Promise<Map<string, string>> {
  const out = await treeHashes(dir);
  for (const rel of out.keys()) {
    if (!rel.endsWith('.md')) continue;
    const text = await readFile(path.join(dir, rel), 'utf8');
    const kept = withoutRememberedAliases(text);
    if (kept !== text) out.set(rel, createHash('sha256').update(kept).digest('hex'));
  }
  return out;
}

export function withoutRememberedAliases(text: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf('aliases:');
  if (start < 0 || !lines.slice(0, start).includes('---')) return text;
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('- ')) end += 1;
  const items = lines.slice(start + 1, end).filter((l) => /^- '?\d+'?$/.test(l));
  return [...lines.slice(0, start), ...(items.length ? ['aliases:', ...items] : []), ...lines.slice(end)].join('\n');
}

async function ownedIn(dir: string): Promise<Map<number, { source: string; files: string[] }>> {
  const out = new Map<number, { source: string; files: string[] }>();
  try {
    const m = (await readStateJson(dir)) as { workPackages: Record<string, { source: string; files: Record<string, string> }> };
    for (const [id, w] of Object.entries(m.workPackages)) out.set(Number(id), { source: w.source, files: Object.keys(w.files) });
  } catch {
    /* no manifest */
  }
  return out;
}

function describeError(e: unknown): string {
  const err = e as Error & { problems?: string[] };
  return `${err?.constructor?.name ?? typeof e}: ${err?.message ?? String(e)}${err?.problems?.length ? ` (${err.problems.join('; ')})` : ''}`;
}

class FuzzAbort extends Error {}

/**
 * Scratch folders in memory when the machine has /dev/shm: each history runs dozens of
 * syncs that fsync every file they write, and on a disk that is most of their time.
 * A process's are all in one folder named after its pid, removed as it exits. A process
 * that vitest ends, or that crashes, runs no exit handler: so each process first removes
 * the folders of processes that are gone. (The shared oracles' folders were removed through
 * their promises at exit, which never ran: each fuzz:sync worker and vitest process left up
 * to SHARED_ORACLES of them in /dev/shm, ~1.5 MB each, and a machine that ran both for days
 * held 9,000, 12 GB of memory.)
 */
const SCRATCH_BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const SCRATCH_ROOT = path.join(SCRATCH_BASE, `curate-scratch-${process.pid}`);
let scratchRoot: Promise<void> | null = null;

async function scratch(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  await (scratchRoot ??= sweepScratch());
  const dir = await mkdtemp(path.join(SCRATCH_ROOT, prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function sweepScratch(): Promise<void> {
  for (const name of await readdir(SCRATCH_BASE)) {
    const pid = Number(/^curate-scratch-(\d+)$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(path.join(SCRATCH_BASE, name), { recursive: true, force: true });
  }
  await mkdir(SCRATCH_ROOT, { recursive: true });
}

process.once('exit', () => rmSync(SCRATCH_ROOT, { recursive: true, force: true }));

/** Where the time of all histories in this process went (ms; counts): `npm run fuzz:sync -- --profile-time`. */
export const worldTimings = { create: 0, close: 0, incremental: 0, incrementalRuns: 0, cli: 0, cliRuns: 0, oracle: 0, oracleRuns: 0, oracleHits: 0, trees: 0 };
const timed = async <T>(key: keyof typeof worldTimings, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    worldTimings[key] += performance.now() - t;
  }
};

/**
 * Oracles shared by the histories of this process: a fresh sync depends only on the server
 * state, the config, the mapping version, --now, the server clock and the profile's tree
 * rules (all in the key), so histories that reach the same state (every history starts from
 * the same one) ask the engine once. Entries a live history uses are kept; of the others, the
 * least recently used go (their folders removed) beyond SHARED_ORACLES.
 */
const SHARED_ORACLES = 16;
const sharedOracles = new Map<string, { fresh: Promise<Fresh>; users: Set<object> }>();

function releaseOracles(user: object): Promise<void> {
  for (const e of sharedOracles.values()) e.users.delete(user);
  const idle = [...sharedOracles].filter(([, e]) => e.users.size === 0);
  const drop = idle.slice(0, Math.max(0, idle.length - SHARED_ORACLES));
  for (const [k] of drop) sharedOracles.delete(k);
  return Promise.all(
    drop.map(async ([, e]) => {
      const f = await e.fresh.catch(() => null);
      if (!f) return;
      await rm(f.dir, { recursive: true, force: true });
      World.forget(f.dir);
    }),
  ).then(() => undefined);
}


export interface WorldOptions {
  /** Progress lines (steps, outcomes). */
  log?: (line: string) => void;
  /** `small`: a deterministic subset of the fixture (smallDataset) for fast fuzzing. @default 'fixture' */
  dataset?: 'fixture' | 'small';
}

export class World {
  private readonly hooks: RequestHooks;
  private readonly out: string;
  private readonly configPath: string;
  private now = LEGACY_NOW;
  private upgrade = 0;
  private readonly hand = new Map<number, { path: string; sha: string }>();
  private readonly everSeen = new Set<string>();
  private readonly journal: string[] = [];
  private choice: Record<string, number> = {};
  private sources: SourceSpec[];
  private overlap: number | null = null;
  private pageSize = 1000;
  private overlapSeconds: number = DEFAULTS.overlapSeconds;
  private stepNo = 0;
  /** The config (and curate) before the last config edit or upgrade: what a stale watcher runs with. */
  private previous: ConfigState | null = null;
  /**
   * A run whose clocks were all ahead of the server's (the machine's far, its `Date` ahead)
   * while a row was dated in the server's future: that row may now be a source's watermark,
   * and edits stamped before it are not in any incremental walk. curate cannot tell (no clock
   * it has says the row is in the future: README, "What curate guarantees"); its audit walk is what
   * converges, so every in-process run is an audit until one ends with no such row in sight.
   */
  private markAhead = false;
  private dateMode: DateMode = 'normal';
  private dateOnce: DateMode | null = null;
  private readonly backups = new Map<number, Dataset>();
  /** Names as the fixture has them (`project:1`, `type:3`, …): renames toggle back to them. */
  private readonly originalNames = new Map<string, string>();
  private optionTitles = [...OPTION_TITLES];
  private optionRenamed = false;
  /** A custom option was renamed (or restored): converges at the next audit run. */
  private auditDue = false;
  /** A work package no source syncs was edited, moved or deleted (`##N` shows its facts; issue 20). */
  private outsideEdited = false;
  /** A blocker at an owned path (block step): its hand-file slot is BLOCKER_SLOT. */
  private blocker: { kind: 'dir' | 'file'; path: string } | null = null;
  private readonly unhandled: unknown[] = [];
  private readonly onUnhandled = (reason: unknown): void => {
    this.unhandled.push(reason);
  };

  private constructor(
    private readonly setup: Setup,
    private readonly sim: Simulator,
    private readonly clock: { ms: number },
    private readonly work: { dir: string; cleanup: () => Promise<void> },
    private readonly base: SourceSpec[],
    private readonly options: WorldOptions,
  ) {
    this.hooks = requestHooks(sim);
    this.out = path.join(work.dir, 'site');
    this.configPath = path.join(work.dir, 'curate.config.yaml');
    this.sources = structuredClone(base);
    const inst = sim.dataset.instance;
    for (const [kind, rows] of [['project', inst.projects], ['type', inst.types], ['status', inst.statuses], ['user', inst.users ?? []], ['field', inst.customFields]] as const) {
      for (const r of rows as { id?: Json; name?: Json }[]) this.originalNames.set(`${kind}:${String(r.id)}`, String(r.name));
    }
    this.backups.set(0, cloneDataset(sim.dataset));
    process.on('unhandledRejection', this.onUnhandled);
  }

  /** The hash cache forgets a history's folders when it ends. */
  static forget(dir: string): void {
    for (const k of hashCache.keys()) if (k.startsWith(dir)) hashCache.delete(k);
  }

  static create(setup: Setup, options: WorldOptions = {}): Promise<World> {
    return timed('create', () => World.make(setup, options));
  }

  private static async make(setup: Setup, options: WorldOptions): Promise<World> {
    const clock = { ms: Date.parse('2021-03-01T00:00:00Z') };
    const sim = await startSimulator({ dataset: await worldDataset(options.dataset), apiKey: TEST_KEY, maxPageSize: setup.maxPageSize, downloads: setup.downloads, clock: () => new Date(clock.ms), seed: 7 });
    const base = setup.profile === 'medigy' ? (await medigyConfig()).sources : DEFAULT_PROFILE_SOURCES;
    return new World(setup, sim, clock, await scratch('curate-model-'), base, options);
  }

  close(): Promise<void> {
    return timed('close', () => this.shutdown());
  }

  private async shutdown(): Promise<void> {
    process.off('unhandledRejection', this.onUnhandled);
    await this.sim.close();
    await releaseOracles(this);
    await this.work.cleanup();
    World.forget(this.work.dir);
  }

  private note(line: string): void {
    this.journal.push(line);
    this.options.log?.(line);
  }

  private violation(kind: ViolationKind, message: string): InvariantViolation {
    return new InvariantViolation(kind, `${message}\n  at step ${this.stepNo}; recent:\n    ${this.journal.slice(-8).join('\n    ')}`);
  }

  // --- server state ------------------------------------------------------------------

  private ids(): number[] {
    return [...this.sim.dataset.workPackages.keys()].sort((a, b) => a - b);
  }

  private attachmentIds(): number[] {
    return [...this.sim.dataset.attachments.keys()].sort((a, b) => a - b);
  }

  private attachmentsOf(wpId: number): number[] {
    return [...this.sim.dataset.attachments.values()]
      .filter((a) => ((a.meta._links as Record<string, { href?: string }>).container?.href ?? '').endsWith(`/work_packages/${wpId}`))
      .map((a) => a.meta.id)
      .sort((a, b) => a - b);
  }

  /** What `##N` shows of each work package no source of the current config syncs (subject, type, status). */
  private outsideFacts(): Map<number, string> {
    const sources = this.configSources(this.currentState());
    const inst = this.sim.dataset.instance;
    const out = new Map<number, string>();
    for (const [id, wp] of this.sim.dataset.workPackages) {
      const link = (rel: string): { href?: Json; title?: Json } => (wp._links[rel] ?? {}) as { href?: Json; title?: Json };
      const projectId = Number(String(link('project').href).split('/').pop());
      const identifier = String(inst.projects.find((p) => Number(p.id) === projectId)?.identifier ?? '');
      const type = String(link('type').title);
      const status = String(link('status').title);
      const synced = sources.some((s) => s.projects.includes(identifier) && s.types.includes(type) && (s.statuses.length === 0 || s.statuses.includes(status)));
      if (!synced) out.set(id, JSON.stringify([wp.subject, link('type').href, link('status').href]));
    }
    return out;
  }

  /** Whether a work package is dated after the server's clock (a `skew` edit). */
  private rowDatedAheadOfServer(): boolean {
    for (const wp of this.sim.dataset.workPackages.values()) if (Date.parse(String(wp.updatedAt)) > this.clock.ms) return true;
    return false;
  }

  /** Apply one server edit; returns what it did, or null when there was nothing to apply it to. */
  mutate(mut: Mutation): string | null {
    const before = this.outsideFacts();
    const did = this.mutateServer(mut);
    // A work package outside every source has no change signal: a page showing its facts
    // converges at the audit. Any change to one (edited, moved, deleted) makes the audit due.
    for (const [id, facts] of before) {
      const wp = this.sim.dataset.workPackages.get(id);
      const now = wp === undefined ? null : JSON.stringify([wp.subject, (wp._links.type as { href?: Json }).href, (wp._links.status as { href?: Json }).href]);
      if (now !== facts) {
        this.outsideEdited = true;
        this.auditDue = true;
      }
    }
    return did;
  }

  private mutateServer(mut: Mutation): string | null {
    const ids = this.ids();
    const sim = this.sim;
    const inst = sim.dataset.instance;
    this.clock.ms += 1000;
    const wpOf = (p: number): number | null => (ids.length ? ids[p % ids.length]! : null);
    switch (mut.m) {
      case 'edit': {
        const id = wpOf(mut.wp);
        if (id === null) return null;
        const v = mut.v;
        switch (mut.field) {
          case 'subject': {
            let subject = SUBJECTS[v % SUBJECTS.length]!;
            if (v % 3 === 0 && ids.length > 1) {
              const other = ids[Math.floor(v / 3) % ids.length] === id ? ids[(Math.floor(v / 3) + 1) % ids.length]! : ids[Math.floor(v / 3) % ids.length]!;
              subject = String(sim.dataset.workPackages.get(other)!.subject);
            }
            sim.updateWorkPackage(id, (wp) => {
              wp.subject = subject;
            });
            return `#${id} subject = ${JSON.stringify(subject)}`;
          }
          case 'description': {
            const att = this.attachmentsOf(id)[0];
            const raw = `Edited paragraph ${v}.\n\nSecond line with *emphasis*.${v % 2 === 0 && att !== undefined ? `\n\n![figure](/api/v3/attachments/${att}/content)` : ''}`;
            sim.updateWorkPackage(id, (wp) => {
              wp.description = { format: 'markdown', raw, html: `<p>${raw}</p>` };
            });
            return `#${id} description (v${v})`;
          }
          case 'cleanUrl': {
            let url: Json = v % 4 === 3 ? null : `https://example.org/story-${v % 5}`;
            if (v % 4 === 0) url = (sim.dataset.workPackages.get(ids[Math.floor(v / 4) % ids.length]!)!.customField1 as Json) ?? null;
            setFieldById(sim, id, FIELD.cleanUrl, url);
            return `#${id} Clean URL = ${JSON.stringify(url)}`;
          }
          case 'topics': {
            const topics = ['["Telehealth","AI"]', '[]', null, '["Cancer #1"]', '["x"]', 'not json'][v % 6]!;
            setFieldById(sim, id, FIELD.topics, topics);
            return `#${id} Medigy Topics = ${JSON.stringify(topics)}`;
          }
          case 'status': {
            const status = inst.statuses[v % inst.statuses.length]!;
            setStatus(sim, id, Number(status.id));
            return `#${id} status = ${String(status.name)}`;
          }
          case 'dates': {
            const start = LEGACY_NOW.getTime() + ((v % 90) - 45) * DAY;
            const due = start + (v % 3) * DAY;
            sim.updateWorkPackage(id, (wp) => {
              wp.startDate = isoDay(start);
              wp.dueDate = isoDay(due);
            });
            return `#${id} dates ${isoDay(start)}..${isoDay(due)}`;
          }
          case 'skew': {
            // The server's clock ran ahead for this one edit (or a backup was restored):
            // its updatedAt lies in the future of every later edit.
            const at = new Date(this.clock.ms + (1 + (v % 48)) * 3_600_000).toISOString();
            sim.updateWorkPackage(id, (wp) => {
              wp.description = { format: 'markdown', raw: `Edited with the clock ahead (${v}).`, html: `<p>Edited with the clock ahead (${v}).</p>` };
            });
            sim.dataset.workPackages.get(id)!.updatedAt = at;
            return `#${id} edited with updatedAt ${at} (server clock ahead)`;
          }
          case 'cancel':
            setFieldById(sim, id, FIELD.cancelled, v % 2 === 0);
            return `#${id} Event Cancelled = ${v % 2 === 0}`;
          case 'link': {
            // A link to another work package (often of another source): its page's URL is part of this page.
            // Issue 20: `##N` / `###N` show the target's facts (type, status, subject), also of one
            // outside every source or one that never exists (990000…).
            const others = ids.filter((x) => x !== id);
            if (!others.length) return null;
            const to = v % 5 === 4 ? 990_000 + (v % 7) : others[(v * 7) % others.length]!;
            const ref = `${'#'.repeat(1 + (v % 3))}${to}`;
            const raw = `Related: [see this](/work_packages/${to}) and ${ref}.`;
            sim.updateWorkPackage(id, (wp) => {
              wp.description = { format: 'markdown', raw, html: `<p>Related: <a href="/work_packages/${to}">see this</a> and ${ref}.</p>` };
            });
            return `#${id} description links to ${ref}`;
          }
          case 'option': {
            const current = (n: number): Json => ({ href: optionHref(n), title: this.optionTitle(n) });
            const value = v % 4 === 3 ? { href: null } : current(v % 3);
            sim.updateWorkPackage(id, (wp) => {
              wp._links[`customField${LIST_FIELD.id}`] = value;
            });
            return `#${id} Audience = ${JSON.stringify(value)}`;
          }
        }
        return null;
      }
      case 'rename':
        return this.rename(mut.what, mut.pick, mut.v);
      case 'bulk': {
        if (!ids.length) return null;
        const start = mut.wp % ids.length;
        const chosen = Array.from({ length: Math.min(mut.count, ids.length) }, (_, k) => ids[(start + k) % ids.length]!);
        const status = inst.statuses[mut.v % inst.statuses.length]!;
        const what = ['subject', 'description', 'status'][mut.v % 3]!;
        const at = bulkUpdate(sim, chosen, (wp) => {
          if (what === 'subject') wp.subject = `${String(wp.subject).replace(/ \(bulk \d+\)$/, '')} (bulk ${mut.v})`;
          else if (what === 'description') wp.description = { format: 'markdown', raw: `Migrated in bulk (${mut.v}).`, html: `<p>Migrated in bulk (${mut.v}).</p>` };
          else wp._links.status = { href: `/api/v3/statuses/${String(status.id)}`, title: String(status.name) };
        });
        // More rows at one instant than a page holds: a small page size (unless the server's already is).
        let paging = '';
        if (this.setup.maxPageSize > 3 && this.pageSize > 3) {
          this.pageSize = 3;
          paging = '; openproject.pageSize = 3';
        }
        return `bulk ${what} of ${chosen.length} work packages at ${at} (#${chosen[0]}…)${paging}`;
      }
      case 'create': {
        const from = wpOf(mut.from);
        if (from === null) return null;
        const project = inst.projects[mut.project % inst.projects.length]!;
        const type = inst.types[mut.type % inst.types.length]!;
        const subject = mut.v % 2 ? SUBJECTS[mut.v % SUBJECTS.length]! : `New item ${mut.v}`;
        const id = createWorkPackage(sim, from, { subject, projectId: Number(project.id), typeId: Number(type.id) });
        return `created #${id} from #${from} in ${String(project.identifier)} as ${String(type.name)}: ${JSON.stringify(subject)}`;
      }
      case 'delete': {
        const id = wpOf(mut.wp);
        if (id === null) return null;
        sim.deleteWorkPackage(id);
        return `deleted #${id}`;
      }
      case 'attach': {
        const id = wpOf(mut.wp);
        if (id === null) return null;
        const { fileName, bytes } = attachmentFor(mut.kind, mut.v);
        const a = sim.addAttachment(id, { fileName }, bytes);
        return `#${id} + attachment #${a.id} ${fileName}`;
      }
      case 'replace': {
        const atts = this.attachmentIds();
        if (!atts.length) return null;
        const old = atts[mut.att % atts.length]!;
        const name = sim.dataset.attachments.get(old)!.meta.fileName;
        const a = replaceAttachment(sim, old, replacementFor(name, mut.v));
        return `attachment #${old} ${name} replaced by #${a.id}`;
      }
      case 'unattach': {
        const atts = this.attachmentIds();
        if (!atts.length) return null;
        const id = atts[mut.att % atts.length]!;
        const name = sim.dataset.attachments.get(id)!.meta.fileName;
        sim.deleteAttachment(id);
        return `attachment #${id} ${name} removed`;
      }
      case 'move': {
        const id = wpOf(mut.wp);
        if (id === null) return null;
        if (mut.project !== undefined) {
          const project = inst.projects[mut.project % inst.projects.length]!;
          moveWorkPackage(sim, id, { projectId: Number(project.id) });
          return `#${id} moved to project ${String(project.identifier)}`;
        }
        const type = inst.types[(mut.type ?? 0) % inst.types.length]!;
        moveWorkPackage(sim, id, { typeId: Number(type.id) });
        return `#${id} moved to type ${String(type.name)}`;
      }
    }
  }

  private optionTitle(n: number): string {
    return this.optionTitles[n] ?? OPTION_TITLES[n]!;
  }

  /** A rename on the server (issue 19): no work package's updatedAt or lockVersion moves. */
  private rename(what: RenameTarget, pick: number, v: number): string | null {
    const sim = this.sim;
    const inst = sim.dataset.instance;
    const name = (key: string): string => {
      const orig = this.originalNames.get(key) ?? key;
      return v % 3 === 0 ? orig : `${orig} ~${v}`;
    };
    const row = <T extends { id?: Json; name?: Json }>(rows: readonly T[]): T | null => (rows.length ? rows[pick % rows.length]! : null);
    switch (what) {
      case 'project': {
        const p = row(inst.projects);
        if (!p) return null;
        const to = name(`project:${String(p.id)}`);
        renameProject(sim, Number(p.id), to);
        return `project ${String(p.identifier)} renamed ${JSON.stringify(to)}`;
      }
      case 'type': {
        const t = row(inst.types);
        if (!t) return null;
        const to = name(`type:${String(t.id)}`);
        renameType(sim, Number(t.id), to);
        return `type ${String(t.id)} renamed ${JSON.stringify(to)} (the config follows)`;
      }
      case 'status': {
        const t = row(inst.statuses);
        if (!t) return null;
        const to = name(`status:${String(t.id)}`);
        renameStatus(sim, Number(t.id), to);
        return `status ${String(t.id)} renamed ${JSON.stringify(to)} (the config follows)`;
      }
      case 'user': {
        const u = row(inst.users ?? []);
        if (!u) return null;
        const to = name(`user:${String(u.id)}`);
        renameUser(sim, Number(u.id), to);
        return `user ${String(u.id)} renamed ${JSON.stringify(to)}`;
      }
      case 'field': {
        const f = row(inst.customFields);
        if (!f) return null;
        const to = name(`field:${f.id}`);
        renameCustomField(sim, f.id, to);
        return `custom field ${f.id} renamed ${JSON.stringify(to)}`;
      }
      case 'option': {
        const n = pick % OPTION_TITLES.length;
        const to = v % 3 === 0 ? OPTION_TITLES[n]! : `${OPTION_TITLES[n]!} ~${v}`;
        renameCustomOption(sim, optionHref(n), to);
        this.optionTitles[n] = to;
        this.optionRenamed = true;
        this.auditDue = true;
        return `custom option ${optionHref(n)} renamed ${JSON.stringify(to)} (an audit is due)`;
      }
    }
  }

  /** Today's name of each type / status the fixture named `original` (the config is written with these). */
  private currentNames(kind: 'type' | 'status'): Map<string, string> {
    const rows = kind === 'type' ? this.sim.dataset.instance.types : this.sim.dataset.instance.statuses;
    const out = new Map<string, string>();
    for (const r of rows) {
      const orig = this.originalNames.get(`${kind}:${String(r.id)}`);
      if (orig !== undefined) out.set(orig, String(r.name));
    }
    return out;
  }

  private currentState(): ConfigState {
    return { sources: structuredClone(this.sources), choice: { ...this.choice }, overlap: this.overlap, pageSize: this.pageSize, overlapSeconds: this.overlapSeconds, upgrade: this.upgrade };
  }

  // --- blockers (issue 19) -------------------------------------------------------------

  private async block(kind: 'dir' | 'file', v: number): Promise<string | null> {
    await this.unblock();
    const owned = await ownedIn(this.out);
    const pairs = [...owned].sort((a, b) => a[0] - b[0]).flatMap(([id, w]) => [...w.files].sort().map((f) => [id, f] as const));
    const onDisk: (readonly [number, string])[] = [];
    for (const p of pairs) if (existsSync(path.join(this.out, p[1]))) onDisk.push(p);
    if (!onDisk.length) return null;
    const text = `A ${kind} someone put here; curate must never touch it.\n`;
    const sha = createHash('sha256').update(text).digest('hex');
    if (kind === 'file') {
      // A folder that holds files of one work package only (a bundle): replaced by a file.
      const folders = new Map<string, number>();
      for (const [id, f] of onDisk) {
        const d = path.posix.dirname(f);
        if (d === '.' || folders.has(d)) continue;
        const mine = new Set(owned.get(id)!.files);
        const entries = await readdir(path.join(this.out, d), { withFileTypes: true }).catch(() => null);
        if (entries?.length && entries.every((e) => e.isFile() && mine.has(path.posix.join(d, e.name)))) folders.set(d, id);
      }
      const list = [...folders].sort((a, b) => a[0].localeCompare(b[0]));
      if (list.length) {
        const [d, id] = list[v % list.length]!;
        await rm(path.join(this.out, d), { recursive: true, force: true });
        await writeFile(path.join(this.out, d), text);
        this.hand.set(BLOCKER_SLOT, { path: d, sha });
        this.blocker = { kind, path: d };
        return `a file placed where #${id}'s folder ${d} is`;
      }
    }
    const [id, f] = onDisk[v % onDisk.length]!;
    await rm(path.join(this.out, f), { force: true });
    await mkdir(path.join(this.out, f), { recursive: true });
    await writeFile(path.join(this.out, f, 'blocker.txt'), text);
    this.hand.set(BLOCKER_SLOT, { path: `${f}/blocker.txt`, sha });
    this.blocker = { kind: 'dir', path: f };
    return `a directory placed where #${id}'s file ${f} is`;
  }

  private async unblock(): Promise<string | null> {
    const b = this.blocker;
    if (!b) return null;
    this.blocker = null;
    this.hand.delete(BLOCKER_SLOT);
    if (b.kind === 'dir') {
      await unlink(path.join(this.out, b.path, 'blocker.txt')).catch(() => undefined);
      const left = await rmdir(path.join(this.out, b.path)).then(() => null, (e: NodeJS.ErrnoException) => e.code);
      if (left && left !== 'ENOENT') return `blocker directory ${b.path} emptied but not removed (${left}: something else is in it)`;
    } else await unlink(path.join(this.out, b.path)).catch(() => undefined);
    return `blocker ${b.path} removed`;
  }

  /** While a blocker stands where a fresh sync writes: no exit 0, and item errors naming each work package that wants it and the path. */
  private checkBlocked(r: Outcome, fEnd: Fresh, cli: boolean): void {
    const b = this.blocker;
    if (!b) return;
    const wants = [...fEnd.owned].filter(([, w]) => w.files.some((f) => (b.kind === 'dir' ? f === b.path : f.startsWith(`${b.path}/`)))).map(([id]) => id);
    if (!wants.length) return;
    if (r.outcome === 'ok') throw this.violation('blocked', `the run exited 0 while a ${b.kind === 'dir' ? 'directory' : 'file'} stands at ${b.path}, where #${wants.join(', #')} belongs`);
    if (r.outcome === 'threw' && fEnd.outcome === 'ok' && r.detail.includes(b.path)) {
      throw this.violation('blocked', `the whole run failed on the ${b.kind === 'dir' ? 'directory' : 'file'} at ${b.path} (where #${wants.join(', #')} belongs) instead of an item error: ${r.detail.slice(0, 300)}`);
    }
    if (r.outcome !== 'errors' || cli) return;
    const messages = r.detail.split(' | ');
    for (const id of wants) {
      if (!messages.some((m) => m.includes(`#${id}`) && m.includes(b.path))) {
        throw this.violation('blocked', `a ${b.kind === 'dir' ? 'directory' : 'file'} stands at ${b.path}, where #${id} belongs, and no item error names both: ${r.detail.slice(0, 400)}`);
      }
    }
  }

  // --- config ------------------------------------------------------------------------

  private editConfig(edit: ConfigEdit, srcPick: number, v: number): string {
    const i = srcPick % this.base.length;
    const base = this.base[i]!;
    const src = this.sources.find((s) => s.name === base.name)!;
    switch (edit) {
      case 'path':
        src.path = base.path + ['', '-moved', '/sub'][v % 3]!;
        return `sources.${base.name}.path = ${src.path}`;
      case 'variant':
        if (this.setup.profile !== 'medigy') return 'variant: not a medigy history';
        src.options = { variant: ['community', 'news', 'events'][v % 3]! };
        return `sources.${base.name}.options.variant = ${String(src.options.variant)}`;
      case 'statuses':
        src.statuses = [[], ['New'], ['New', 'Published'], ['Published', 'In progress']][v % 4]!;
        return `sources.${base.name}.statuses = ${JSON.stringify(src.statuses)}`;
      case 'types':
        src.types = v % 2 === 0 || base.types.length < 2 ? [...base.types] : base.types.filter((_, k) => k !== Math.floor(v / 2) % base.types.length);
        return `sources.${base.name}.types = ${src.types.length} of ${base.types.length}`;
      case 'option': {
        const rows = OPTION_CHOICES[this.setup.profile];
        const row = rows[v % rows.length]!;
        this.choice = { ...this.choice, [row.key]: Math.floor(v / rows.length) % row.values.length };
        return `profile option ${row.key} = ${JSON.stringify(row.values[this.choice[row.key]!])}`;
      }
      case 'overlap':
        this.overlap = this.overlap === null ? i : null;
        return this.overlap === null ? 'overlapping source removed' : `source ${base.name}-copy added (same projects and types as ${base.name})`;
      case 'pageSize':
        this.pageSize = [1000, 2, 3, 7][v % 4]!;
        return `openproject.pageSize = ${this.pageSize}`;
      case 'overlapSeconds':
        this.overlapSeconds = [DEFAULTS.overlapSeconds, 0, 30, 7200][v % 4]!;
        return `sync.overlapSeconds = ${this.overlapSeconds}`;
    }
  }

  private configSources(state: ConfigState): SourceSpec[] {
    // Types and statuses renamed on the server are renamed in the config too.
    const types = this.currentNames('type');
    const statuses = this.currentNames('status');
    const named = (s: SourceSpec): SourceSpec => ({ ...s, types: s.types.map((t) => types.get(t) ?? t), statuses: s.statuses.map((t) => statuses.get(t) ?? t) });
    const out = structuredClone(state.sources).map(named);
    if (state.overlap !== null) {
      const b = state.sources.find((s) => s.name === this.base[state.overlap!]!.name)!;
      out.push(named({ ...structuredClone(b), name: `${b.name}-copy`, path: `${b.path}-copy` }));
    }
    return out;
  }

  /** Write the config file (the current one, or `state`: a stale watcher's, in a file of its own) and load it. */
  private async writeConfig(state: ConfigState = this.currentState()): Promise<ResolvedConfig> {
    const stale = JSON.stringify(state) !== JSON.stringify(this.currentState());
    const file = {
      openproject: { url: 'http://127.0.0.1:9', pageSize: state.pageSize },
      output: { root: 'site' },
      profile: { name: this.setup.profile, options: profileOptions(this.setup.profile, state.choice, this.currentNames('type')) },
      sources: this.configSources(state),
      // Written only when it is not the default, so the other histories' config files stay as they were.
      ...(state.overlapSeconds !== DEFAULTS.overlapSeconds ? { sync: { overlapSeconds: state.overlapSeconds } } : {}),
    };
    const configPath = stale ? path.join(path.dirname(this.configPath), 'curate.stale.yaml') : this.configPath;
    await writeFile(configPath, yaml.dump(file, { noRefs: true }));
    return loadConfig({ configPath, env: { OPENPROJECT_URL: this.sim.url, OPENPROJECT_API_KEY: TEST_KEY }, overrides: { out: this.out, now: this.now.toISOString() } });
  }

  /** The profile a run uses: the real one, or (after an `upgrade` step, in process only) one with another mapping version. */
  private profileFor(cfg: ResolvedConfig, cli: boolean, upgrade = this.upgrade): Profile {
    const real = createProfile(cfg.profile.name, cfg.profile.options);
    if (cli || upgrade === 0) return real;
    const mark = `\n<!-- mapping ${upgrade} -->\n`;
    return {
      ...real,
      version: `${real.version}+fuzz${upgrade}`,
      map: (input) => {
        const doc = real.map(input);
        return { ...doc, files: doc.files.map((f) => (f.kind === 'text' ? { ...f, text: f.text + mark } : f)) };
      },
    };
  }

  // --- hand-written files ------------------------------------------------------------

  private async handWrite(slot: number, where: 'new' | 'vacated' | 'remove', v: number): Promise<string | null> {
    const old = this.hand.get(slot);
    if (old) {
      await unlink(path.join(this.out, old.path)).catch(() => undefined);
      this.hand.delete(slot);
    }
    if (where === 'remove') return old ? `removed hand-written ${old.path}` : null;
    const current = await tree(this.out, this.setup.profile === 'default');
    const handPaths = new Set([...this.hand.values()].map((h) => h.path));
    let rel: string;
    if (where === 'new') {
      const dirs = [...new Set([...current.keys()].map((p) => path.posix.dirname(p)))].sort();
      const dir = dirs.length ? dirs[v % dirs.length]! : 'notes';
      rel = `${dir === '.' ? '' : `${dir}/`}hand-${slot}.md`;
    } else {
      // Not a path the manifest still owns (a file deleted by hand that its work package
      // still wants): writing there is editing curate's file, which no history covers.
      const owned = new Set([...(await ownedIn(this.out)).values()].flatMap((w) => w.files));
      // Nor one under a path that is a file now (a blocker's old hand file under a page that
      // was written since: found by fuzz:sync, seed 2095157536, where the harness threw EEXIST).
      const underFile = (p: string): boolean => p.split('/').slice(0, -1).some((_, i, parts) => current.has(parts.slice(0, i + 1).join('/')));
      const vacated = [...this.everSeen].filter((p) => !current.has(p) && !handPaths.has(p) && !owned.has(p) && !underFile(p)).sort();
      if (!vacated.length) return null;
      rel = vacated[v % vacated.length]!;
    }
    if (handPaths.has(rel) || current.has(rel)) return null;
    // Nor a path that is a folder now (a file blocker's old path, where the page's folder is
    // back: found by fuzz:sync, seed 1637842186, where the harness threw EISDIR).
    if (await stat(path.join(this.out, rel)).then((st) => st.isDirectory(), () => false)) return null;
    const b = this.blocker;
    if (b && (rel === b.path || rel.startsWith(`${b.path}/`) || b.path.startsWith(`${rel}/`))) return null;
    const text = `---\ntitle: Written by hand ${slot}\n---\nA page the site owner wrote; curate must never touch it.\n`;
    await mkdir(path.dirname(path.join(this.out, rel)), { recursive: true });
    await writeFile(path.join(this.out, rel), text);
    this.hand.set(slot, { path: rel, sha: createHash('sha256').update(text).digest('hex') });
    return `hand-written ${rel}`;
  }

  // --- runs --------------------------------------------------------------------------

  private client(pageSize: number, concurrency: number, url = this.sim.url): ReturnType<typeof createOpenProjectClient> {
    return createOpenProjectClient({ baseUrl: url, apiKey: TEST_KEY, backoffBaseMs: 2, maxBackoffMs: 50, timeoutMs: 1500, retries: 8, pageSize, concurrency });
  }

  private async runInProcess(step: SyncStep, cfg: ResolvedConfig, profile: Profile, o: { onlyIds?: number[]; audit?: boolean } = {}): Promise<Outcome> {
    const client = this.client(cfg.openproject.pageSize, step.conc ?? 8);
    const ac = new AbortController();
    let events = 0;
    try {
      const report = await runSync({
        outputRoot: this.out,
        sources: cfg.sources,
        profile,
        client,
        now: this.now,
        ...(this.setup.machineClock === 'server' ? { clock: () => new Date(this.clock.ms) } : {}),
        full: step.full,
        allowMassDelete: step.mass,
        deleteThreshold: cfg.sync.deleteThreshold,
        overlapSeconds: cfg.sync.overlapSeconds,
        // Folder stamps (sync/folder-trust.ts) recorded within milliseconds of a change, so
        // that histories, whose runs are milliseconds apart, trust folders and a file lost by
        // hand must still be found (a file-time tick is at most 10 ms here).
        folderStampMarginMs: FUZZ_STAMP_MARGIN_MS,
        folderStampMinFiles: 1,
        concurrency: step.conc ?? 8,
        signal: ac.signal,
        ...(o.onlyIds ? { onlyIds: o.onlyIds } : {}),
        // The engine's periodic audit walk, now (issue 19): what makes a custom option rename converge.
        ...(o.audit ? ({ auditIntervalMs: 0 } as Record<string, number>) : {}),
        // FUZZ_STATE_TEXT_BYTES=0: the engine keeps two shard texts in hand and reads the
        // others again when it needs them (PreviousState), the path large states take.
        ...(process.env.FUZZ_STATE_TEXT_BYTES !== undefined ? { stateTextBytes: Number(process.env.FUZZ_STATE_TEXT_BYTES) } : {}),
        onEvent: () => {
          if (step.abort !== undefined && ++events === step.abort) ac.abort(new FuzzAbort(`aborted after ${events} events`));
        },
      });
      await report.dispose();
      return report.errors.length ? { outcome: 'errors', detail: report.errors.map((e) => e.message).join(' | ') } : { outcome: 'ok', detail: `${JSON.stringify(report.counts.total)}` };
    } catch (e) {
      if (ac.signal.aborted && (e instanceof FuzzAbort || (e as Error).name === 'AbortError')) return { outcome: 'aborted', detail: (e as Error).message };
      return { outcome: 'threw', detail: describeError(e), error: e };
    } finally {
      await client.close();
    }
  }

  /** The lock, staging folders and temp files in .curate/ (an empty tmp folder is not a leftover), each with a few of its names. */
  private async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const n of await readdir(path.join(this.out, '.curate')).catch(() => [] as string[])) {
      if (n !== 'lock' && !n.startsWith('staging-') && n !== 'tmp') continue;
      const inside = await readdir(path.join(this.out, '.curate', n)).catch(() => null);
      if (n === 'tmp' && inside?.length === 0) continue;
      out.push(inside ? `${n} [${inside.slice(0, 5).join(', ')}]` : n);
    }
    return out;
  }

  private async runCli(step: SyncStep): Promise<Outcome> {
    const args = [BIN, 'sync', '--config', this.configPath, '--out', this.out, '--now', this.now.toISOString(), '--quiet', ...(step.mass ? ['--allow-mass-delete'] : [])];
    // The binary keeps verified downloads between runs (src/cli/download-cache.ts): kept on,
    // so the invariant covers it, in the world's own folder rather than the user's cache.
    const cacheDir = path.join(path.dirname(this.configPath), 'download-cache');
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, OPENPROJECT_URL: this.sim.url, OPENPROJECT_API_KEY: TEST_KEY, CURATE_CACHE_DIR: cacheDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    let timer: NodeJS.Timeout | undefined;
    let signalled: { at: number; signal: 'SIGTERM' | 'SIGINT' } | null = null;
    let hung = false;
    const hangTimer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    if (step.cli?.killAt !== undefined) this.hooks.at('*', step.cli.killAt, () => child.kill('SIGKILL'));
    if (step.cli?.killMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), step.cli.killMs);
    if (step.cli?.signalAt !== undefined) {
      const sig = step.cli.signal ?? 'SIGTERM';
      this.hooks.at('*', step.cli.signalAt, () => {
        signalled = { at: Date.now(), signal: sig };
        child.kill(sig);
      });
    }
    const { code, signal } = await closed;
    clearTimeout(timer);
    clearTimeout(hangTimer);
    if (hung) throw this.violation('hang', `the binary did not exit within ${HANG_MS / 1000} s (killed); stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const sent = signalled as { at: number; signal: 'SIGTERM' | 'SIGINT' } | null;
    if (sent) {
      const took = Date.now() - sent.at;
      const want = sent.signal === 'SIGTERM' ? 143 : 130;
      if (code !== want) throw this.violation('signal', `${sent.signal} during the run: the binary ended with ${code === null ? `signal ${String(signal)}` : `exit ${code}`}, not ${want}; stderr: ${stderr.trim().split("\n").slice(-6).join(" | ")}`);
      if (took > 2000) throw this.violation('signal', `${sent.signal} during the run: the binary took ${took} ms to exit (limit 2 s)`);
      const left = await this.leftovers();
      if (left.length) {
        throw this.violation('signal', `${sent.signal} during the run (exit ${code} after ${took} ms): it left ${left.join(', ')} in .curate/`);
      }
      return { outcome: 'aborted', detail: `${sent.signal}, exit ${code}` };
    }
    if (signal === 'SIGKILL') return { outcome: 'killed', detail: 'SIGKILL' };
    if (code === 0) return { outcome: 'ok', detail: 'exit 0' };
    const detail = `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    // The binary's own "internal error" line is what an unexpected exception looks like from outside.
    return { outcome: code === 1 && !/internal error/i.test(stderr) ? 'errors' : 'threw', detail };
  }

  /** `p`, or a `hang` violation when it has not settled within HANG_MS. */
  private async watchdog<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.violation('hang', `${what} did not return within ${HANG_MS / 1000} s`)), HANG_MS);
    });
    try {
      return await Promise.race([p, hang]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fresh sync of `data` into an empty folder, in memory (cached per state, shared by the histories of this process). */
  private oracle(data: Dataset, cfg: ResolvedConfig, profile: Profile): Promise<Fresh> {
    const h = createHash('sha256');
    for (const id of [...data.workPackages.keys()].sort((a, b) => a - b)) h.update(JSON.stringify(data.workPackages.get(id)));
    for (const id of [...data.attachments.keys()].sort((a, b) => a - b)) h.update(JSON.stringify(data.attachments.get(id)!.meta));
    h.update(JSON.stringify(data.instance));
    h.update(JSON.stringify({ sources: cfg.sources, profile: cfg.profile, sync: cfg.sync, version: profile.version, now: this.now.toISOString(), clock: this.clock.ms, tree: this.setup.profile }));
    const key = h.digest('hex');
    let hit = sharedOracles.get(key);
    if (hit) {
      worldTimings.oracleHits += 1;
      sharedOracles.delete(key); // most recently used last
    } else {
      worldTimings.oracleRuns += 1;
      const entry = { fresh: timed('oracle', () => this.watchdog(this.freshSync(cloneDataset(data), cfg, profile), 'the fresh sync (oracle)')), users: new Set<object>() };
      // An oracle that hung is this history's finding (its message names this history's steps): not shared.
      entry.fresh.catch(() => sharedOracles.get(key) === entry && sharedOracles.delete(key));
      hit = entry;
    }
    hit.users.add(this);
    sharedOracles.set(key, hit);
    return hit.fresh;
  }

  private async freshSync(data: Dataset, cfg: ResolvedConfig, profile: Profile): Promise<Fresh> {
    // The oracle is the engine's own answer for a frozen server state: in memory (the fake
    // client, checked against HTTP in fake-client.test.ts); the runs under test talk HTTP.
    const { dir } = await scratch('curate-fresh-');
    const client = createFakeClient(data, { clock: () => new Date(this.clock.ms) });
    let result: Outcome;
    try {
      const report = await runSync({ outputRoot: dir, sources: cfg.sources, profile, client, now: this.now, deleteThreshold: cfg.sync.deleteThreshold, overlapSeconds: cfg.sync.overlapSeconds });
      await report.dispose();
      result = report.errors.length ? { outcome: 'errors', detail: report.errors.map((e) => e.message).join(' | ') } : { outcome: 'ok', detail: '' };
    } catch (e) {
      result = { outcome: 'threw', detail: describeError(e), error: e };
    } finally {
      await client.close();
    }
    return { ...result, tree: await tree(dir, this.setup.profile === 'default'), dir, owned: await ownedIn(dir) };
  }

  private async checkHand(): Promise<void> {
    for (const { path: rel, sha } of this.hand.values()) {
      const now = await readFile(path.join(this.out, rel)).catch(() => null);
      if (!now) throw this.violation('safety-hand', `hand-written file ${rel} was deleted`);
      if (createHash('sha256').update(now).digest('hex') !== sha) throw this.violation('safety-hand', `hand-written file ${rel} was overwritten`);
    }
  }

  private async firstDifference(rel: string, fresh: Fresh): Promise<string> {
    const a = await readFile(path.join(this.out, rel), 'utf8').catch(() => '');
    const b = await readFile(path.join(fresh.dir, rel), 'utf8').catch(() => '');
    const al = a.split('\n');
    const bl = b.split('\n');
    for (let i = 0; i < Math.max(al.length, bl.length); i++) {
      if (al[i] !== bl[i]) return `line ${i + 1}: incremental ${JSON.stringify((al[i] ?? '<none>').slice(0, 120))} vs fresh ${JSON.stringify((bl[i] ?? '<none>').slice(0, 120))}`;
    }
    return 'binary or same text';
  }

  /** One sync and every check that applies to its outcome. */
  /** `opts.state` + `opts.onlyIds`: a watcher's targeted run with that (stale) config: checked, never compared (see the header). */
  async sync(step: SyncStep, depth = 0, opts: { state?: ConfigState; onlyIds?: number[] } = {}): Promise<Outcome> {
    const before = await tree(this.out, this.setup.profile === 'default');
    const ownedBefore = await ownedIn(this.out);
    const snapshot = step.during?.length ? cloneDataset(this.sim.dataset) : null;
    let cfg: ResolvedConfig;
    try {
      cfg = await this.writeConfig(opts.state);
    } catch (e) {
      this.note(`  sync: config refused: ${describeError(e)}`);
      return { outcome: 'threw', detail: describeError(e), error: e };
    }
    const cli = step.cli !== undefined;
    const profile = this.profileFor(cfg, cli, opts.state?.upgrade);
    const fault = step.fault;
    if (fault) {
      const spec: FaultSpec = { route: fault.kind === 'corrupt' ? ['content', 'storage'] : fault.route === 'content' ? ['content', 'storage'] : fault.route, kind: fault.kind, times: fault.times, ...(fault.kind === 'status' ? { status: fault.status, retryAfter: 0 } : {}), ...(fault.kind === 'stall' ? { stallMs: 100 } : {}) };
      this.sim.inject(spec);
    }
    this.hooks.clear();
    const happened: string[] = [];
    for (const d of step.during ?? []) {
      this.hooks.at(d.route, d.nth, () => {
        const what = this.mutate(d.mut);
        if (what) happened.push(what);
      });
    }
    const dateMode = this.dateOnce ?? this.dateMode;
    this.dateOnce = null;
    setDateHeader(this.sim, DATE_HEADERS[dateMode]);
    const markAheadBefore = this.markAhead;
    const audit = (this.auditDue || this.markAhead) && !cli && !opts.onlyIds;
    if (cli) worldTimings.cliRuns += 1;
    else worldTimings.incrementalRuns += 1;
    const r = cli
      ? await timed('cli', () => this.runCli(step))
      : await timed('incremental', () => this.watchdog(this.runInProcess(step, cfg, profile, { ...(opts.onlyIds ? { onlyIds: opts.onlyIds } : {}), audit }), `the run ${JSON.stringify(step)}`));
    setDateHeader(this.sim, DATE_HEADERS[this.dateMode]);
    const blind = (cli || this.setup.machineClock !== 'server') && (dateMode === 'ahead' || dateMode === 'farAhead') && this.rowDatedAheadOfServer();
    if (blind) this.markAhead = true;
    this.sim.clearFaults();
    this.hooks.clear();
    const concurrent = happened.length > 0;
    const how = [opts.onlyIds ? `targeted #${opts.onlyIds.join(',')}` : '', dateMode !== 'normal' ? `Date ${dateMode}` : '', audit ? 'audit' : ''].filter(Boolean).join(', ');
    this.note(`  sync${depth ? ' (follow-up)' : ''}${how ? ` (${how})` : ''} → ${r.outcome}${r.detail ? `: ${r.detail.slice(0, 300)}` : ''}${concurrent ? `; during it: ${happened.join('; ')}` : ''}`);
    const after = await tree(this.out, this.setup.profile === 'default');
    for (const p of after.keys()) this.everSeen.add(p);
    // Rejections of requests a failed run left in flight arrive a moment after it returned.
    // (After a run that exited 0 nothing should be in flight: a few turns of the event loop;
    // anything later is still caught at the next step's check.)
    await new Promise((res) => setTimeout(res, r.outcome === 'ok' ? 1 : 20));
    if (r.outcome === 'aborted' && !cli) {
      // What the binary does on SIGTERM / SIGINT, in process: an aborted run cleans up
      // before it returns; work it left running must not recreate staging afterwards.
      await new Promise((res) => setTimeout(res, 150));
      const left = await this.leftovers();
      if (left.length) {
        throw this.violation('leftover', `an aborted run (${r.detail}) left ${left.join(', ')} in .curate/`);
      }
    }
    if (this.unhandled.length) {
      const reason = this.unhandled.splice(0)[0];
      throw this.violation('unhandled', `after the run (${r.outcome}: ${r.detail.slice(0, 200)}) a promise rejected with nobody listening: ${describeError(reason).slice(0, 400)}`);
    }

    await this.checkHand();
    const fEnd = await this.oracle(this.sim.dataset, cfg, profile);
    const fStart = concurrent ? await this.oracle(snapshot!, cfg, profile) : fEnd;
    const handPaths = new Set([...this.hand.values()].map((h) => h.path));

    for (const [p, h] of before) {
      if (handPaths.has(p)) continue;
      if (fStart.tree.get(p) === h && fEnd.tree.get(p) === h && after.get(p) !== h) {
        throw this.violation('safety-delete', `${after.has(p) ? 'overwrote' : 'deleted'} ${p}, which the server state before and after the run both still want as it was (${r.outcome})`);
      }
    }
    if (!concurrent) {
      for (const [p, h] of after) {
        if (handPaths.has(p) || h === before.get(p) || h === fEnd.tree.get(p)) continue;
        throw this.violation('atomicity', `${p} holds bytes that are neither its old ones nor what a fresh sync writes (${r.outcome}; ${await this.firstDifference(p, fEnd)})`);
      }
    }
    if (r.outcome === 'threw' && !(r.error instanceof CurateError) && r.error !== undefined) {
      throw this.violation('internal', `the run failed with a non-curate error: ${r.detail}\n${(r.error as Error).stack ?? ''}`);
    }
    if (r.outcome === 'threw' && !cli && /internal error/i.test(r.detail)) throw this.violation('internal', r.detail);
    if (r.outcome === 'threw' && /would delete (\d+) of (\d+)/.test(r.detail)) {
      const owned = [...ownedBefore.values()].reduce((n, w) => n + w.files.length, 0);
      const real = [...ownedBefore].filter(([id]) => !fEnd.owned.has(id)).reduce((n, [, w]) => n + w.files.length, 0);
      if (owned > 0 && real / owned <= cfg.sync.deleteThreshold) {
        throw this.violation('brake', `the mass-delete brake refused (${r.detail}) though only ${real} of ${owned} owned files belong to work packages that left the synced set`);
      }
    }
    // A targeted run answers for its ids only.
    if (!opts.onlyIds) this.checkBlocked(r, fEnd, cli);
    if (r.outcome === 'threw' && /would delete|refusing to delete them all/.test(r.detail) && depth === 0) {
      // The operator confirms, as they would: the history goes on from the applied state.
      return this.sync({ m: 'sync', mass: true }, depth + 1);
    }
    if (r.outcome !== 'ok' || opts.onlyIds) return r;
    if (concurrent) return depth < 2 ? this.sync({ m: 'sync' }, depth + 1) : r;
    if (fEnd.outcome !== 'ok') throw this.violation('exit-status', `the incremental sync exited 0, a fresh sync of the same state ${fEnd.outcome === 'errors' ? 'reports errors' : 'fails'}: ${fEnd.detail.slice(0, 500)}`);
    if (cli && (this.auditDue || markAheadBefore)) {
      this.note(`  (not compared: ${this.auditDue ? 'a custom option was renamed' : 'a watermark may be in the server\'s future'} and this run cannot be told to audit)`);
      return r;
    }
    const actual = new Map([...after].filter(([p]) => !handPaths.has(p) || fEnd.tree.has(p)));
    const d = diffTrees(actual, fEnd.tree);
    if (d.missing.length || d.extra.length || d.different.length) {
      const show = (l: string[]): string => `${l.slice(0, 6).join(', ')}${l.length > 6 ? ` … (${l.length})` : ''}`;
      const first = d.different[0] ? `; first difference in ${d.different[0]}: ${await this.firstDifference(d.different[0], fEnd)}` : '';
      throw this.violation('compare', `after an incremental sync that exited 0 the tree differs from a fresh sync: missing [${show(d.missing)}], extra [${show(d.extra)}], different [${show(d.different)}]${first}`);
    }
    if (audit) this.auditDue = false;
    if (audit && !blind) this.markAhead = false;
    return r;
  }

  async step(s: Step): Promise<void> {
    this.stepNo += 1;
    const label = JSON.stringify(s);
    switch (s.m) {
      case 'sync':
        this.note(`${this.stepNo}. ${label}`);
        await this.sync(s);
        return;
      case 'serverTime':
        this.clock.ms += s.minutes * 60_000;
        this.note(`${this.stepNo}. server clock +${s.minutes} min`);
        return;
      case 'now':
        this.now = new Date(this.now.getTime() + s.days * DAY);
        this.note(`${this.stepNo}. --now ${this.now.toISOString()}`);
        return;
      case 'config':
        this.previous = this.currentState();
        this.note(`${this.stepNo}. config: ${this.editConfig(s.edit, s.src, s.v)}`);
        return;
      case 'date':
        if (s.once) this.dateOnce = s.mode;
        else this.dateMode = s.mode;
        this.note(`${this.stepNo}. server Date header ${s.mode}${s.once ? ' for the next sync' : ' from now on'}`);
        return;
      case 'backup':
        this.backups.set(s.slot, cloneDataset(this.sim.dataset));
        this.note(`${this.stepNo}. backup taken into slot ${s.slot}`);
        return;
      case 'restore': {
        const slot = this.backups.has(s.slot) ? s.slot : 0;
        restoreSnapshot(this.sim, this.backups.get(slot)!, { sequences: s.sequences ? 'restored' : 'kept' });
        // The option titles are the backup's now (one title per option, as in the database).
        for (let n = 0; n < OPTION_TITLES.length; n++) {
          for (const wp of this.sim.dataset.workPackages.values()) {
            const l = wp._links[`customField${LIST_FIELD.id}`] as { href?: Json; title?: Json } | undefined;
            if (l?.href === optionHref(n) && typeof l.title === 'string') {
              this.optionTitles[n] = l.title;
              break;
            }
          }
        }
        if (this.optionRenamed || this.outsideEdited) this.auditDue = true;
        this.clock.ms += 1000;
        this.note(`${this.stepNo}. server restored from the backup in slot ${slot}${s.sequences ? ' (with its id sequences)' : ''}`);
        return;
      }
      case 'watch': {
        const ids = this.ids();
        if (!ids.length) {
          this.note(`${this.stepNo}. watch: nothing to do`);
          return;
        }
        const id = ids[s.wp % ids.length]!;
        const edited = s.edit ? this.mutate({ m: 'edit', wp: s.wp, field: 'subject', v: s.wp % 100 }) : null;
        this.note(`${this.stepNo}. watch${edited ? ` after ${edited}` : ''}: targeted sync of #${id} with ${this.previous ? 'the config (and curate) before the last change' : 'the current config'}`);
        await this.sync({ m: 'sync' }, 0, { state: this.previous ?? this.currentState(), onlyIds: [id] });
        return;
      }
      case 'block':
        this.note(`${this.stepNo}. ${(await this.block(s.kind, s.v)) ?? 'block: nothing to do'}`);
        return;
      case 'unblock':
        this.note(`${this.stepNo}. ${(await this.unblock()) ?? 'unblock: nothing to do'}`);
        return;
      case 'upgrade':
        this.previous = this.currentState();
        this.upgrade = (this.upgrade + 1 + (s.v % 2)) % 3;
        this.note(`${this.stepNo}. curate ${this.upgrade ? `with mapping change ${this.upgrade}` : 'back to the stock mapping'}`);
        return;
      case 'hand':
        this.note(`${this.stepNo}. ${(await this.handWrite(s.slot, s.where, s.v)) ?? `hand ${s.where}: nothing to do`}`);
        return;
      case 'lose': {
        const handPaths = new Set([...this.hand.values()].map((h) => h.path));
        const files = [...(await tree(this.out)).keys()].filter((p) => !handPaths.has(p)).sort();
        const victim = files.length ? files[s.v % files.length]! : null;
        if (victim) await unlink(path.join(this.out, victim));
        this.note(`${this.stepNo}. ${victim ? `deleted ${victim} by hand` : 'lose: nothing to do'}`);
        return;
      }
      default:
        this.note(`${this.stepNo}. ${this.mutate(s) ?? `${s.m}: nothing to do`}`);
    }
  }

  /** At the end of a history: an undisturbed incremental sync must succeed wherever a fresh one does. */
  async settle(): Promise<void> {
    if (this.blocker) {
      this.stepNo += 1;
      this.note(`${this.stepNo}. before the final sync: ${(await this.unblock())!}`);
    }
    this.stepNo += 1;
    this.note(`${this.stepNo}. final sync`);
    const r = await this.sync({ m: 'sync' });
    if (r.outcome === 'ok' || r.outcome === 'threw') return;
    const cfg = await this.writeConfig();
    const fresh = await this.oracle(this.sim.dataset, cfg, this.profileFor(cfg, false));
    // A hand-written file blocks a path the fresh sync writes when it is that path, lies
    // under it (a folder stands there: found by fuzz:sync, seed 1422893148, a hand file
    // written inside a blocker's old folder), or stands where one of its folders belongs.
    const handPaths = [...this.hand.values()].map((h) => h.path);
    const blocked = [...fresh.tree.keys()].some((p) => handPaths.some((h) => h === p || h.startsWith(`${p}/`) || p.startsWith(`${h}/`)));
    if (fresh.outcome === 'ok' && !blocked) {
      // One more, in case the first only cleaned up after an interruption.
      const again = await this.sync({ m: 'sync' });
      if (again.outcome !== 'ok') throw this.violation('stuck', `two undisturbed incremental syncs fail (${again.detail.slice(0, 300)}) where a fresh sync of the same state succeeds`);
    }
  }
}

/** Run one history from an empty folder: an initial sync, the steps, a final sync; throws InvariantViolation. */
export async function runHistory(setup: Setup, steps: Step[], options: WorldOptions = {}): Promise<void> {
  const world = await World.create(setup, options);
  try {
    await world.step({ m: 'sync' });
    for (const s of steps) await world.step(s);
    await world.settle();
  } finally {
    await world.close();
  }
}
