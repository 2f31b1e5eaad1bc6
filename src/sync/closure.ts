// What a page shows besides its own work package's data, and how a run notices it changed
// (ARCHITECTURE.md, "A page's closure"). OpenProject renames projects, types, statuses,
// custom fields and users without touching any work package's updatedAt or lockVersion,
// so the changes walk never sees them; these digests are compared with the previous run's
// instead. Pure: the names come from requests the run makes anyway (projects, types,
// statuses), one bulk schemas request, and the author links of the id listing.
import { createHash } from 'node:crypto';
import type { WorkPackageQuery } from '../openproject/types.js';
import type { CustomFieldDef, WorkPackage } from '../types.js';
import type { ServerNames } from './resolve.js';

const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Digest of a work package as received: any attribute or link title it carries that
 * changes, changes it. Plain JSON.stringify: the normalized object's key order is curate's
 * (hal.ts builds it field by field), not the server's, and this runs for every row a walk
 * returns.
 */
export function rowDigest(wp: WorkPackage): string {
  return short(JSON.stringify(wp));
}

/** The `{projectId}-{typeId}` schemas whose custom fields a source's pages can show. */
export function schemaKeys(query: WorkPackageQuery, names: ServerNames): string[] {
  const projects = query.includeSubprojects || !query.projectIds?.length ? names.projects.map((p) => p.id) : query.projectIds;
  const types = query.typeIds?.length ? query.typeIds : names.types.map((t) => t.id);
  const out: string[] = [];
  for (const p of projects) for (const t of types) out.push(`${p}-${t}`);
  return out;
}

export type NameKind = 'projects' | 'types' | 'statuses' | 'fields';
const KIND_WORDS: Record<NameKind, string> = { projects: 'a project', types: 'a type', statuses: 'a status', fields: 'a custom field' };

/**
 * One digest per kind of name a source's pages can show. `fields` is absent when the
 * schemas could not be read (nothing is then known about field names this run).
 */
export function nameDigests(query: WorkPackageQuery, names: ServerNames, fields: ReadonlyMap<string, CustomFieldDef[]> | null): Record<string, string> {
  const pick = <T extends { id: number }>(all: readonly T[], ids: readonly number[] | undefined, wide = false): T[] =>
    (wide || !ids?.length ? [...all] : all.filter((x) => ids.includes(x.id))).sort((a, b) => a.id - b.id);
  const out: Record<string, string> = {
    projects: short(JSON.stringify(pick(names.projects, query.projectIds, query.includeSubprojects).map((p) => [p.id, p.identifier, p.name]))),
    types: short(JSON.stringify(pick(names.types, query.typeIds).map((t) => [t.id, t.name]))),
    statuses: short(JSON.stringify(pick(names.statuses, query.statusIds).map((s) => [s.id, s.name]))),
  };
  if (fields) {
    const shown: string[] = [];
    for (const key of schemaKeys(query, names))
      for (const d of fields.get(key) ?? []) shown.push(`${key}:${d.id}:${d.format}:${d.multiValue ? 1 : 0}:${d.name}`);
    out.fields = short(JSON.stringify(shown.sort()));
  }
  return out;
}

/** The kinds whose digest differs from the previous run's (a kind either run lacks is not compared). */
export function renamedKinds(previous: Record<string, string> | undefined, current: Record<string, string>): string[] {
  if (!previous) return [];
  return (Object.keys(KIND_WORDS) as NameKind[])
    .filter((k) => previous[k] !== undefined && current[k] !== undefined && previous[k] !== current[k])
    .map((k) => KIND_WORDS[k]);
}

/** Author user id → digest of the name, over the listed work packages (`IdListing.authors` values are `id\0name`). */
export function authorDigests(authors: ReadonlyMap<number, string>, ids: ReadonlySet<number> | readonly number[]): Record<string, string> {
  const out: Record<string, string> = {};
  // Tens of thousands of work packages, a few dozen authors: each distinct value hashed once.
  const seen = new Set<string>();
  ids.forEach((id) => {
    const a = authors.get(id);
    if (a === undefined || seen.has(a)) return;
    seen.add(a);
    const cut = a.indexOf('\u0000');
    out[a.slice(0, cut)] = short(a.slice(cut + 1)).slice(0, 8);
  });
  return out;
}

/** Work packages whose author's name changed since the previous run (only users both runs saw count). */
export function renamedAuthorsWorkPackages(
  previous: Record<string, string> | undefined,
  current: Record<string, string>,
  authors: ReadonlyMap<number, string>,
): Set<number> {
  const out = new Set<number>();
  if (!previous) return out;
  const renamed = new Set(Object.keys(current).filter((u) => previous[u] !== undefined && previous[u] !== current[u]));
  if (!renamed.size) return out;
  for (const [id, a] of authors) if (renamed.has(a.slice(0, a.indexOf('\u0000')))) out.add(id);
  return out;
}

/** How a page records the source that syncs a work package it links to: its name and fingerprint (path template, options). */
export const refKey = (name: string, fingerprint: string): string => `${name}@${fingerprint}`;
