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
//               fails where a fresh one succeeds.
// The oracle ("fresh sync") runs on a second simulator serving a frozen copy of the data.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { CurateError } from '../../src/errors.js';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { DEFAULT_TYPES } from '../../src/mapping/profiles/medigy-options.js';
import { createOpenProjectClient } from '../../src/openproject/index.js';
import { cloneDataset, createWorkPackage, moveWorkPackage, replaceAttachment, requestHooks, setCustomField, setStatus, type RequestHooks } from '../../src/simulator/hooks.js';
import { startSimulator, type Dataset, type FaultSpec, type Json, type Simulator } from '../../src/simulator/index.js';
import { runSync } from '../../src/sync/index.js';
import type { Profile, SourceSpec } from '../../src/types.js';
import { BIN, diffTrees, LEGACY_NOW, medigyConfig, treeHashes } from './env.js';
import type { ConfigEdit, Mutation, Setup, Step, SyncStep } from './model-steps.js';
import { freshFixtureDataset, TEST_KEY } from './sync-harness.js';

export type ViolationKind = 'compare' | 'exit-status' | 'safety-delete' | 'safety-hand' | 'atomicity' | 'brake' | 'internal' | 'unhandled' | 'signal' | 'leftover' | 'stuck';

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

function profileOptions(profile: Setup['profile'], choice: Record<string, number>): Record<string, Json> {
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
  if (changed('aliasPrefix') || changed('eventRow')) {
    const types = structuredClone(DEFAULT_TYPES) as unknown as Record<string, Record<string, Json>>;
    types['Curated Content']!.aliasPrefix = value('aliasPrefix');
    types['Curated Event']!.event = value('eventRow');
    out.types = types as unknown as Json;
  }
  if (changed('cleanUrl')) out.fields = { cleanUrl: value('cleanUrl') };
  if (changed('featuredImagePrefix')) out.attachments = { featuredImagePrefix: value('featuredImagePrefix') };
  return out;
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
  let out: Map<string, string>;
  try {
    out = await treeHashes(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  if (!rememberedAliases) return out;
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
    const m = JSON.parse(await readFile(path.join(dir, '.curate', 'manifest.json'), 'utf8')) as { workPackages: Record<string, { source: string; files: Record<string, string> }> };
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
 */
async function scratch(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(path.join(base, prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface WorldOptions {
  /** Progress lines (steps, outcomes). */
  log?: (line: string) => void;
}

export class World {
  private readonly hooks: RequestHooks;
  private readonly out: string;
  private readonly configPath: string;
  private now = LEGACY_NOW;
  private upgrade = 0;
  private readonly hand = new Map<number, { path: string; sha: string }>();
  private readonly everSeen = new Set<string>();
  private readonly oracleCache = new Map<string, Promise<Fresh>>();
  private readonly journal: string[] = [];
  private choice: Record<string, number> = {};
  private sources: SourceSpec[];
  private overlap: number | null = null;
  private pageSize = 1000;
  private stepNo = 0;
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
    process.on('unhandledRejection', this.onUnhandled);
  }

  static async create(setup: Setup, options: WorldOptions = {}): Promise<World> {
    const clock = { ms: Date.parse('2021-03-01T00:00:00Z') };
    const sim = await startSimulator({ dataset: await freshFixtureDataset(), apiKey: TEST_KEY, maxPageSize: setup.maxPageSize, downloads: setup.downloads, clock: () => new Date(clock.ms), seed: 7 });
    const base = setup.profile === 'medigy' ? (await medigyConfig()).sources : DEFAULT_PROFILE_SOURCES;
    return new World(setup, sim, clock, await scratch('curate-model-'), base, options);
  }

  async close(): Promise<void> {
    process.off('unhandledRejection', this.onUnhandled);
    await this.sim.close();
    for (const f of await Promise.all(this.oracleCache.values()).catch(() => [])) await rm(f.dir, { recursive: true, force: true });
    await this.work.cleanup();
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

  /** Apply one server edit; returns what it did, or null when there was nothing to apply it to. */
  mutate(mut: Mutation): string | null {
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
            setCustomField(sim, id, 'Clean URL', url);
            return `#${id} Clean URL = ${JSON.stringify(url)}`;
          }
          case 'topics': {
            const topics = ['["Telehealth","AI"]', '[]', null, '["Cancer #1"]', '["x"]', 'not json'][v % 6]!;
            setCustomField(sim, id, 'Medigy Topics', topics);
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
            setCustomField(sim, id, 'Event Cancelled', v % 2 === 0);
            return `#${id} Event Cancelled = ${v % 2 === 0}`;
        }
        return null;
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
    }
  }

  private configSources(): SourceSpec[] {
    const out = structuredClone(this.sources);
    if (this.overlap !== null) {
      const b = this.sources.find((s) => s.name === this.base[this.overlap!]!.name)!;
      out.push({ ...structuredClone(b), name: `${b.name}-copy`, path: `${b.path}-copy` });
    }
    return out;
  }

  private async writeConfig(): Promise<ResolvedConfig> {
    const file = {
      openproject: { url: 'http://127.0.0.1:9', pageSize: this.pageSize },
      output: { root: 'site' },
      profile: { name: this.setup.profile, options: profileOptions(this.setup.profile, this.choice) },
      sources: this.configSources(),
    };
    await writeFile(this.configPath, yaml.dump(file, { noRefs: true }));
    return loadConfig({ configPath: this.configPath, env: { OPENPROJECT_URL: this.sim.url, OPENPROJECT_API_KEY: TEST_KEY }, overrides: { out: this.out, now: this.now.toISOString() } });
  }

  /** The profile a run uses: the real one, or (after an `upgrade` step, in process only) one with another mapping version. */
  private profileFor(cfg: ResolvedConfig, cli: boolean): Profile {
    const real = createProfile(cfg.profile.name, cfg.profile.options);
    if (cli || this.upgrade === 0) return real;
    const mark = `\n<!-- mapping ${this.upgrade} -->\n`;
    return {
      ...real,
      version: `${real.version}+fuzz${this.upgrade}`,
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
      const vacated = [...this.everSeen].filter((p) => !current.has(p) && !handPaths.has(p) && !owned.has(p)).sort();
      if (!vacated.length) return null;
      rel = vacated[v % vacated.length]!;
    }
    if (handPaths.has(rel) || current.has(rel)) return null;
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

  private async runInProcess(step: SyncStep, cfg: ResolvedConfig, profile: Profile): Promise<Outcome> {
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
        full: step.full,
        allowMassDelete: step.mass,
        deleteThreshold: cfg.sync.deleteThreshold,
        overlapSeconds: cfg.sync.overlapSeconds,
        concurrency: step.conc ?? 8,
        signal: ac.signal,
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
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, OPENPROJECT_URL: this.sim.url, OPENPROJECT_API_KEY: TEST_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    let timer: NodeJS.Timeout | undefined;
    let signalled: { at: number; signal: 'SIGTERM' | 'SIGINT' } | null = null;
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
    const sent = signalled as { at: number; signal: 'SIGTERM' | 'SIGINT' } | null;
    if (sent) {
      const took = Date.now() - sent.at;
      const want = sent.signal === 'SIGTERM' ? 143 : 130;
      if (code !== want) throw this.violation('signal', `${sent.signal} during the run: the binary ended with ${code === null ? `signal ${String(signal)}` : `exit ${code}`}, not ${want}`);
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

  /** A fresh sync of `data` into an empty folder, on a simulator of its own (cached per state). */
  private oracle(data: Dataset, cfg: ResolvedConfig, profile: Profile): Promise<Fresh> {
    const h = createHash('sha256');
    for (const id of [...data.workPackages.keys()].sort((a, b) => a - b)) h.update(JSON.stringify(data.workPackages.get(id)));
    for (const id of [...data.attachments.keys()].sort((a, b) => a - b)) h.update(JSON.stringify(data.attachments.get(id)!.meta));
    h.update(JSON.stringify({ sources: cfg.sources, options: cfg.profile.options, version: profile.version, now: this.now.toISOString() }));
    const key = h.digest('hex');
    let hit = this.oracleCache.get(key);
    if (!hit) {
      hit = this.freshSync(cloneDataset(data), cfg, profile);
      this.oracleCache.set(key, hit);
    }
    return hit;
  }

  private async freshSync(data: Dataset, cfg: ResolvedConfig, profile: Profile): Promise<Fresh> {
    const sim = await startSimulator({ dataset: data, apiKey: TEST_KEY, clock: () => new Date(this.clock.ms) });
    const { dir } = await scratch('curate-fresh-');
    const client = this.client(1000, 8, sim.url);
    let result: Outcome;
    try {
      const report = await runSync({ outputRoot: dir, sources: cfg.sources, profile, client, now: this.now, deleteThreshold: cfg.sync.deleteThreshold, overlapSeconds: cfg.sync.overlapSeconds });
      await report.dispose();
      result = report.errors.length ? { outcome: 'errors', detail: report.errors.map((e) => e.message).join(' | ') } : { outcome: 'ok', detail: '' };
    } catch (e) {
      result = { outcome: 'threw', detail: describeError(e), error: e };
    } finally {
      await client.close();
      await sim.close();
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
  async sync(step: SyncStep, depth = 0): Promise<Outcome> {
    const before = await tree(this.out, this.setup.profile === 'default');
    const ownedBefore = await ownedIn(this.out);
    const snapshot = step.during?.length ? cloneDataset(this.sim.dataset) : null;
    let cfg: ResolvedConfig;
    try {
      cfg = await this.writeConfig();
    } catch (e) {
      this.note(`  sync: config refused: ${describeError(e)}`);
      return { outcome: 'threw', detail: describeError(e), error: e };
    }
    const cli = step.cli !== undefined;
    const profile = this.profileFor(cfg, cli);
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
    const r = cli ? await this.runCli(step) : await this.runInProcess(step, cfg, profile);
    this.sim.clearFaults();
    this.hooks.clear();
    const concurrent = happened.length > 0;
    this.note(`  sync${depth ? ' (follow-up)' : ''} → ${r.outcome}${r.detail ? `: ${r.detail.slice(0, 300)}` : ''}${concurrent ? `; during it: ${happened.join('; ')}` : ''}`);
    const after = await tree(this.out, this.setup.profile === 'default');
    for (const p of after.keys()) this.everSeen.add(p);
    // Rejections of requests a failed run left in flight arrive a moment after it returned.
    await new Promise((res) => setTimeout(res, 20));
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
    if (r.outcome === 'threw' && /would delete|refusing to delete them all/.test(r.detail) && depth === 0) {
      // The operator confirms, as they would: the history goes on from the applied state.
      return this.sync({ m: 'sync', mass: true }, depth + 1);
    }
    if (r.outcome !== 'ok') return r;
    if (concurrent) return depth < 2 ? this.sync({ m: 'sync' }, depth + 1) : r;
    if (fEnd.outcome !== 'ok') throw this.violation('exit-status', `the incremental sync exited 0, a fresh sync of the same state ${fEnd.outcome === 'errors' ? 'reports errors' : 'fails'}: ${fEnd.detail.slice(0, 500)}`);
    const actual = new Map([...after].filter(([p]) => !handPaths.has(p) || fEnd.tree.has(p)));
    const d = diffTrees(actual, fEnd.tree);
    if (d.missing.length || d.extra.length || d.different.length) {
      const show = (l: string[]): string => `${l.slice(0, 6).join(', ')}${l.length > 6 ? ` … (${l.length})` : ''}`;
      const first = d.different[0] ? `; first difference in ${d.different[0]}: ${await this.firstDifference(d.different[0], fEnd)}` : '';
      throw this.violation('compare', `after an incremental sync that exited 0 the tree differs from a fresh sync: missing [${show(d.missing)}], extra [${show(d.extra)}], different [${show(d.different)}]${first}`);
    }
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
        this.note(`${this.stepNo}. config: ${this.editConfig(s.edit, s.src, s.v)}`);
        return;
      case 'upgrade':
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
    this.stepNo += 1;
    this.note(`${this.stepNo}. final sync`);
    const r = await this.sync({ m: 'sync' });
    if (r.outcome === 'ok' || r.outcome === 'threw') return;
    const cfg = await this.writeConfig();
    const fresh = await this.oracle(this.sim.dataset, cfg, this.profileFor(cfg, false));
    const handPaths = new Set([...this.hand.values()].map((h) => h.path));
    const blocked = [...fresh.tree.keys()].some((p) => handPaths.has(p));
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
