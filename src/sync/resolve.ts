// Names in the config (projects, types, statuses) → the server's ids, with closest-name
// suggestions; and the check that no two sources can match the same work package.
import { ConfigError } from '../errors.js';
import type { OpenProjectClient, WorkPackageQuery } from '../openproject/types.js';
import type { CustomFieldDef, NamedRef, Project, SourceSpec } from '../types.js';
import { schemaKeys } from './closure.js';
import { closestName } from './suggest.js';

export interface ServerNames {
  projects: Project[];
  types: NamedRef[];
  statuses: (NamedRef & { isClosed: boolean })[];
}

export async function fetchServerNames(client: OpenProjectClient): Promise<ServerNames> {
  const [projects, types, statuses] = await Promise.all([client.listProjects(), client.listTypes(), client.listStatuses()]);
  return { projects, types, statuses };
}

export const findProject = (projects: readonly Project[], key: string): Project | undefined =>
  projects.find((x) => x.identifier === key || String(x.id) === key || x.name === key);
export const findByName = <T extends NamedRef>(list: readonly T[], name: string): T | undefined => list.find((x) => x.name === name);

/**
 * Each source's query, or a ConfigError listing every name the server does not have
 * (`doctor` and `fields`, which check the whole config at once).
 */
export function resolveQueries(names: ServerNames, sources: readonly SourceSpec[]): WorkPackageQuery[] {
  const { queries, problems } = resolveSources(names, sources);
  if (problems.some((p) => p.length)) throw unresolvedConfig(problems);
  return queries as WorkPackageQuery[];
}

/** The ConfigError for names the server does not have, every source's problems listed. */
export const unresolvedConfig = (problems: readonly string[][]): ConfigError =>
  new ConfigError('the configuration names things the server does not have', problems.flat());

/**
 * Each source's query, or (null and) the names of it the server does not have. A sync
 * skips such a source as that source's error and syncs the others: one archived or no
 * longer visible project must not stop every source. Sources that can match one work
 * package are a ConfigError (each run would move it between them).
 */
export function resolveSources(names: ServerNames, sources: readonly SourceSpec[]): { queries: (WorkPackageQuery | null)[]; problems: string[][] } {
  const problems: string[][] = sources.map(() => []);
  const queries = sources.map((spec, i): WorkPackageQuery | null => {
    const mine = problems[i]!;
    const projectIds = spec.projects.map((p) => {
      const hit = findProject(names.projects, p);
      if (!hit) mine.push(`sources.${i}.projects: no project "${p}" on the server${closestName(p, names.projects.map((x) => x.identifier))}`);
      return hit?.id ?? -1;
    });
    const typeIds = spec.types.map((t) => {
      const hit = findByName(names.types, t);
      if (!hit) mine.push(`sources.${i}.types: no type "${t}" on the server${closestName(t, names.types.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    const statusIds = spec.statuses.map((s) => {
      const hit = findByName(names.statuses, s);
      if (!hit) mine.push(`sources.${i}.statuses: no status "${s}" on the server${closestName(s, names.statuses.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    if (mine.length) return null;
    return { projectIds, typeIds, statusIds, ...(spec.includeSubprojects !== undefined ? { includeSubprojects: spec.includeSubprojects } : {}) };
  });
  const overlaps = overlappingSources(sources, queries);
  if (overlaps.length) throw new ConfigError('two sources can match the same work package (each run would move it between them)', overlaps);
  return { queries, problems };
}

/**
 * Pairs of sources whose filters intersect: a project, a type and a status in common (an
 * empty status list means every status). Subprojects are not known here; a work package
 * that two sources still both receive is an item error at run time.
 */
export function overlappingSources(sources: readonly SourceSpec[], queries: readonly (WorkPackageQuery | null)[]): string[] {
  const meets = (a: number[] | undefined, b: number[] | undefined): boolean => !a?.length || !b?.length || a.some((x) => b.includes(x));
  const out: string[] = [];
  for (let i = 0; i < queries.length; i++) {
    for (let j = i + 1; j < queries.length; j++) {
      const a = queries[i];
      const b = queries[j];
      if (a && b && meets(a.projectIds, b.projectIds) && meets(a.typeIds, b.typeIds) && meets(a.statusIds, b.statusIds)) {
        out.push(
          `sources.${j}: source "${sources[j]!.name}" matches work packages that source "${sources[i]!.name}" (sources.${i}) matches too; give them different projects, types or statuses`,
        );
      }
    }
  }
  return out;
}

/** A source skipped because the server lacks names it asks for: what happened and what to do. */
export function unresolvedMessage(name: string, problems: readonly string[]): string {
  return `source "${name}" was not synced: ${problems.join('; ')}. A project the server no longer lists is archived, deleted or not visible to this key (not a member, or without "view work packages"); a type or status may have been renamed or deleted. Its files stay as they are; fix the config or the server, or remove the source from the config to delete them`;
}

/**
 * The custom fields of every schema the sources' pages can show, in bulk (one request per
 * 100 schemas), for noticing a renamed field. Null when the server refuses (then nothing
 * is known about field names this run, which is said once).
 */
export async function readSchemaFields(
  client: OpenProjectClient,
  sources: readonly { query: WorkPackageQuery }[],
  names: ServerNames,
  warn: (m: string) => void,
  isAborted: () => boolean,
): Promise<Map<string, CustomFieldDef[]> | null> {
  const keys = [...new Set(sources.flatMap((s) => schemaKeys(s.query, names)))];
  if (!keys.length) return new Map();
  try {
    return await client.listSchemaFields(keys);
  } catch (e) {
    if (isAborted()) throw e;
    warn(
      `the work package schemas could not be read in bulk, so a renamed custom field is noticed only when its work packages change or by the next audit: ${(e as Error).message}`,
    );
    return null;
  }
}
