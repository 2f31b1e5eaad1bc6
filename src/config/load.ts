// The only place that reads configuration from disk and the environment:
// defaults < file < environment < flags, validated at once with every problem listed
// as `file:line: path: message`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from '../errors.js';
import { unsafePathReason } from '../output/paths.js';
import { closestName } from '../sync/suggest.js';
import type { SourceSpec } from '../types.js';
import { configSchema, KNOWN_KEYS } from './schema.js';

export interface ConfigOverrides {
  /** --out DIR: output root (relative to cwd). */
  out?: string;
  /** --now ISO */
  now?: string;
  insecureHttp?: boolean;
  concurrency?: number;
}

export interface ResolvedConfig {
  configPath: string;
  openproject: {
    url: string;
    pageSize: number;
    concurrency: number;
    timeoutMs: number;
    retries: number;
    maxAttachmentBytes: number;
    /** Overrides of the download deadline's parts; absent = the client's default. */
    downloadDeadline?: { minSeconds?: number; secondsPerMiB?: number };
    insecureHttp: boolean;
    /** Which credential the environment provides; the secret itself stays in the environment. */
    credentials: 'apiKey' | 'token' | 'none';
  };
  outputRoot: string;
  sync: { deleteThreshold: number; overlapSeconds: number; auditHours: number };
  profile: { name: string; options: Record<string, unknown> };
  sources: SourceSpec[];
  now: Date;
}

const SECRET_KEY = /^(api[-_]?key|apikey|token|password|secret|key)$/i;

/**
 * Map "a.b.0.c" to its 1-based line in a block-style YAML text, or null. A cheap indentation
 * scan (js-yaml gives no node positions): keys and `- ` items push onto a stack, a line pops
 * every entry indented at or beyond it. Flow collections (`[a, b]`, `{k: v}`) are not entered;
 * callers fall back to the nearest ancestor.
 */
export function lineOf(text: string, dottedPath: string): number | null {
  const want = dottedPath.split('.').filter(Boolean).join('.');
  const stack: { indent: number; key: string }[] = [];
  const seqCount = new Map<string, number>();
  const lines = text.split('\n');
  const current = (): string => stack.map((s) => s.key).join('.');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const item = /^(\s*)- +/.exec(line);
    const indent = (item?.[1] ?? /^\s*/.exec(line)![0]).length;
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    if (item) {
      const parent = current();
      const n = (seqCount.get(parent) ?? -1) + 1;
      seqCount.set(parent, n);
      stack.push({ indent, key: String(n) });
      if (current() === want) return i + 1;
    }
    // A key after the `- ` of an item is indented like the item's other keys.
    const rest = item ? line.slice(item[0].length) : line.trimStart();
    const m = /^([^\s#:'"][^:#]*?|'[^']*'|"[^"]*")\s*:(\s|$)/.exec(rest);
    if (m) {
      const key = m[1]!.replace(/^['"]|['"]$/g, '');
      stack.push({ indent: item ? item[0].length : indent, key });
      if (current() === want) return i + 1;
    }
  }
  return null;
}

/** Why `url` cannot be an OpenProject base URL, or null. Never echoes credentials. */
function checkUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `scheme ${u.protocol} is not http(s)`;
  if (u.username || u.password) return 'credentials in the URL are not allowed; set OPENPROJECT_API_KEY or OPENPROJECT_TOKEN instead';
  return null;
}

/** --now: an ISO-8601 date or date-time whose calendar date exists (2021-02-30 is refused, not rolled over). */
export function parseNow(value: string): Date {
  const bad = (): ConfigError => new ConfigError(`--now ${JSON.stringify(value)} is not an ISO-8601 date or datetime (e.g. 2021-02-19T00:00:00Z)`);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (!m) throw bad();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) throw bad();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw bad();
  return date;
}

/**
 * A source's folder as written in the config, normalised: `./` in front and `/` at the end
 * dropped (`./news/`, `news/` and `news` are one folder). Pure.
 */
export function normalizeSourcePath(folder: string): string {
  return folder.replace(/^(\.\/+)+/, '').replace(/\/+$/, '');
}

/**
 * Where two source folders name one place in different spellings: the first segment of
 * their common prefix that differs only in letter case (or Unicode normalisation), or null.
 * `News` and `news` are one folder on macOS and Windows and one URL in Hugo (it lower-cases
 * paths), but two folders in a Linux checkout and two paths to curate's manifest. Pure.
 */
export function caseClash(a: string, b: string): [string, string] | null {
  const as = a.split('/').filter(Boolean);
  const bs = b.split('/').filter(Boolean);
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    const fold = (s: string): string => s.normalize('NFC').toLowerCase();
    return fold(x) === fold(y) ? [as.slice(0, i + 1).join('/'), bs.slice(0, i + 1).join('/')] : null;
  }
  return null;
}

/**
 * Rules across fields (unique source names, paths inside the output root, paths that differ
 * only in letter case), read from the raw document so they are reported together with the
 * schema's problems, not one round later.
 */
