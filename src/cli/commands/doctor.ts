// `curate doctor`: every check a first sync depends on, each ✓ or ✗ with what to do.
import { existsSync } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type ResolvedConfig } from '../../config/load.js';
import { loadProfile } from '../../mapping/profiles/load.js';
import { findByName, findProject, resolveQueries } from '../../sync/resolve.js';
import { ConfigError } from '../../errors.js';
import { closestName } from '../../sync/suggest.js';
import { invisibleFields, WHY_INVISIBLE, type WorkPackageQuery } from '../../openproject/index.js';
import type { CustomFieldDef, Profile } from '../../types.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';

interface Check {
  ok: boolean;
  label: string;
  detail?: string;
}

export async function doctorCommand(flags: { config?: string; insecureHttp?: boolean }, out: Output): Promise<number> {
  const checks: Check[] = [];
  const report = (c: Check): void => {
    checks.push(c);
    if (!out.flags.json) out.result(`${c.ok ? '✓' : '✗'} ${c.label}${c.detail ? `: ${c.detail}` : ''}`);
  };
  let config: ResolvedConfig;
  let profile: Profile;
  try {
    config = await loadConfig({ configPath: flags.config, overrides: { insecureHttp: flags.insecureHttp } });
    report({ ok: true, label: 'configuration', detail: path.relative(process.cwd(), config.configPath) || config.configPath });
    profile = await loadProfile(config.profile.name, config.profile.options);
    const problems = config.sources.flatMap((s, i) => profile.checkSource?.(s, i) ?? []);
    report({ ok: problems.length === 0, label: `profile "${config.profile.name}"`, detail: problems.join('; ') || undefined });
  } catch (e) {
    report({ ok: false, label: 'configuration', detail: (e as Error).message });
    return finish(checks, out);
  }
  report({ ok: config.openproject.credentials !== 'none', label: 'credentials', detail: config.openproject.credentials === 'none' ? 'neither OPENPROJECT_API_KEY nor OPENPROJECT_TOKEN is set' : `${config.openproject.credentials === 'apiKey' ? 'OPENPROJECT_API_KEY' : 'OPENPROJECT_TOKEN'} is set` });
  const url = new URL(config.openproject.url);
  report({ ok: url.protocol === 'https:' || /^(localhost|127\.|\[::1\])/.test(url.hostname) || config.openproject.insecureHttp, label: 'transport', detail: url.protocol === 'https:' ? 'https (certificates verified)' : `plain http to ${url.host}` });

  let client;
  try {
    client = clientFor({ ...config.openproject, retries: 1 });
  } catch (e) {
    report({ ok: false, label: 'OpenProject URL', detail: (e as Error).message });
    return finish(checks, out);
  }
  try {
    const projects = await client.listProjects();
    report({ ok: true, label: `reachable and authenticated at ${url.origin}`, detail: `${projects.length} projects visible` });
    const [types, statuses] = await Promise.all([client.listTypes(), client.listStatuses()]);
    // The same resolution (and overlap check) as `curate sync`, so doctor passes exactly
    // when a sync would get past resolving.
    let problems: string[] = [];
    let queries: WorkPackageQuery[] | null = null;
    try {
      queries = resolveQueries({ projects, types, statuses }, config.sources);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems = e.problems;
    }
    for (const [i, s] of config.sources.entries()) {
      const mine = problems.filter((p) => p.startsWith(`sources.${i}.`)).map((p) => p.replace(/^sources\.\d+\.\w+: /, ''));
      if (mine.length) {
        // Archived projects and projects the key's user is not a member of are not listed.
        const hint = problems.some((p) => p.startsWith(`sources.${i}.projects:`)) ? ' (an existing project is missing from the list when it is archived or not visible to this key)' : '';
        report({ ok: false, label: `source "${s.name}"`, detail: `${mine.join('; ')}${hint}` });
        continue;
      }
      const shape = `${s.projects.length} project(s) × ${s.types.length} type(s)`;
      if (!queries) {
        report({ ok: true, label: `source "${s.name}"`, detail: shape });
        continue;
      }
      // The query a sync sends, counted: a real server refuses a filter value it will not
      // show this key with 400 InvalidQuery, which the client explains.
      try {
        report({ ok: true, label: `source "${s.name}"`, detail: `${shape}: ${await client.countWorkPackages(queries[i]!)} work package(s)` });
      } catch (e) {
        report({ ok: false, label: `source "${s.name}"`, detail: (e as Error).message });
      }
    }
    const fieldNames = expectedFieldNames(config);
    const configured = profile.configuredFields?.() ?? [];
    if (configured.length) {
      // The same check a sync makes, with every schema asked for: a configured field the key
      // cannot see (not on that project and type, or admin-only) would silently write nothing.
      const c = client;
      const schemaFields = async (projectId: number, typeId: number): Promise<CustomFieldDef[] | null> => {
        try {
          return await c.getSchemaFields(projectId, typeId);
        } catch {
          return null; // a project/type pair without a schema holds no work packages
        }
      };
      const invisible = await invisibleFields(configured, config.sources, { projects, types }, schemaFields);
      const where = (n: string): string => invisible.filter((i) => i.field.name === n).map((i) => `${i.project} × ${i.type}`).join(', ');
      const names = [...new Set(invisible.map((i) => i.field.name))];
      report({
        ok: invisible.length === 0,
        label: 'custom fields',
        detail: invisible.length
          ? `not visible to this key: ${names.map((n) => `"${n}" (${configured.find((c) => c.name === n)!.option}) for ${where(n)}`).join('; ')} — ${WHY_INVISIBLE}`
          : configured.map((c) => `"${c.name}"`).join(', '),
      });
    } else if (fieldNames.length) {
      const seen = new Set<string>();
      for (const s of config.sources) {
        for (const p of s.projects) {
          const project = findProject(projects, p);
          for (const t of s.types) {
            const type = findByName(types, t);
            if (!project || !type) continue;
            try {
              for (const f of await client.getSchemaFields(project.id, type.id)) seen.add(f.name);
            } catch {
              /* a project/type pair without a schema has no fields */
            }
          }
        }
      }
      const missing = fieldNames.filter((n) => !seen.has(n));
      report({ ok: missing.length === 0, label: 'custom fields', detail: missing.length ? `not found: ${missing.map((m) => `"${m}"${closestName(m, [...seen])}`).join(', ')}` : fieldNames.map((n) => `"${n}"`).join(', ') });
    }
    const max = await client.maxPageSize();
    report({ ok: true, label: 'server page-size limit', detail: `${max} work packages per request${max < config.openproject.pageSize ? ` (below openproject.pageSize ${config.openproject.pageSize}; the server's limit applies)` : ''}` });
  } catch (e) {
    report({ ok: false, label: `OpenProject at ${url.origin}`, detail: (e as Error).message });
  } finally {
    await client.close();
  }
  // Checked without creating anything: a doctor that makes folders changes what it examines.
  try {
    let existing = config.outputRoot;
    while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    await access(existing, constants.W_OK);
    if (existing !== config.outputRoot && !(await stat(existing)).isDirectory()) throw new Error(`${existing} is not a folder`);
    report({ ok: true, label: 'output root writable', detail: existing === config.outputRoot ? config.outputRoot : `${config.outputRoot} (does not exist yet; the first sync creates it in ${existing})` });
  } catch (e) {
    report({ ok: false, label: 'output root writable', detail: `${config.outputRoot}: ${(e as Error).message}` });
  }
  return finish(checks, out);
}

/** Fields of a profile that does not declare `configuredFields` (medigy: its legacy field names). */
function expectedFieldNames(config: ResolvedConfig): string[] {
  if (config.profile.name === 'medigy') {
    const f = (config.profile.options.fields ?? {}) as Record<string, string>;
    return [f.cleanUrl ?? 'Clean URL', f.sourceUrl ?? 'Source URL', f.topics ?? 'Medigy Topics'];
  }
  return [];
}

function finish(checks: Check[], out: Output): number {
  const ok = checks.every((c) => c.ok);
  if (out.flags.json) process.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  else out.result(ok ? 'All checks passed.' : `${checks.filter((c) => !c.ok).length} check(s) failed.`);
  return ok ? EXIT.OK : EXIT.ERROR;
}
