// zod schemas for the HAL fields curate reads, and their normalisation into the domain
// types of src/types.ts. Everything coming from the server passes through here, so a
// malformed payload fails with a PayloadError naming the item and the field, e.g.
// `work package #42: field "_links.type.href" expected string, got number`.
import * as z from '../zod.js';
import { PayloadError } from '../errors.js';
import type { Attachment, CustomFieldDef, CustomFieldEntry, CustomFieldFormat, CustomFieldValue, LinkValue, NamedRef, Project, WorkPackage } from '../types.js';

// Unknown keys are kept (loose): servers add properties between versions, and custom
// fields are read from the untouched JSON to keep their order.
const link = z.looseObject({ href: z.string().nullable().optional(), title: z.string().nullable().optional() });
const requiredLink = z.looseObject({ href: z.string(), title: z.string().nullable().optional() });
const formattable = z.looseObject({ raw: z.string().nullable().optional() });

const workPackageSchema = z.looseObject({
  _type: z.literal('WorkPackage'),
  id: z.number().int().positive(),
  lockVersion: z.number().int().optional(),
  subject: z.string(),
  description: formattable.nullable().optional(),
  startDate: z.string().nullable().optional(),
  dueDate: z.string().nullable().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  _links: z.looseObject({
    type: requiredLink,
    status: requiredLink,
    project: requiredLink,
    author: link.optional(),
  }),
});

const attachmentSchema = z.looseObject({
  _type: z.literal('Attachment'),
  id: z.number().int().positive(),
  fileName: z.string().min(1),
  // The OpenAPI examples spell it `filesize`; the real representer says `fileSize`.
  fileSize: z.number().int().nonnegative().optional(),
  filesize: z.number().int().nonnegative().optional(),
  contentType: z.string().nullable().optional(),
  digest: z.looseObject({ algorithm: z.string(), hash: z.string().nullable() }).nullable().optional(),
  createdAt: z.string().optional(),
  status: z.enum(['uploaded', 'scanned', 'prepared', 'quarantined', 'rescan']).optional(),
  _links: z.looseObject({
    container: link.optional(),
    downloadLocation: link.optional(),
    staticDownloadLocation: link.optional(),
  }),
});

const projectSchema = z.looseObject({ id: z.number().int().positive(), identifier: z.string(), name: z.string() });
const typeSchema = z.looseObject({ id: z.number().int().positive(), name: z.string() });
const statusSchema = z.looseObject({ id: z.number().int().positive(), name: z.string(), isClosed: z.boolean().optional() });

/** A collection as the list endpoints render it. `total` is absent on none of them, but only paged lists need it. */
const collectionSchema = z.looseObject({
  total: z.number().int().nonnegative().optional(),
  pageSize: z.number().int().optional(),
  _embedded: z.looseObject({
    // Checked by parseCollection: z.array copies the array and wraps each element to check
    // it (a page of 1,000 ids was ~64 KB of garbage, 2.5 MB in a no-change run at 30,000).
    elements: z.unknown().optional(),
    schemas: z.looseObject({ _embedded: z.looseObject({ elements: z.array(z.unknown()) }).optional() }).optional(),
  }),
  _links: z.looseObject({ nextByOffset: link.optional() }).optional(),
});

export interface ParsedCollection {
  total: number | null;
  pageSize: number | null;
  elements: unknown[];
  schemas: unknown[];
  next: string | null;
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const key of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** One zod issue → the field's dotted path and a short, secret-free detail. */
export function describeIssue(issue: z.$ZodIssue, data: unknown): { field: string; detail: string } {
  const field = issue.path.map(String).join('.') || '(root)';
  const actual = valueAt(data, issue.path);
  if (issue.code === 'invalid_type') return { field, detail: `expected ${issue.expected}, got ${kindOf(actual)}` };
  const shown = actual === undefined ? 'nothing' : JSON.stringify(actual)?.slice(0, 60);
  return { field, detail: `${issue.message.replace(/^Invalid input: /, '')} (got ${shown})` };
}

function parseOrThrow<T>(schema: z.ZodType<T>, data: unknown, item: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const { field, detail } = describeIssue(r.error.issues[0]!, data);
  throw new PayloadError(item, field, detail);
}

function idOf(json: unknown): number | '?' {
  const id = json && typeof json === 'object' ? (json as { id?: unknown }).id : undefined;
  return typeof id === 'number' ? id : '?';
}

/** `/api/v3/types/7` → 7 */
export function idFromHref(href: string | null | undefined, item: string, field: string): number {
  const m = href ? /\/(\d+)\/?(?:\?.*)?$/.exec(href) : null;
  if (!m) throw new PayloadError(item, field, `expected a resource link ending in an id, got ${JSON.stringify(href)}`);
  return Number(m[1]);
}

/** Schema `type` → curate's format (README §2/§3; `[]X` = multi-value X). */
const FORMATS: Record<string, CustomFieldFormat> = {
  String: 'string',
  Formattable: 'text',
  Link: 'link',
  Url: 'link',
  Integer: 'int',
  Float: 'float',
  Boolean: 'bool',
  Date: 'date',
  CustomOption: 'list',
  User: 'user',
  Version: 'version',
  // Newer servers (custom_field_injector.rb TYPE_MAP): `hierarchy` and `weighted_item_list`
  // both render as hierarchy item links, `department` as group links, `calculated_value` as
  // a computed scalar, `empty` as a string.
  'CustomField::Hierarchy::Item': 'hierarchy',
  Group: 'group',
  CalculatedValue: 'calculated',
};

export function formatFromSchemaType(type: string): { format: CustomFieldFormat; multiValue: boolean } {
  const multiValue = type.startsWith('[]');
  return { format: FORMATS[multiValue ? type.slice(2) : type] ?? 'unknown', multiValue };
}

/** Custom field definitions of one work package schema (embedded or from the schema endpoint). */
export function fieldDefsFromSchema(schema: unknown): CustomFieldDef[] {
  if (!schema || typeof schema !== 'object') return [];
  const defs: CustomFieldDef[] = [];
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const m = /^customField(\d+)$/.exec(key);
    if (!m || !value || typeof value !== 'object') continue;
    const v = value as { type?: unknown; name?: unknown };
    defs.push({
      id: Number(m[1]),
      name: typeof v.name === 'string' && v.name ? v.name : key,
      ...formatFromSchemaType(typeof v.type === 'string' ? v.type : ''),
    });
  }
  return defs;
}

