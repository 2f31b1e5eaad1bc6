// The default profile: clean Hugo pages from OpenProject work packages. Pure (no I/O, no
// clock). Documentation of every key: docs/default-profile.md.
//
// Layout (option `bundle`, default true): a Hugo *leaf bundle* per work package,
//   {source.path}/{slug}/index.md  + its images/files beside it as {attachmentId}-{name}
// Bundles are the default because Hugo publishes a bundle's resources next to the page,
// so the relative links written into the body resolve without any site configuration.
// With `bundle: false` the page is {source.path}/{slug}.md and its assets are written
// beside it as {slug}-{attachmentId}-{name}; Hugo does not publish files placed next to a
// non-bundle page, so the site then needs its own arrangement (e.g. a static mount).
import { z } from 'zod';
import { ConfigError, MappingError } from '../../errors.js';
import type { Attachment, AttachmentUse, CustomFieldValue, MapInput, MappedDocument, PlannedContent, Profile, WorkPackage } from '../../types.js';
import { camelCaseFieldName, htmlUnescape, slugify, wrap } from '../text/index.js';
import { renderFrontmatterFile, type YamlValue } from '../yaml/index.js';

const optionsSchema = z
  .object({
    /** Status names that make a page public (`draft: false`); every other status is a draft. */
    publishedStatuses: z.array(z.string().min(1)).default(['Published', 'Closed']),
    /** Custom field whose value (JSON array string or comma list) becomes `tags`; null = no tags. */
    tagsField: z.string().min(1).nullable().default('Tags'),
    /** Top-level key of the OpenProject block (id, type, status, project, author, fields). */
    customFieldsKey: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected an identifier ([A-Za-z][A-Za-z0-9_]*)')
      .refine((k) => !RESERVED.has(k.toLowerCase()), 'collides with a key this profile writes')
      .default('openproject'),
    /** File-name prefix of attachments used as featured images (`images`, `featuredImage`); null = none. */
    featuredImage: z.string().min(1).nullable().default('Curated_Featured_Image'),
    /** Hugo leaf bundles ({slug}/index.md with assets beside it). */
    bundle: z.boolean().default(true),
    /** Length limit of the `description` excerpt. */
    descriptionLength: z.number().int().min(20).max(1000).default(160),
  })
  .strict();

export type DefaultProfileOptions = z.infer<typeof optionsSchema>;

/** Keys the profile writes at the top level (Hugo's own plus ours). */
const RESERVED = new Set(['title', 'date', 'lastmod', 'slug', 'description', 'draft', 'tags', 'images', 'featuredimage']);

