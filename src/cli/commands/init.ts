// `curate init`: ask the server what it has and write a commented curate.config.yaml
// that works on the first `curate sync`. Non-interactive with flags (or without a
// terminal); asks on a terminal for what the flags leave open.
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
    const [projects, types] = await Promise.all([client.listProjects(), client.listTypes()]);
    const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : null;
    // Ctrl-C (raw mode: a keystroke, not a signal) or Ctrl-D (end of input) at a prompt: stop, exit 130.
    const stop = new AbortController();
    rl?.on('SIGINT', () => stop.abort());
    rl?.on('close', () => stop.abort());
    const ask = async (question: string, fallback: string): Promise<string> => {
      if (!rl) return fallback;
      try {
        return (await rl.question(`${question} [${fallback}]: `, { signal: stop.signal })).trim() || fallback;
      } catch (e) {
        if (!stop.signal.aborted) throw e;
        process.stdout.write('\n');
        throw new Interrupted('SIGINT');
      }
    };
    try {
      let projectIds = flags.project ?? [];
      if (!projectIds.length) {
        if (rl) out.result(`Projects: ${projects.map((p) => p.identifier).join(', ')}`);
        projectIds = (await ask('Projects to sync (comma-separated identifiers)', projects.map((p) => p.identifier).join(','))).split(',').map((s) => s.trim()).filter(Boolean);
      }
      let typeNames = flags.type ?? [];
      if (!typeNames.length) {
        if (rl) out.result(`Types: ${types.map((t) => t.name).join(', ')}`);
        typeNames = (await ask('Work package types to sync (comma-separated)', types.map((t) => t.name).join(','))).split(',').map((s) => s.trim()).filter(Boolean);
      }
      const chosenProjects = projectIds.map((id) => {
        const p = projects.find((x) => x.identifier === id || String(x.id) === id || x.name === id);
        if (!p) throw new ConfigError(`no project ${q(id)} on ${conn.url}${closestName(id, projects.map((x) => x.identifier))}`);
        return p;
      });
      const chosenTypes = typeNames.map((name) => {
        const t = types.find((x) => x.name === name || String(x.id) === name);
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
        'profile:',
        `  name: ${profile}`,
        '  options:',
      ];
      if (profile === 'default') {
        lines.push(tagsField ? `    tagsField: ${q(tagsField.name)}   # custom field holding tags (JSON array or comma list)` : '    tagsField: null   # no custom field looked like tags; name one to fill `tags`');
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
