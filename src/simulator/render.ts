// Rendering of the resources the dataset does not store verbatim: work package
// schemas (custom field names and types, README §3 and the injector table in §2),
// unpaginated collections and the work package's `_embedded` on a single GET.
import type { InstanceJson, JsonObject } from './types.js';

// custom_field_injector.rb: fieldFormat → schema type (multi-value fields get `[]`).
const SCHEMA_TYPE: Record<string, string> = {
  string: 'String',
  text: 'Formattable',
  link: 'Link',
  int: 'Integer',
  float: 'Float',
  bool: 'Boolean',
  date: 'Date',
  list: 'CustomOption',
  user: 'User',
  version: 'Version',
  // Newer servers: `hierarchy` and `weighted_item_list` link to hierarchy items, `department`
  // to groups, `calculated_value` is a computed scalar, `empty` a string.
  hierarchy: 'CustomField::Hierarchy::Item',
  weighted_item_list: 'CustomField::Hierarchy::Item',
  department: 'Group',
  calculated_value: 'CalculatedValue',
  empty: 'String',
};
/** Formats whose values the server renders under `_links` (custom_field_injector.rb LINK_FORMATS). */
export const LINKED_FORMATS = new Set(['list', 'user', 'version', 'hierarchy', 'weighted_item_list', 'department']);

const field = (type: string, name: string, required: boolean, writable: boolean, extra: JsonObject = {}): JsonObject => ({ type, name, required, hasDefault: false, writable, ...extra });

/**
 * Schema JSON per `{project}-{type}` key, cached; an admin edit of the instance (a custom
 * field renamed, a restore: hooks.ts) is seen because the cache is keyed by what a schema
 * is rendered from (the custom fields' names and formats, the key's field ids), and a miss
 * renders from the instance's field rows as they are now. (A lookup of field rows kept
 * across calls went stale when a rename that no request saw was undone by a restore: the
 * names' signature was the same again, but the kept rows were the renamed objects the
 * restore had replaced, so a schema first rendered afterwards, e.g. for a project/type pair
 * enabled by a new work package, showed the undone name; fuzz:sync seed 347077706.)
 */
export function schemaRenderer(instance: InstanceJson): (key: string) => JsonObject | null {
  let fieldsSig = '';
  const cache = new Map<string, { sig: string; schema: JsonObject }>();
  return (key) => {
    const sig = instance.customFields.map((f) => `${f.id}\u0000${f.name}\u0000${f.fieldFormat}\u0000${String(f.multiValue === true)}`).join('\u0001');
    if (sig !== fieldsSig) {
      fieldsSig = sig;
      cache.clear();
    }
    const ids = instance.schemas[key];
    if (!ids) return null;
    const idsSig = ids.join(',');
    const hit = cache.get(key);
    if (hit && hit.sig === idsSig) return hit.schema;
    const fieldById = new Map(instance.customFields.map((f) => [f.id, f]));
    const schema: JsonObject = {
      _type: 'Schema',
      _dependencies: [],
      lockVersion: field('Integer', 'Lock Version', true, false),
      id: field('Integer', 'ID', true, false),
      subject: field('String', 'Subject', true, true, { minLength: 1, maxLength: 255 }),
      description: field('Formattable', 'Description', false, true),
      startDate: field('Date', 'Start date', false, true),
      dueDate: field('Date', 'Finish date', false, true),
      createdAt: field('DateTime', 'Created on', true, false),
      updatedAt: field('DateTime', 'Updated on', true, false),
      author: field('User', 'Author', true, false, { location: '_links' }),
      project: field('Project', 'Project', true, true, { location: '_links' }),
      type: field('Type', 'Type', true, true, { location: '_links' }),
      status: field('Status', 'Status', true, true, { location: '_links' }),
    };
    for (const id of ids) {
      const f = fieldById.get(id);
      if (!f) continue;
      const base = SCHEMA_TYPE[f.fieldFormat] ?? 'String';
      schema[`customField${id}`] = field(f.multiValue ? `[]${base}` : base, f.name, false, true, LINKED_FORMATS.has(f.fieldFormat) ? { location: '_links' } : {});
    }
    schema._links = { self: { href: `/api/v3/work_packages/schemas/${key}` } };
    cache.set(key, { sig: idsSig, schema });
    return schema;
  };
}

/** An unpaginated Collection (types, statuses, attachments of a container, schemas). */
export function unpaginated(elements: unknown[], selfHref?: string): JsonObject {
  const c: Record<string, unknown> = { _type: 'Collection', total: elements.length, count: elements.length, _embedded: { elements } };
  if (selfHref !== undefined) c._links = { self: { href: selfHref } };
  return c as JsonObject;
}