function crossFieldProblems(raw: unknown, where: (p: (string | number)[]) => string): string[] {
  const sources = (raw as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(sources)) return [];
  const problems: string[] = [];
  const names = new Map<string, number>();
  /** Normalised folders of the sources seen so far (index, folder). */
  const folders: [number, string][] = [];
  sources.forEach((s: unknown, i) => {
    if (!s || typeof s !== 'object') return;
    const { name, path: folder } = s as { name?: unknown; path?: unknown };
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined) problems.push(`${where(['sources', i, 'name'])}: sources.${i}.name: "${name}" is already the name of sources.${first}; names must be unique`);
      else names.set(name, i);
    }
    if (typeof folder === 'string') {
      const clean = normalizeSourcePath(folder);
      const reason = clean === '' ? null : unsafePathReason(clean);
      if (reason) problems.push(`${where(['sources', i, 'path'])}: sources.${i}.path: ${JSON.stringify(folder)} ${reason}; it must be a relative folder inside the output root`);
      else {
        for (const [j, other] of folders) {
          const clash = caseClash(other, clean);
          if (!clash) continue;
          const label = (k: number): string => {
            const n = (sources[k] as { name?: unknown }).name;
            return typeof n === 'string' ? `source "${n}" (sources.${k}.path ${JSON.stringify((sources[k] as { path: string }).path)})` : `sources.${k}.path ${JSON.stringify((sources[k] as { path: string }).path)}`;
          };
          problems.push(
            `${where(['sources', i, 'path'])}: sources.${i}.path: ${label(i)} and ${label(j)} name one folder in different letter case ("${clash[1]}" vs "${clash[0]}"): one folder on macOS and Windows and one URL in Hugo, but two to curate and git; spell them alike`,
          );
          break;
        }
        folders.push([i, clean]);
      }
    }
  });
  return problems;
}

function knownKeysFor(p: (string | number)[]): string[] {
  const key = p.map((s) => (typeof s === 'number' ? '*' : s)).join('.');
  return KNOWN_KEYS[key] ?? [];
}

export async function loadConfig(options: { configPath?: string; cwd?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigOverrides }): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const configPath = path.resolve(cwd, options.configPath ?? 'curate.config.yaml');
  const shown = path.relative(cwd, configPath) || configPath;
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `no configuration file at ${shown}; create one with \`curate init\`, or pass --config FILE` : `cannot read ${shown}: ${(e as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: shown }) ?? {};
  } catch (e) {
    const err = e as { mark?: { line: number }; reason?: string; message: string };
    throw new ConfigError(`${shown} is not valid YAML`, [`${shown}:${(err.mark?.line ?? 0) + 1}: ${err.reason ?? err.message}`]);
  }
  // A key that is missing (or inside a flow mapping) has no line of its own: point at the
  // nearest ancestor that has one, so the reader still lands in the right block.
  const where = (p: (string | number)[]): string => {
    for (let n = p.length; n > 0; n--) {
      const line = lineOf(text, p.slice(0, n).join('.'));
      if (line) return `${shown}:${line}`;
    }
    return shown;
  };
  const problems: string[] = [];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const p = issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s)) as (string | number)[];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const full = [...p, key].join('.');
          // Secrets in the file are refused with their own message: they would end up in git.
          if (SECRET_KEY.test(key)) {
            problems.push(`${where([...p, key])}: ${full}: secrets never go in the config file; set OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) in the environment`);
            continue;
          }
          problems.push(`${where([...p, key])}: ${full}: unknown key${closestName(key, knownKeysFor(p))}`);
        }
        continue;
      }
      const dotted = p.join('.') || '(top level)';
      let message = issue.message;
      if (issue.code === 'invalid_type') message = `expected ${issue.expected}${/received|got/.test(issue.message) ? issue.message.replace(/^.*?(received|got)/, ', got') : ''}`;
      problems.push(`${where(p)}: ${dotted}: ${message}`);
    }
  }
  problems.push(...crossFieldProblems(raw, where));
  const fromEnv = env.OPENPROJECT_URL?.trim();
  const fileUrl = parsed.success ? parsed.data.openproject.url : undefined;
  const urlProblem = fromEnv ? checkUrl(fromEnv) : fileUrl ? checkUrl(fileUrl) : null;
  if (urlProblem) problems.push(`${fromEnv ? 'OPENPROJECT_URL' : `${where(['openproject', 'url'])}: openproject.url`}: ${urlProblem} (expected e.g. https://openproject.example.com)`);
  if (problems.length || !parsed.success) throw new ConfigError(`invalid configuration in ${shown}`, problems);
  const c = parsed.data;
  const url = fromEnv || c.openproject.url;
  if (!url) throw new ConfigError(`no OpenProject URL: set openproject.url in ${shown} or the OPENPROJECT_URL environment variable`);
  const now = options.overrides?.now === undefined ? new Date() : parseNow(options.overrides.now);

  const credentials = env.OPENPROJECT_API_KEY?.trim() ? 'apiKey' : env.OPENPROJECT_TOKEN_FILE?.trim() || env.OPENPROJECT_TOKEN?.trim() ? 'token' : 'none';
  return {
    configPath,
    openproject: {
      url,
      pageSize: c.openproject.pageSize,
      concurrency: options.overrides?.concurrency ?? c.openproject.concurrency,
      timeoutMs: c.openproject.timeoutSeconds * 1000,
      retries: c.openproject.retries,
      maxAttachmentBytes: Math.round(c.openproject.maxAttachmentMB * 1024 * 1024),
      ...(c.openproject.downloadDeadline ? { downloadDeadline: c.openproject.downloadDeadline } : {}),
      insecureHttp: options.overrides?.insecureHttp ?? c.openproject.insecureHttp,
      credentials,
    },
    outputRoot: options.overrides?.out ? path.resolve(cwd, options.overrides.out) : path.resolve(path.dirname(configPath), c.output.root),
    sync: c.sync,
    profile: { name: c.profile.name, options: c.profile.options },
    sources: c.sources.map((s) => ({ name: s.name, projects: s.projects, types: s.types, statuses: s.statuses, path: normalizeSourcePath(s.path), options: s.options, ...(s.includeSubprojects ? { includeSubprojects: true } : {}) })),
    now,
  };
}