const ATTACHMENT_URL = /(?:https?:\/\/[^\s"'()<>]*?)?\/api\/v3\/attachments\/(\d+)\/content/g;

export function createDefaultProfile(rawOptions: unknown): Profile {
  const parsed = optionsSchema.safeParse(rawOptions ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      'invalid default profile options',
      parsed.error.issues.map((i) => `${['profile.options', ...i.path.map(String)].join('.')}: ${i.message}`),
    );
  }
  const options = parsed.data;
  return {
    name: 'default',
    version: '1',
    attachmentUse(att: Attachment, wp: WorkPackage): AttachmentUse | null {
      if (referencedIds(wp.description).has(att.id)) return att.contentType.startsWith('image/') ? 'image' : 'file';
      if (options.featuredImage !== null && att.fileName.startsWith(options.featuredImage)) return 'image';
      return null;
    },
    map(input: MapInput): MappedDocument {
      return mapWorkPackage(input, options);
    },
  };
}

function referencedIds(markdown: string): Set<number> {
  return new Set([...markdown.matchAll(ATTACHMENT_URL)].map((m) => Number(m[1])));
}

/** A file name safe on every file system and in a URL: [A-Za-z0-9._-], no leading dot. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return cleaned === '' ? 'file' : cleaned;
}

/** Markdown/HTML description → one line of plain text for `description`, cut at a word. */
export function plainExcerpt(markdown: string, width: number): string {
  const text = htmlUnescape(
    markdown
      .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ') // images
      .replace(/<[^>]*>/g, ' ') // html tags
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links → their text
      .replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+\.)\s+/gm, '') // headings, quotes, list markers
      .replace(/(\*\*|__|\*|_|`|~~)/g, ''), // emphasis, code
  )
    .replace(/\s+/g, ' ')
    .trim();
  return wrap(text, width, 1)[0] ?? '';
}

function fieldValue(v: CustomFieldValue): YamlValue {
  if (Array.isArray(v)) return v.map((l) => l.title);
  if (v !== null && typeof v === 'object') return v.title;
  return v;
}

function tagsOf(wp: WorkPackage, fieldName: string | null): string[] {
  if (fieldName === null) return [];
  const entry = wp.customFields.find((e) => e.field.name === fieldName);
  if (!entry || entry.value === null) return [];
  const v = entry.value;
  let tags: unknown[];
  if (Array.isArray(v)) tags = v.map((l) => l.title);
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        tags = JSON.parse(s) as unknown[];
      } catch (e) {
        throw new MappingError(wp.id, `custom field "${fieldName}"`, `is not a JSON array (${(e as Error).message})`);
      }
      if (!Array.isArray(tags)) throw new MappingError(wp.id, `custom field "${fieldName}"`, 'is not a JSON array');
    } else tags = s.split(',');
  } else if (typeof v === 'object') tags = [v.title];
  else throw new MappingError(wp.id, `custom field "${fieldName}"`, `expected text or a list, got ${JSON.stringify(v)}`);
  const out: string[] = [];
  for (const t of tags) {
    if (typeof t !== 'string') throw new MappingError(wp.id, `custom field "${fieldName}"`, `expected strings, got ${JSON.stringify(t)}`);
    const tag = t.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

function mapWorkPackage(input: MapInput, options: DefaultProfileOptions): MappedDocument {
  const { workPackage: wp, source } = input;
  const slug = slugify(wp.subject) || `work-package-${wp.id}`;
  const join = (...parts: string[]): string => parts.filter((p) => p !== '' && p !== '.').join('/');
  const folder = source.path.replace(/^\.?\/+|\/+$/g, '');
  const dir = options.bundle ? join(folder, slug) : folder;
  const markdownPath = options.bundle ? join(dir, 'index.md') : join(dir, `${slug}.md`);

  // Assets: valid images and plain files; an image that does not decode is not written.
  const files: PlannedContent[] = [];
  const local = new Map<number, string>(); // attachment id → file name beside the page
  const images: { src: string; alt: string; width: number; height: number }[] = [];
  for (const p of [...input.attachments].sort((a, b) => a.attachment.id - b.attachment.id)) {
    const usable = p.use === 'file' || (p.use === 'image' && p.probe.kind === 'image' && p.probe.valid);
    if (!usable) continue;
    const base = `${p.attachment.id}-${safeFileName(p.attachment.fileName)}`;
    const name = options.bundle ? base : `${slug}-${base}`;
    local.set(p.attachment.id, name);
    files.push({ kind: 'attachment', path: join(dir, name), attachmentId: p.attachment.id });
    const featured = options.featuredImage !== null && p.attachment.fileName.startsWith(options.featuredImage);
    if (featured && p.probe.kind === 'image' && p.probe.valid) {
      images.push({ src: name, alt: wp.subject, width: p.probe.width, height: p.probe.height });
    }
  }

  const body = wp.description.replace(ATTACHMENT_URL, (url: string, id: string) => local.get(Number(id)) ?? url);

  const fields: { [key: string]: YamlValue } = {};
  for (const entry of wp.customFields) fields[camelCaseFieldName(entry.field.name) || `customField${entry.field.id}`] = fieldValue(entry.value);

  const fm: { [key: string]: YamlValue } = {
    title: wp.subject,
    date: wp.createdAt,
    lastmod: wp.updatedAt,
    slug,
    description: plainExcerpt(wp.description, options.descriptionLength),
    draft: !options.publishedStatuses.includes(wp.status.name),
    tags: tagsOf(wp, options.tagsField),
    [options.customFieldsKey]: {
      id: wp.id,
      type: wp.type.name,
      status: wp.status.name,
      project: input.project.identifier,
      author: wp.author,
      fields,
    },
  };
  if (images.length > 0) {
    // Hugo's own templates (opengraph, twitter cards, schema) read `images` as a list of paths.
    fm.images = images.map((i) => i.src);
    fm.featuredImage = { ...images[0]! };
  }
  files.unshift({ kind: 'text', path: markdownPath, text: renderFrontmatterFile(fm, body) });
  return { workPackageId: wp.id, markdownPath, files };
}
