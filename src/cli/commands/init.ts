// `curate init`: ask the server what it has and write a commented curate.config.yaml
// that works on the first `curate sync`. Non-interactive with flags (or without a
// terminal); asks on a terminal for what the flags leave open.
//
// It picks what to publish, not everything: without a terminal (or with --yes) it never
// takes every type, only those whose names look like content (each proposal says which word
// made it), or exactly the --type names; types that usually hold internal work (Bug, Task,
// Milestone, Phase, …) come with a warning, and on a terminal with a question. It says which
// statuses will publish pages and which become drafts. Each answer at a prompt is checked as
// it is given ("newz" → did you mean "News"?), type names case-insensitively.
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../../errors.js';
import { camelCaseFieldName } from '../../mapping/text/camel.js';
import type { CustomFieldDef } from '../../types.js';
import { closestName } from '../../sync/suggest.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { Interrupted } from '../interrupt.js';
import type { Output } from '../output.js';
import { connectionFromFlags } from './connection.js';

export interface InitFlags {
  url?: string;
  out?: string;
  /** The old name of --out, kept as an alias. */
  output?: string;
  root?: string;
  project?: string[];
  type?: string[];
  profile?: string;
  force?: boolean;
  yes?: boolean;
  insecureHttp?: boolean;
}

const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar

/** Words in a type name that say "this is content readers see". */
const CONTENT_WORDS = /\b(news|articles?|blogs?|posts?|pages?|docs?|documentation|guides?|faqs?|announcements?|releases?|events?|stories|story|content|tutorials?|knowledge|help|wiki|publications?|press|case stud(?:y|ies)|infographics?|videos?|offerings?|ideas?|recognitions?|reports?|updates?|newsletters?|podcasts?)\b/i;
/** Words in a type name that say "this is internal work", checked first. */
const WORK_WORDS = /\b(bugs?|tasks?|sub-?tasks?|milestones?|phases?|epics?|features?|user stor(?:y|ies)|defects?|issues?|incidents?|risks?|change requests?|requirements?|tickets?)\b/i;

/** Why a type looks like internal work (the matched word), or null. */
export function workTypeReason(name: string): string | null {
  return WORK_WORDS.exec(name)?.[1] ?? null;
}

/** The types proposed when nobody chose: content-like names that are not work-like, each with the word that justified it. */
export function proposeTypes(types: readonly { name: string }[]): { name: string; because: string }[] {
  const out: { name: string; because: string }[] = [];
  for (const t of types) {
    if (workTypeReason(t.name) !== null) continue;
    const m = CONTENT_WORDS.exec(t.name);
    if (m) out.push({ name: t.name, because: m[1]! });
  }
  return out;
}

const PUBLISHED_NAMES = /^(published|publish|released|live|public|approved|closed|done)$/i;
const NOT_PUBLISHED = /reject|cancel|discard|duplicate|won.?t|invalid|obsolete/i;

/** Statuses that publish a page: the ones named like it, else the closed ones that are not rejections. */
export function proposePublishedStatuses(statuses: readonly { name: string; isClosed?: boolean }[]): string[] {
  const named = statuses.filter((s) => PUBLISHED_NAMES.test(s.name.trim())).map((s) => s.name);
  if (named.length > 0) return named;
  return statuses.filter((s) => s.isClosed === true && !NOT_PUBLISHED.test(s.name)).map((s) => s.name);
}

/** A name as the server spells it: exact, then case-insensitive, then by id. */
export function resolveName(answer: string, candidates: readonly { name: string; id?: number; identifier?: string }[]): string | null {
  const a = answer.trim();
  const exact = candidates.find((c) => c.name === a || c.identifier === a);
  if (exact) return exact.identifier ?? exact.name;
  const folded = candidates.filter((c) => c.name.toLowerCase() === a.toLowerCase() || c.identifier?.toLowerCase() === a.toLowerCase());
  if (folded.length === 1) return folded[0]!.identifier ?? folded[0]!.name;
  const byId = candidates.find((c) => c.id !== undefined && String(c.id) === a);
  return byId ? (byId.identifier ?? byId.name) : null;
}

export interface Prompter {
  ask(question: string): Promise<string>;
  say(line: string): void;
}

/**
 * One prompt for a comma-separated list of names, asked again until every name is known
 * (unknown ones get "did you mean …?"). `confirm` may veto a name (e.g. a work-like type).
 */
