// `curate fields --project P --type T`: the custom fields of a project and type, with
// their ids, formats and the frontmatter key curate maps them to.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import { camelCaseFieldName } from '../../mapping/text/camel.js';
import { findByName, findProject } from '../../sync/resolve.js';
import { closestName } from '../../sync/suggest.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { VERSION } from '../version.js';
import type { Output } from '../output.js';
import { connectionFromFlags, type ConnectionFlags } from './connection.js';
import { describeInvisible, invisibleIn, type InvisibleField } from '../../openproject/index.js';
import { loadConfig } from '../../config/load.js';
import { loadProfile } from '../../mapping/profiles/load.js';
import type { CustomFieldDef } from '../../types.js';

/** The config's configured custom fields (when there is a config) missing from these fields. */
async function configuredInvisible(configFlag: string | undefined, fields: readonly CustomFieldDef[], project: string, type: string): Promise<InvisibleField[]> {
  const configPath = path.resolve(configFlag ?? 'curate.config.yaml');
  if (!existsSync(configPath)) return [];
  const config = await loadConfig({ configPath });
  const profile = await loadProfile(config.profile.name, config.profile.options);
  return invisibleIn(profile.configuredFields?.() ?? [], fields, project, type);
}

export async function fieldsCommand(flags: ConnectionFlags & { project: string; type: string }, out: Output): Promise<number> {
  const conn = await connectionFromFlags(flags);
  const client = clientFor(conn);
  try {
    const [projects, types] = await Promise.all([client.listProjects(), client.listTypes()]);
    const project = findProject(projects, flags.project);
    if (!project) throw new ConfigError(`no project "${flags.project}"${closestName(flags.project, projects.map((p) => p.identifier))}`);
    // Like `curate init`, any case: "article" finds "Article".
    const wanted = flags.type.trim().toLowerCase();
    const type = findByName(types, flags.type) ?? types.find((t) => t.name.toLowerCase() === wanted) ?? types.find((t) => String(t.id) === flags.type.trim());
    if (!type) throw new ConfigError(`no type "${flags.type}"${closestName(flags.type, types.map((t) => t.name))}`);
    const fields = (await client.getSchemaFields(project.id, type.id)).sort((a, b) => a.id - b.id);
    if (out.flags.json) {
      // The same first members as every --json document (README, "JSON output").
      const doc = { version: VERSION, exitCode: EXIT.OK, project: project.identifier, type: type.name, fields: fields.map((f) => ({ ...f, property: `customField${f.id}`, key: camelCaseFieldName(f.name) })) };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return EXIT.OK;
    }
    out.result(`Custom fields of ${project.identifier} (${project.name}) × ${type.name}:`);
    const rows = fields.map((f) => [`customField${f.id}`, f.name, f.format + (f.multiValue ? '[]' : ''), camelCaseFieldName(f.name)]);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['property', 'name', 'format'][i]!.length));
    out.result(`  ${'property'.padEnd(widths[0]!)}  ${'name'.padEnd(widths[1]!)}  ${'format'.padEnd(widths[2]!)}  key`);
    for (const r of rows) out.result(`  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`);
    if (!rows.length) out.result('  (none)');
    // Fields the config's profile reads that this project × type does not show this key.
    for (const p of await configuredInvisible(flags.config, fields, project.identifier, type.name)) out.error(`warning: ${describeInvisible(p)}`);
    return EXIT.OK;
  } finally {
    await client.close();
  }
}
