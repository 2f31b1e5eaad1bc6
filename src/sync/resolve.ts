// Names in the config (projects, types, statuses) → the server's ids, with closest-name
// suggestions; and the check that no two sources can match the same work package.
import { ConfigError } from '../errors.js';
import type { OpenProjectClient, WorkPackageQuery } from '../openproject/types.js';
import type { NamedRef, Project, SourceSpec } from '../types.js';
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

export const findProject = (projects: readonly Project[], key: string): Project | undefined => projects.find((x) => x.identifier === key || String(x.id) === key || x.name === key);
export const findByName = <T extends NamedRef>(list: readonly T[], name: string): T | undefined => list.find((x) => x.name === name);

/** Each source's query, or a ConfigError listing every name the server does not have. */
export function resolveQueries(names: ServerNames, sources: readonly SourceSpec[]): WorkPackageQuery[] {
  const problems: string[] = [];
  const queries = sources.map((spec, i) => {
    const projectIds = spec.projects.map((p) => {
      const hit = findProject(names.projects, p);
      if (!hit) problems.push(`sources.${i}.projects: no project "${p}" on the server${closestName(p, names.projects.map((x) => x.identifier))}`);
      return hit?.id ?? -1;
    });
    const typeIds = spec.types.map((t) => {
      const hit = findByName(names.types, t);
      if (!hit) problems.push(`sources.${i}.types: no type "${t}" on the server${closestName(t, names.types.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    const statusIds = spec.statuses.map((s) => {
      const hit = findByName(names.statuses, s);
      if (!hit) problems.push(`sources.${i}.statuses: no status "${s}" on the server${closestName(s, names.statuses.map((x) => x.name))}`);
      return hit?.id ?? -1;
    });
    return { projectIds, typeIds, statusIds, ...(spec.includeSubprojects !== undefined ? { includeSubprojects: spec.includeSubprojects } : {}) };
  });
  if (problems.length) throw new ConfigError('the configuration names things the server does not have', problems);
  const overlaps = overlappingSources(sources, queries);
  if (overlaps.length) throw new ConfigError('two sources can match the same work package (each run would move it between them)', overlaps);
  return queries;
}

/**
 * Pairs of sources whose filters intersect: a project, a type and a status in common (an
 * empty status list means every status). Subprojects are not known here; a work package
 * that two sources still both receive is an item error at run time.
 */
export function overlappingSources(sources: readonly SourceSpec[], queries: readonly WorkPackageQuery[]): string[] {
  const meets = (a: number[] | undefined, b: number[] | undefined): boolean => !a?.length || !b?.length || a.some((x) => b.includes(x));
  const out: string[] = [];
  for (let i = 0; i < queries.length; i++) {
    for (let j = i + 1; j < queries.length; j++) {
      const a = queries[i]!;
      const b = queries[j]!;
      if (meets(a.projectIds, b.projectIds) && meets(a.typeIds, b.typeIds) && meets(a.statusIds, b.statusIds)) {
        out.push(`sources.${j}: source "${sources[j]!.name}" matches work packages that source "${sources[i]!.name}" (sources.${i}) matches too; give them different projects, types or statuses`);
      }
    }
  }
  return out;
}
