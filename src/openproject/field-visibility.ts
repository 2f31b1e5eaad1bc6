// Custom fields a profile is configured to read (e.g. the default profile's `tagsField`) that
// the key cannot see. OpenProject leaves a field out of a work package and its schema
// entirely when it is not enabled for that project and type, or when it is admin-only and the
// key's user is not an administrator — so without this check a configured field silently
// writes nothing. `doctor`, `fields` and `sync` report it with the same words.
import type { CustomFieldDef, NamedRef, Project, SourceSpec } from '../types.js';

/** A custom field named in the configuration, and the option that names it. */
export interface ConfiguredField {
  name: string;
  option: string;
}

export interface InvisibleField {
  field: ConfiguredField;
  project: string;
  type: string;
}

export const WHY_INVISIBLE = "it is not enabled for that project and type, it is admin-only (visible to administrators only) and this key is not an administrator's, or the name is misspelt";

export function describeInvisible(p: InvisibleField): string {
  return `custom field "${p.field.name}" (${p.field.option}) is not visible to this key for ${p.project} × ${p.type}: ${WHY_INVISIBLE}; its value is not written`;
}

/** The configured fields missing from one project × type's schema fields. */
export function invisibleIn(configured: readonly ConfiguredField[], fields: readonly CustomFieldDef[], project: string, type: string): InvisibleField[] {
  const names = new Set(fields.map((f) => f.name));
  return configured.filter((c) => !names.has(c.name)).map((field) => ({ field, project, type }));
}

/**
 * Every source's project × type pairs checked against their schemas. `fieldsOf` answers a
 * pair's custom fields, or null when the pair has no schema (it holds no work packages to
 * map): a sync passes the schemas it has just read, `doctor` asks the server.
 */
export async function invisibleFields(
  configured: readonly ConfiguredField[],
  sources: readonly SourceSpec[],
  names: { projects: readonly Project[]; types: readonly NamedRef[] },
  fieldsOf: (projectId: number, typeId: number) => CustomFieldDef[] | null | Promise<CustomFieldDef[] | null>,
): Promise<InvisibleField[]> {
  if (configured.length === 0) return [];
  const out: InvisibleField[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    for (const p of s.projects) {
      const project = names.projects.find((x) => x.identifier === p || String(x.id) === p || x.name === p);
      for (const t of s.types) {
        const type = names.types.find((x) => x.name === t);
        if (!project || !type || seen.has(`${project.id}-${type.id}`)) continue;
        seen.add(`${project.id}-${type.id}`);
        const fields = await fieldsOf(project.id, type.id);
        if (fields !== null) out.push(...invisibleIn(configured, fields, project.identifier, type.name));
      }
    }
  }
  return out;
}