export async function askNames(
  p: Prompter,
  o: { question: string; what: string; candidates: readonly { name: string; id?: number; identifier?: string }[]; fallback: string[]; confirm?: (name: string) => Promise<boolean> },
): Promise<string[]> {
  const spellings = o.candidates.map((c) => c.identifier ?? c.name);
  for (;;) {
    const raw = (await p.ask(`${o.question} [${o.fallback.join(', ')}]: `)).trim();
    const names = (raw === '' ? o.fallback : raw.split(',')).map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) {
      p.say(`  choose at least one ${o.what}`);
      continue;
    }
    const chosen: string[] = [];
    const unknown: string[] = [];
    for (const n of names) {
      const r = resolveName(n, o.candidates);
      if (r === null) unknown.push(`  no ${o.what} ${q(n)}${closestName(n, spellings)}`);
      else if (!chosen.includes(r)) chosen.push(r);
    }
    if (unknown.length > 0) {
      for (const line of unknown) p.say(line);
      continue;
    }
    const kept: string[] = [];
    for (const n of chosen) if (!o.confirm || (await o.confirm(n))) kept.push(n);
    if (kept.length > 0) return kept;
    p.say(`  choose at least one ${o.what}`);
  }
}

export async function initCommand(flags: InitFlags, out: Output): Promise<number> {
  const target = path.resolve(flags.out ?? flags.output ?? 'curate.config.yaml');
  const exists = await access(target).then(
    () => true,
    () => false,
  );
  if (exists && !flags.force) throw new ConfigError(`${path.relative(process.cwd(), target)} already exists; pass --force to overwrite it`);
  const profile = flags.profile ?? 'default';
  if (profile !== 'default' && profile !== 'medigy') throw new ConfigError(`--profile must be "default" or "medigy", not ${q(profile)}`);
  const conn = await connectionFromFlags({ url: flags.url ?? process.env.OPENPROJECT_URL, insecureHttp: flags.insecureHttp, config: '/nonexistent/curate.config.yaml' });
  const interactive = !flags.yes && !!process.stdin.isTTY && !!process.stdout.isTTY;
  const client = clientFor(conn);
  try {
    const [projects, types, statuses] = await Promise.all([client.listProjects(), client.listTypes(), client.listStatuses()]);
    const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : null;
    // Ctrl-C (raw mode: a keystroke, not a signal) or Ctrl-D (end of input) at a prompt: stop, exit 130.
    const stop = new AbortController();
    rl?.on('SIGINT', () => stop.abort());
    rl?.on('close', () => stop.abort());
    const question = async (text: string): Promise<string> => {
      try {
        return await rl!.question(text, { signal: stop.signal });
      } catch (e) {
        if (!stop.signal.aborted) throw e;
        process.stdout.write('\n');
        throw new Interrupted('SIGINT');
      }
    };
    const prompter: Prompter | null = rl ? { ask: question, say: (line) => out.result(line) } : null;
    try {
      let projectIds = flags.project ?? [];
      if (!projectIds.length) {
        const all = projects.map((p) => p.identifier);
        if (prompter) {
          out.result(`Projects: ${all.join(', ')}`);
          projectIds = await askNames(prompter, { question: 'Projects to sync (comma-separated identifiers)', what: 'project', candidates: projects.map((p) => ({ name: p.name, id: p.id, identifier: p.identifier })), fallback: all });
        } else projectIds = all;
      }
      const warnWork = (name: string): string => `warning: type ${q(name)} usually holds internal work (${workTypeReason(name)}), not pages for readers`;
      let typeNames = flags.type ?? [];
      if (typeNames.length) {
        // Named on the command line: taken as asked (case-insensitively), with a warning for work-like types.
        typeNames = typeNames.map((name) => {
          const r = resolveName(name, types);
          if (r === null) throw new ConfigError(`no type ${q(name)} on ${conn.url}${closestName(name, types.map((x) => x.name))}`);
          if (workTypeReason(r) !== null) out.info(`${warnWork(r)}; included because --type names it`);
          return r;
        });
      } else {
        const proposed = proposeTypes(types);
        if (prompter) {
          out.result(`Types: ${types.map((t) => (workTypeReason(t.name) ? `${t.name} (internal work?)` : t.name)).join(', ')}`);
          typeNames = await askNames(prompter, {
            question: 'Work package types to publish (comma-separated)',
            what: 'type',
            candidates: types,
            fallback: proposed.map((t) => t.name),
            confirm: async (name) => {
              if (workTypeReason(name) === null) return true;
              out.result(`  ${warnWork(name)}`);
              return /^y(es)?$/i.test((await prompter.ask(`  Publish ${name} work packages anyway? [y/N]: `)).trim());
            },
          });
        } else {
          // Without a terminal nobody can confirm: never every type, only names that justify themselves.
          if (proposed.length === 0) {
            throw new ConfigError(
              `no type on ${conn.url} looks like content to publish; name the types with --type (e.g. --type ${q(types.find((t) => workTypeReason(t.name) === null)?.name ?? types[0]?.name ?? 'News')})`,
              [`types on the server: ${types.map((t) => t.name).join(', ')}`],
            );
          }
          for (const t of proposed) out.info(`proposing type ${q(t.name)} (its name says "${t.because}")`);
          const skipped = types.filter((t) => !proposed.some((p) => p.name === t.name)).map((t) => t.name);
          if (skipped.length) out.info(`not proposed: ${skipped.join(', ')} (add them with --type)`);
          typeNames = proposed.map((t) => t.name);
        }
      }
      let published = proposePublishedStatuses(statuses);
      if (prompter && profile === 'default') {
        out.result(`Statuses: ${statuses.map((s) => s.name).join(', ')}`);
        published = await askNames(prompter, { question: 'Statuses whose work packages are published (the others become drafts)', what: 'status', candidates: statuses, fallback: published });
      }
      if (profile === 'default') {
        const drafts = statuses.filter((s) => !published.includes(s.name)).map((s) => s.name);
        out.info(`published (draft: false): ${published.join(', ') || 'none'}; drafts: ${drafts.join(', ') || 'none'}`);
      }
      const chosenProjects = projectIds.map((id) => {
        const p = projects.find((x) => x.identifier === id || String(x.id) === id || x.name === id) ?? projects.find((x) => x.identifier.toLowerCase() === id.toLowerCase());
        if (!p) throw new ConfigError(`no project ${q(id)} on ${conn.url}${closestName(id, projects.map((x) => x.identifier))}`);
        return p;
      });
      const chosenTypes = typeNames.map((name) => {
        const r = resolveName(name, types);
        const t = types.find((x) => x.name === r);
        if (!t) throw new ConfigError(`no type ${q(name)} on ${conn.url}${closestName(name, types.map((x) => x.name))}`);
        return t;
      });
      const fields = new Map<number, CustomFieldDef>();
      for (const p of chosenProjects) {
        for (const t of chosenTypes) {
          try {
            for (const f of await client.getSchemaFields(p.id, t.id)) fields.set(f.id, f);
          } catch {
            /* no schema for this pair: the type is not enabled in that project */
          }
        }
      }
      const tagsField = [...fields.values()].find((f) => /topic|tag/i.test(f.name));
      const lines: string[] = [
        '# curate configuration, written by `curate init`.',
        `# Server: ${conn.url}. Secrets never go in this file: set OPENPROJECT_API_KEY`,
        '# (or OPENPROJECT_TOKEN) in the environment. OPENPROJECT_URL overrides `url`.',
        'openproject:',
        `  url: ${q(conn.url)}`,
        '  pageSize: 1000        # the server clamps it to its own limit (see `curate doctor`)',
        '  concurrency: 8',
        '  timeoutSeconds: 30',
        '  retries: 5',
        '  maxAttachmentMB: 50',
        'output:',
        `  root: ${q(flags.root ?? 'content')}   # relative to this file; --out overrides it`,
        'sync:',
        '  deleteThreshold: 0.2  # refuse to delete more than this share of synced files in one run',
        '  overlapSeconds: 300   # incremental syncs re-read this much before the last watermark',
        '  auditHours: 24        # walk every work package of a source at least this often',
        'profile:',
        `  name: ${profile}`,
        '  options:',
      ];
      if (profile === 'default') {
        lines.push(tagsField ? `    tagsField: ${q(tagsField.name)}   # custom field holding tags (JSON array or comma list)` : '    tagsField: null   # no custom field looked like tags; name one to fill `tags`');
        lines.push(`    publishedStatuses: [${published.map(q).join(', ')}]   # every other status is a draft (draft: true)`);
        lines.push(`    openprojectUrl: ${q(conn.url)}   # links to work packages that are not synced`);
        lines.push('    html: convert   # descriptions as markdown without HTML; `keep` for sites with unsafe HTML on');
      } else {
        lines.push('    {}   # the legacy Medigy tables are the defaults');
      }
      lines.push('# Custom fields of the chosen projects and types (property → name → frontmatter key):');
      for (const f of [...fields.values()].sort((a, b) => a.id - b.id)) lines.push(`#   customField${f.id}: ${f.name} (${f.format}) → ${camelCaseFieldName(f.name)}`);
      lines.push('sources:');
      for (const p of chosenProjects) {
        lines.push(`  - name: ${q(p.identifier)}`, `    projects: [${q(p.identifier)}]`, '    types:');
        for (const t of chosenTypes) lines.push(`      - ${q(t.name)}`);
        lines.push('    statuses: []   # [] = every status, open and closed', `    path: ${q(p.identifier)}`);
        if (profile === 'medigy') lines.push('    options: { variant: community }   # community | news | events');
      }
      await writeFile(target, `${lines.join('\n')}\n`, { flag: flags.force ? 'w' : 'wx' });
      out.info(`wrote ${path.relative(process.cwd(), target)}: ${chosenProjects.length} source(s), ${chosenTypes.length} type(s), ${fields.size} custom field(s)`);
      out.info('next: `curate doctor`, then `curate sync --dry-run`, then `curate sync`');
      return EXIT.OK;
    } finally {
      rl?.close();
    }
  } finally {
    await client.close();
  }
}