/** The `{projectId}-{typeId}` key of a schema's self link or a work package's schema link. */
export function schemaKeyFromHref(href: string | null | undefined): string | null {
  const m = href ? /\/schemas\/(\d+-\d+)\/?$/.exec(href) : null;
  return m ? m[1]! : null;
}

function linkValue(v: unknown, item: string, field: string): LinkValue {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new PayloadError(item, field, `expected a link object, got ${kindOf(v)}`);
  const l = v as { href?: unknown; title?: unknown };
  if (l.href !== undefined && l.href !== null && typeof l.href !== 'string') throw new PayloadError(item, `${field}.href`, `expected string, got ${kindOf(l.href)}`);
  if (l.title !== undefined && l.title !== null && typeof l.title !== 'string') throw new PayloadError(item, `${field}.title`, `expected string, got ${kindOf(l.title)}`);
  return { href: typeof l.href === 'string' ? l.href : null, title: typeof l.title === 'string' ? l.title : null };
}

const SCALAR_TYPE: Partial<Record<CustomFieldFormat, 'string' | 'number' | 'boolean'>> = {
  string: 'string',
  link: 'string',
  date: 'string',
  int: 'number',
  float: 'number',
  bool: 'boolean',
};

/** A top-level `customField<N>` value: scalars as given, Formattable → its `raw`. */
function scalarValue(item: string, def: CustomFieldDef, key: string, raw: unknown): CustomFieldValue {
  if (raw === null) return null;
  if (typeof raw === 'object' && !Array.isArray(raw) && 'raw' in raw) {
    const r = (raw as { raw?: unknown }).raw;
    if (r === null || r === undefined) return null;
    if (typeof r !== 'string') throw new PayloadError(item, `${key}.raw`, `expected string, got ${kindOf(r)}`);
    return r;
  }
  // Known formats must carry their JSON type; an unresolved field may carry any scalar.
  const expected = def.format === 'text' ? 'string' : SCALAR_TYPE[def.format];
  if (expected ? typeof raw === expected : typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw as string | number | boolean;
  const want = def.format === 'text' ? 'a Formattable' : (expected ?? 'a scalar');
  throw new PayloadError(item, key, `expected ${want} (custom field "${def.name}", ${def.format}), got ${kindOf(raw)}`);
}

function customFieldKey(key: string): number | null {
  const m = /^customField(\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * Normalise a work package. Custom fields are listed in the order the JSON document
 * carries their keys (those under `_links` where `_links` sits) and only
 * when present (MAPPING.md §5.4: absent = not set, null = set to nothing).
 *
 * `defs` is the work package's OWN schema: a field it does not define is dropped. A
 * collection page renders the union of the custom fields of every work package on the page
 * (OpenProject's work_package_collection_representer.rb / custom field injector:
 * `represented.map(&:available_custom_fields).flatten.uniq`), `null` where a work package
 * lacks one; keeping those would make the output depend on which work packages share a
 * page. `null` = no schema known (a payload without a schema link): every field is kept,
 * unresolved ones named `customField<N>`.
 */
export function normalizeWorkPackage(json: unknown, defs: ReadonlyMap<number, CustomFieldDef> | null): WorkPackage {
  const item = `work package #${idOf(json)}`;
  const wp = parseOrThrow(workPackageSchema, json, item);
  const customFields: CustomFieldEntry[] = [];
  const seen = new Set<number>();
  const def = (n: number, key: string): CustomFieldDef => defs?.get(n) ?? { id: n, name: key, format: 'unknown', multiValue: false };
  const foreign = (n: number): boolean => defs !== null && !defs.has(n);
  const scalar = (key: string, raw: unknown): void => {
    const n = customFieldKey(key);
    if (n === null || seen.has(n) || foreign(n)) return;
    seen.add(n);
    const d = def(n, key);
    customFields.push({ field: d, value: scalarValue(item, d, key, raw) });
  };
  // list/user/version fields live under _links (README §2): {href,title} or arrays of them.
  const linked = (key: string, raw: unknown): void => {
    const n = customFieldKey(key);
    if (n === null || seen.has(n) || foreign(n)) return;
    seen.add(n);
    const field = `_links.${key}`;
    const value = raw === null ? null : Array.isArray(raw) ? raw.map((v, i) => linkValue(v, item, `${field}.${i}`)) : linkValue(raw, item, field);
    customFields.push({ field: def(n, key), value });
  };
  // Walk the JSON as sent (not zod's output, which may reorder keys): `_links`' custom
  // fields take the place where `_links` sits in the document.
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (key === '_links') for (const [lk, lraw] of Object.entries(raw as Record<string, unknown>)) linked(lk, lraw);
    else scalar(key, raw);
  }
  const links = wp._links;
  return {
    id: wp.id,
    lockVersion: wp.lockVersion ?? 0,
    subject: wp.subject,
    description: wp.description?.raw ?? '',
    createdAt: wp.createdAt,
    updatedAt: wp.updatedAt,
    startDate: wp.startDate ?? null,
    dueDate: wp.dueDate ?? null,
    type: { id: idFromHref(links.type.href, item, '_links.type.href'), name: links.type.title ?? '' },
    status: { id: idFromHref(links.status.href, item, '_links.status.href'), name: links.status.title ?? '' },
    project: { id: idFromHref(links.project.href, item, '_links.project.href'), name: links.project.title ?? '' },
    author: links.author?.title ?? null,
    customFields,
  };
}

/** Attachment metadata; `containerId` is the fallback when the container link is absent. */
export function normalizeAttachment(json: unknown, containerId?: number): Attachment {
  const item = `attachment #${idOf(json)}`;
  const a = parseOrThrow(attachmentSchema, json, item);
  const fileSize = a.fileSize ?? a.filesize;
  if (fileSize === undefined) throw new PayloadError(item, 'fileSize', 'expected number, got nothing (missing)');
  // Never `downloadLocation`: with external storage it is a pre-signed URL that expires
  // (attachment_representer.rb: `represented.external_url`); the static one redirects to a
  // fresh signature at every request.
  // Without the link (older servers, trimmed payloads) the content route is built, as a
  // reference RELATIVE to the instance's URL (no leading slash), so that an instance under a
  // sub-path (https://host/openproject) keeps it: Http.resolve puts it under that URL.
  const href = a._links.staticDownloadLocation?.href ?? `api/v3/attachments/${a.id}/content`;
  const container = a._links.container?.href ? idFromHref(a._links.container.href, item, '_links.container.href') : (containerId ?? 0);
  const md5 = a.digest && a.digest.algorithm.toLowerCase() === 'md5' && a.digest.hash ? a.digest.hash.toLowerCase() : null;
  return {
    id: a.id,
    fileName: a.fileName,
    fileSize,
    contentType: a.contentType ?? 'application/octet-stream',
    md5,
    createdAt: a.createdAt ?? '',
    downloadHref: href,
    containerId: container,
    status: a.status ?? 'uploaded',
  };
}

export function normalizeProject(json: unknown): Project {
  const p = parseOrThrow(projectSchema, json, `project #${idOf(json)}`);
  return { id: p.id, identifier: p.identifier, name: p.name };
}

export function normalizeType(json: unknown): NamedRef {
  const t = parseOrThrow(typeSchema, json, `type #${idOf(json)}`);
  return { id: t.id, name: t.name };
}

export function normalizeStatus(json: unknown): NamedRef & { isClosed: boolean } {
  const s = parseOrThrow(statusSchema, json, `status #${idOf(json)}`);
  return { id: s.id, name: s.name, isClosed: s.isClosed ?? false };
}

/** A collection response; `what` names it in errors (e.g. `work package list page 3`). */
export function parseCollection(json: unknown, what: string): ParsedCollection {
  const c = parseOrThrow(collectionSchema, json, what);
  const elements = c._embedded.elements;
  if (!Array.isArray(elements)) throw new PayloadError(what, '_embedded.elements', `expected array, got ${kindOf(elements)}`);
  return {
    total: c.total ?? null,
    pageSize: c.pageSize ?? null,
    elements: elements as unknown[],
    schemas: c._embedded.schemas?._embedded?.elements ?? [],
    next: c._links?.nextByOffset?.href ?? null,
  };
}
