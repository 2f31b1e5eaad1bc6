// zod schemas for the HAL fields curate reads, and their normalisation into the domain
// types of src/types.ts. Everything coming from the server passes through here, so a
// malformed payload fails with a PayloadError naming the item and the field.
import { z } from 'zod';
import { PayloadError } from '../errors.js';
import type { Attachment, CustomFieldDef, CustomFieldEntry, CustomFieldFormat, CustomFieldValue, LinkValue, Project, WorkPackage } from '../types.js';

const link = z.object({ href: z.string().nullable().optional(), title: z.string().nullable().optional() }).passthrough();
const formattable = z.object({ raw: z.string().nullable().optional() }).passthrough();

const workPackageSchema = z
  .object({
    _type: z.literal('WorkPackage'),
    id: z.number().int().positive(),
    lockVersion: z.number().int().optional(),
    subject: z.string(),
    description: formattable.nullable().optional(),
    startDate: z.string().nullable().optional(),
    dueDate: z.string().nullable().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    _links: z
      .object({
        type: link.extend({ href: z.string() }),
        status: link.extend({ href: z.string() }),
        project: link.extend({ href: z.string() }),
        author: link.optional(),
      })
      .passthrough(),
  })
  .passthrough();

const attachmentSchema = z
  .object({
    _type: z.literal('Attachment'),
    id: z.number().int().positive(),
    fileName: z.string().min(1),
    fileSize: z.number().int().nonnegative(),
    contentType: z.string().optional(),
    digest: z.object({ algorithm: z.string(), hash: z.string().nullable() }).nullable().optional(),
    createdAt: z.string().optional(),
    _links: z
      .object({
        container: link.optional(),
        downloadLocation: link.optional(),
        staticDownloadLocation: link.optional(),
      })
      .passthrough(),
  })
  .passthrough();

const projectSchema = z.object({ id: z.number().int(), identifier: z.string(), name: z.string() }).passthrough();

function describeIssue(issue: z.core.$ZodIssue, data: unknown): { field: string; detail: string } {
  const field = issue.path.map(String).join('.') || '(root)';
  let actual: unknown = data;
  for (const key of issue.path) actual = actual && typeof actual === 'object' ? (actual as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  const got = actual === undefined ? 'missing' : `got ${JSON.stringify(actual)?.slice(0, 60)}`;
  return { field, detail: `${issue.message} (${got})` };
}

function parseOrThrow<T>(schema: z.ZodType<T>, data: unknown, item: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const { field, detail } = describeIssue(r.error.issues[0]!, data);
  throw new PayloadError(item, field, detail);
}

/** `/api/v3/types/7` → 7 */
export function idFromHref(href: string | null | undefined, item: string, field: string): number {
  const m = href ? /\/(\d+)(?:\?.*)?$/.exec(href) : null;
  if (!m) throw new PayloadError(item, field, `expected a resource link ending in an id, got ${JSON.stringify(href)}`);
  return Number(m[1]);
}

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
};

/** Custom field definitions of one work package schema (embedded or from the schema endpoint). */
export function fieldDefsFromSchema(schema: unknown): CustomFieldDef[] {
  if (!schema || typeof schema !== 'object') return [];
  const defs: CustomFieldDef[] = [];
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    const m = /^customField(\d+)$/.exec(key);
    if (!m || !value || typeof value !== 'object') continue;
    const v = value as { type?: unknown; name?: unknown };
    const type = typeof v.type === 'string' ? v.type : '';
    const multiValue = type.startsWith('[]');
    const base = multiValue ? type.slice(2) : type;
    defs.push({
      id: Number(m[1]),
      name: typeof v.name === 'string' ? v.name : key,
      format: FORMATS[base] ?? 'unknown',
      multiValue,
    });
  }
  return defs;
}

/** The `{projectId}-{typeId}` key of a schema or work package schema link. */
export function schemaKeyFromHref(href: string | null | undefined): string | null {
  const m = href ? /\/schemas\/(\d+-\d+)$/.exec(href) : null;
  return m ? m[1]! : null;
}

function linkValue(v: unknown): LinkValue {
  const l = (v ?? {}) as { href?: unknown; title?: unknown };
  return { href: typeof l.href === 'string' ? l.href : null, title: typeof l.title === 'string' ? l.title : null };
}

function customFieldValue(wpItem: string, def: CustomFieldDef | undefined, key: string, raw: unknown): CustomFieldValue {
  if (raw === null) return null;
  if (def?.format === 'text' || (raw && typeof raw === 'object' && 'raw' in (raw as object))) {
    const r = (raw as { raw?: unknown }).raw;
    if (r === null || r === undefined) return null;
    if (typeof r !== 'string') throw new PayloadError(wpItem, `${key}.raw`, `expected a string, got ${JSON.stringify(r)}`);
    return r;
  }
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  throw new PayloadError(wpItem, key, `unsupported custom field value ${JSON.stringify(raw).slice(0, 60)}`);
}

/**
 * Normalise a work package. Custom fields are listed in the order the JSON carries
 * them and only when present (MAPPING.md §5.4: absent ≠ null). `defs` resolves ids to
 * names; an id without a definition keeps `customField<N>` as its name.
 */
export function normalizeWorkPackage(json: unknown, defs: ReadonlyMap<number, CustomFieldDef>): WorkPackage {
  const id = json && typeof json === 'object' && typeof (json as { id?: unknown }).id === 'number' ? (json as { id: number }).id : '?';
  const item = `work package #${id}`;
  const wp = parseOrThrow(workPackageSchema, json, item);
  const customFields: CustomFieldEntry[] = [];
  const def = (n: number, key: string): CustomFieldDef => defs.get(n) ?? { id: n, name: key, format: 'unknown', multiValue: false };
  for (const [key, raw] of Object.entries(wp)) {
    const m = /^customField(\d+)$/.exec(key);
    if (!m) continue;
    const d = def(Number(m[1]), key);
    customFields.push({ field: d, value: customFieldValue(item, d, key, raw) });
  }
  // list/user/version fields live under _links (README §2).
  for (const [key, raw] of Object.entries(wp._links)) {
    const m = /^customField(\d+)$/.exec(key);
    if (!m) continue;
    const d = def(Number(m[1]), key);
    customFields.push({ field: d, value: Array.isArray(raw) ? raw.map(linkValue) : linkValue(raw) });
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

export function normalizeAttachment(json: unknown, containerId?: number): Attachment {
  const id = json && typeof json === 'object' && typeof (json as { id?: unknown }).id === 'number' ? (json as { id: number }).id : '?';
  const item = `attachment #${id}`;
  const a = parseOrThrow(attachmentSchema, json, item);
  const href = a._links.downloadLocation?.href ?? a._links.staticDownloadLocation?.href ?? `/api/v3/attachments/${a.id}/content`;
  const container = a._links.container?.href ? idFromHref(a._links.container.href, item, '_links.container.href') : (containerId ?? 0);
  const md5 = a.digest && a.digest.algorithm.toLowerCase() === 'md5' && a.digest.hash ? a.digest.hash.toLowerCase() : null;
  return {
    id: a.id,
    fileName: a.fileName,
    fileSize: a.fileSize,
    contentType: a.contentType ?? 'application/octet-stream',
    md5,
    createdAt: a.createdAt ?? '',
    downloadHref: href,
    containerId: container,
  };
}

export function normalizeProject(json: unknown): Project {
  const p = parseOrThrow(projectSchema, json, 'project');
  return { id: p.id, identifier: p.identifier, name: p.name };
}
