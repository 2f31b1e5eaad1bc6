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
    insecureHttp: boolean;
    /** Which credential the environment provides; the secret itself stays in the environment. */
    credentials: 'apiKey' | 'token' | 'none';
  };
  outputRoot: string;
  sync: { deleteThreshold: number; overlapSeconds: number };
  profile: { name: string; options: Record<string, unknown> };
  sources: SourceSpec[];
  now: Date;
}

const SECRET_KEY = /^(api[-_]?key|apikey|token|password|secret|key)$/i;

/** Map "a.b.0.c" → 1-based line in a block-style YAML text (best effort). */
export function lineOf(text: string, dottedPath: string): number | null {
  const want = dottedPath.split('.').filter(Boolean);
  const stack: { indent: number; key: string }[] = [];
  const seqCount = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^(\s*)(- +)?([^\s#:'"][^:#]*?|'[^']*'|"[^"]*")\s*:(\s|$)/.exec(line);
    const item = /^(\s*)- /.exec(line);
    const indent = (m?.[1] ?? item?.[1] ?? '').length;
    while (stack.length && stack[stack.length - 1]!.indent >= indent + (item ? 0 : 0) && stack[stack.length - 1]!.indent >= indent) stack.pop();
    if (item) {
      const parent = stack.map((s) => s.key).join('.');
      const n = (seqCount.get(parent) ?? -1) + 1;
      seqCount.set(parent, n);
      stack.push({ indent, key: String(n) });
      const cur = stack.map((s) => s.key).join('.');
      if (cur === want.join('.')) return i + 1;
    }
    if (m) {
      const key = m[3]!.replace(/^['"]|['"]$/g, '');
      const keyIndent = item ? indent + item[0].length - item[1]!.length : indent;
      stack.push({ indent: keyIndent, key });
      const cur = stack.map((s) => s.key).join('.');
      if (cur === want.join('.')) return i + 1;
      if (want.join('.').startsWith(`${cur}.`) === false && !want.join('.').startsWith(cur)) {
        /* keep scanning */
      }
    }
  }
  return null;
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
  const where = (p: (string | number)[]): string => {
    const line = lineOf(text, p.join('.'));
    return line ? `${shown}:${line}` : shown;
  };
  const problems: string[] = [];
  // Secrets in the file are refused outright: they would end up in git.
  const op = (raw as { openproject?: Record<string, unknown> })?.openproject;
  if (op && typeof op === 'object') {
    for (const k of Object.keys(op)) {
      if (SECRET_KEY.test(k)) problems.push(`${where(['openproject', k])}: openproject.${k}: secrets never go in the config file; set OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) in the environment`);
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const p = issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s)) as (string | number)[];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          if (p.length === 1 && p[0] === 'openproject' && SECRET_KEY.test(key)) continue;
          const full = [...p, key].join('.');
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
  if (problems.length || !parsed.success) throw new ConfigError(`invalid configuration in ${shown}`, problems);
  const c = parsed.data;

  const url = env.OPENPROJECT_URL?.trim() || c.openproject.url;
  if (!url) throw new ConfigError(`no OpenProject URL: set openproject.url in ${shown} or OPENPROJECT_URL`);
  let now = new Date();
  if (options.overrides?.now !== undefined) {
    now = new Date(options.overrides.now);
    if (Number.isNaN(now.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(options.overrides.now)) {
      throw new ConfigError(`--now ${JSON.stringify(options.overrides.now)} is not an ISO-8601 date or datetime (e.g. 2021-02-19T00:00:00Z)`);
    }
  }
  const names = new Set<string>();
  const sourceProblems: string[] = [];
  c.sources.forEach((s, i) => {
    if (names.has(s.name)) sourceProblems.push(`${where(['sources', i, 'name'])}: sources.${i}.name: "${s.name}" is used by another source; names must be unique`);
    names.add(s.name);
    const clean = s.path.replace(/\/+$/, '');
    if (clean !== '') {
      const reason = unsafePathReason(clean);
      if (reason) sourceProblems.push(`${where(['sources', i, 'path'])}: sources.${i}.path: ${JSON.stringify(s.path)} ${reason}; it must be a folder inside the output root`);
    }
  });
  if (sourceProblems.length) throw new ConfigError(`invalid configuration in ${shown}`, sourceProblems);

  const credentials = env.OPENPROJECT_API_KEY?.trim() ? 'apiKey' : env.OPENPROJECT_TOKEN?.trim() ? 'token' : 'none';
  return {
    configPath,
    openproject: {
      url,
      pageSize: c.openproject.pageSize,
      concurrency: options.overrides?.concurrency ?? c.openproject.concurrency,
      timeoutMs: c.openproject.timeoutSeconds * 1000,
      retries: c.openproject.retries,
      maxAttachmentBytes: Math.round(c.openproject.maxAttachmentMB * 1024 * 1024),
      insecureHttp: options.overrides?.insecureHttp ?? c.openproject.insecureHttp,
      credentials,
    },
    outputRoot: options.overrides?.out ? path.resolve(cwd, options.overrides.out) : path.resolve(path.dirname(configPath), c.output.root),
    sync: c.sync,
    profile: { name: c.profile.name, options: c.profile.options },
    sources: c.sources.map((s) => ({ name: s.name, projects: s.projects, types: s.types, statuses: s.statuses, path: s.path.replace(/\/+$/, ''), options: s.options })),
    now,
  };
}
