// The medigy profile: reproduces the legacy pipeline's markdown corpus byte for byte
// (../shared/medigy/MAPPING.md). Pure: the clock comes in as `input.now`.
import { MappingError } from '../../errors.js';
import type { Attachment, AttachmentUse, CustomFieldEntry, MapInput, MappedDocument, PlannedContent, ProbedAttachment, Profile, SourceSpec, WorkPackage } from '../../types.js';
import { brandOf, camelCaseFieldName, excerpt, isoWith6Fraction, naiveTimestampText, slugBaseOf, slugify, uuid5 } from '../text/index.js';
import { renderFrontmatterFile, YamlDate, YamlTimestamp, type YamlValue } from '../yaml/index.js';
import { medigySourceOptionsSchema, parseMedigyOptions, zodProblems, type MedigyOptions, type MedigyTypeRow, type MedigyVariant } from './medigy-options.js';

type Block = 'featuredImage' | 'favIconImage' | 'featuredPdf' | 'metadata';
type Frontmatter = { [key: string]: YamlValue };

export function createMedigyProfile(rawOptions: unknown): Profile {
  const options = parseMedigyOptions(rawOptions);
  const blockOf = (att: Attachment): Block | null => blockOfAttachment(att, options);
  return {
    name: 'medigy',
    version: '1',
    // Frontmatter and links from custom fields only: no page shows another work package's facts.
    showsFacts: false,
    attachmentUse(att: Attachment): AttachmentUse | null {
      const block = blockOf(att);
      if (block === 'featuredImage' || block === 'favIconImage') return 'image';
      if (block === 'featuredPdf') return 'file';
      if (block === 'metadata') return 'json';
      return null;
    },
    checkSource(source: SourceSpec, index: number): string[] {
      const problems: string[] = [];
      const r = medigySourceOptionsSchema.safeParse(source.options);
      if (!r.success) problems.push(...zodProblems(r.error, `sources.${index}.options`));
      for (const t of source.types) {
        if (!options.types[t]) problems.push(`sources.${index}.types: "${t}" has no row in profile.options.types (known: ${Object.keys(options.types).join(', ')})`);
      }
      return problems;
    },
    map(input: MapInput): MappedDocument {
      return mapWorkPackage(input, options, blockOf);
    },
  };
}

function blockOfAttachment(att: Attachment, options: MedigyOptions): Block | null {
  const a = options.attachments;
  if (att.fileName === a.featuredPdf) return 'featuredPdf';
  if (att.fileName === a.metadataJson) return 'metadata';
  if (att.fileName.startsWith(a.featuredImagePrefix)) return 'featuredImage';
  if (att.fileName.startsWith(a.favIconPrefix)) return 'favIconImage';
  return null;
}

function field(wp: WorkPackage, name: string): CustomFieldEntry | undefined {
  return wp.customFields.find((e) => e.field.name === name);
}

function stringField(wp: WorkPackage, name: string): string | null | undefined {
  const entry = field(wp, name);
  if (!entry) return undefined;
  const v = entry.value;
  if (v === null || typeof v === 'string') return v;
  throw new MappingError(wp.id, `custom field "${name}"`, `expected a string, got ${JSON.stringify(v)}`);
}

/** Custom field value as the legacy pipeline wrote it (§5.4): bools as t/f, links by title. */
function legacyValue(wp: WorkPackage, entry: CustomFieldEntry): YamlValue {
  const v = entry.value;
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((l) => l.title);
  if (typeof v === 'object' && 'title' in v) return v.title;
  throw new MappingError(wp.id, `custom field "${entry.field.name}"`, `unsupported value ${JSON.stringify(v)}`);
}

function parseTopics(wp: WorkPackage, name: string): string[] | null {
  const raw = stringField(wp, name);
  if (raw === undefined || raw === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new MappingError(wp.id, `custom field "${name}"`, `is not a JSON array of strings (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) {
    throw new MappingError(wp.id, `custom field "${name}"`, 'is not a JSON array of strings');
  }
  return parsed as string[];
}

/**
 * An event's bucket and the `now` interval it holds for: an event is upcoming through its
 * last day (UTC) and past from the midnight after it, so its page must be mapped again then.
 */
export function eventStatus(wp: WorkPackage, options: MedigyOptions, now: Date): { status: string; validFrom?: string; validUntil?: string } {
  const cancelled = field(wp, options.fields.eventCancelled);
  if (cancelled?.value === true) return { status: 'canceled' };
  if (!wp.startDate) return { status: '' };
  const today = now.toISOString().slice(0, 10);
  const end = wp.dueDate ?? wp.startDate;
  const turnsPast = new Date(Date.parse(`${end}T00:00:00Z`) + 86_400_000);
  // A date the server sent that is not a calendar date: bucket as before, no validity bound.
  if (Number.isNaN(turnsPast.getTime())) return { status: end < today ? 'past' : 'upcoming' };
  return end < today ? { status: 'past', validFrom: turnsPast.toISOString() } : { status: 'upcoming', validUntil: turnsPast.toISOString() };
}

function lectioSections(wp: WorkPackage, probe: ProbedAttachment): Frontmatter {
  if (probe.probe.kind !== 'json') {
    const why = probe.probe.kind === 'json-invalid' ? probe.probe.error : 'content was not read as JSON';
    throw new MappingError(wp.id, `attachment ${probe.attachment.fileName} (#${probe.attachment.id})`, `invalid JSON: ${why}`);
  }
  const sections = probe.probe.value;
  if (!Array.isArray(sections)) {
    throw new MappingError(wp.id, `attachment ${probe.attachment.fileName} (#${probe.attachment.id})`, 'expected a JSON array of {name, content} sections');
  }
  const out: Frontmatter = {};
  for (const key of ['openGraphMetaData', 'twitterMetaData', 'htmlMetaData']) {
    const section = sections.find((s: unknown) => typeof s === 'object' && s !== null && (s as { name?: unknown }).name === key) as
      | { content?: unknown }
      | undefined;
    const entries = Array.isArray(section?.content) ? (section.content as unknown[]) : [];
    if (entries.length === 0) {
      out[key] = [null];
      continue;
    }
    const map: Frontmatter = {};
    for (const entry of entries) {
      if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string') {
        throw new MappingError(wp.id, `attachment ${probe.attachment.fileName} (#${probe.attachment.id})`, `${key}: entry without a string "name"`);
      }
      const { name, content } = entry as { name: string; content?: unknown };
      map[name.replace(/:/g, '')] = toYamlValue(content ?? null);
    }
    out[key] = [map];
  }
  return out;
}

function toYamlValue(v: unknown): YamlValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toYamlValue);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toYamlValue(x)]));
  return String(v);
}

// A sync maps thousands of work packages per source: parse each source's options once.
const variants = new WeakMap<SourceSpec, MedigyVariant | null>();
function variantOf(source: SourceSpec): MedigyVariant | null {
  let v = variants.get(source);
  if (v === undefined) {
    const r = medigySourceOptionsSchema.safeParse(source.options);
    v = r.success ? r.data.variant : null;
    variants.set(source, v);
  }
  return v;
}

function mapWorkPackage(input: MapInput, options: MedigyOptions, blockOf: (a: Attachment) => Block | null): MappedDocument {
  const { workPackage: wp, project, source, now } = input;
  const T = wp.type.name;
  const row: MedigyTypeRow | undefined = options.types[T];
  if (!row) throw new MappingError(wp.id, 'type', `"${T}" has no row in the medigy type table`);
  const variant = variantOf(source);
  if (!variant) throw new MappingError(wp.id, 'source.options.variant', 'must be community, news or events');
  const C = project.identifier;
  const P = project.name;
  const subject = wp.subject;
  const slugT = slugify(T);

  const cleanUrl = stringField(wp, options.fields.cleanUrl);
  const href = cleanUrl ?? '';
  const sourceUrl = stringField(wp, options.fields.sourceUrl);
  const brand = brandOf(href);
  const topics = parseTopics(wp, options.fields.topics);
  const mdName = uuid5(variant === 'news' ? href : `${wp.id}-${subject}`);
  const bucket = variant === 'events' ? eventStatus(wp, options, now) : { status: '' };
  const status = bucket.status;

  const fm: Frontmatter = {
    aliases: `${row.aliasPrefix}/${slugify(subject)}`,
    archetype: row.archetype,
    author: [wp.author],
    description: excerpt(wp.description),
    id: wp.id,
    identifier: P,
    link: { brand, href, original: sourceUrl ?? null },
    mdName,
    openProjectCustomFields: Object.fromEntries(wp.customFields.map((e) => [camelCaseFieldName(e.field.name), legacyValue(wp, e)])),
    openProjectWorkPackageType: T,
    searchCategory: row.searchCategory,
    slug: `${slugBaseOf(brand)}-${slugify(subject)}`,
    source: 'open-project-curations',
    sub: row.sub,
    tags: [...row.tags],
    title: subject,
    status,
  };

  if (row.event) {
    fm.date = wp.startDate ? `${wp.startDate}T00:00:00.000Z` : '';
    const publish = new YamlTimestamp(naiveTimestampText(wp.createdAt));
    fm.publishDate = publish;
    // The same object twice: PyYAML wrote an anchor and an alias (§5.3).
    fm.eventEndDate = wp.dueDate ? new YamlDate(wp.dueDate) : publish;
  } else {
    fm.date = isoWith6Fraction(wp.createdAt);
  }
  if (row.lastMod) fm.lastMod = isoWith6Fraction(wp.updatedAt);

  let folder: string;
  if (variant === 'community') {
    fm.basePath = `/communities/${C}/${T.toLowerCase().replace(/ /g, '-')}/`;
    fm.breadcrumbs = ['Home', 'Communities', P, T, subject];
    fm.breadcrumbLinks = ['/', '/communities/', `/communities/${C}/`, `/communities/${C}/${slugT}`, '#'];
    fm.categories = [];
    if (topics) fm.communityTopics = topics.map((t) => t.replace(/#/g, '-hash-'));
    fm.contentCategories = `medigy-${C}-${slugify(T.replace(/&/g, 'and'))}`;
    fm.mastHead = `${P} CoP`;
    fm.owlType = 'Medigy Communities';
    fm.type = `communities/medigy-${C}`;
    folder = `${source.path}/content-auto/${slugT}`;
  } else if (variant === 'news') {
    fm.basePath = '/news/';
    fm.breadcrumbs = ['Home', 'Communities', P, T, subject];
    fm.breadcrumbLinks = ['/', '/communities/', '/communities/netspective-news/', `/communities/news/${slugT}`, '#'];
    fm.categories = topics ? [...topics] : [];
    fm.contentCategories = `netspective-medigy-news-${slugT}`;
    fm.mastHead = P;
    folder = `${source.path}/content-auto`;
  } else {
    fm.basePath = status ? `/events/${status}/` : '/events/';
    fm.breadcrumbs = ['Home', 'Community', 'Event', subject];
    fm.breadcrumbLinks = ['/', '/events', '/events', '#'];
    fm.categories = topics ? [...topics] : [];
    fm.contentCategories = `medigy-${C}-${slugT}`;
    fm.mastHead = P;
    folder = status ? `${source.path}/content-auto/${status}` : `${source.path}/content-auto`;
  }

  const files: PlannedContent[] = [];
  // One attachment per block; should a work package carry two, the lowest id wins (stable).
  const byBlock = new Map<Block, ProbedAttachment>();
  for (const p of [...input.attachments].sort((a, b) => a.attachment.id - b.attachment.id)) {
    const block = blockOf(p.attachment);
    if (block && !byBlock.has(block)) byBlock.set(block, p);
  }
  for (const kind of ['featuredImage', 'favIconImage'] as const) {
    const p = byBlock.get(kind);
    if (!p) continue;
    const wpAttachment = { fileName: p.attachment.fileName, link: `/api/v3/attachments/${p.attachment.id}/content` };
    if (p.probe.kind === 'image' && p.probe.valid) {
      const name = `${mdName}-${kind}.${p.probe.format.toLowerCase()}`;
      fm[kind] = { alt: subject, format: p.probe.format, href: name, size: [p.probe.width, p.probe.height], valid: true, workPackage: wp.id, wpAttachment };
      files.push({ kind: 'attachment', path: `${folder}/${name}`, attachmentId: p.attachment.id });
    } else {
      fm[kind] = { valid: false, workPackage: wp.id, wpAttachment };
    }
  }
  const pdf = byBlock.get('featuredPdf');
  if (pdf) {
    const name = `${mdName}-featuredPdf.pdf`;
    fm.featuredPdf = {
      format: 'pdf',
      href: name,
      valid: true,
      workPackage: wp.id,
      wpAttachment: { fileName: pdf.attachment.fileName, link: `/api/v3/attachments/${pdf.attachment.id}/content` },
    };
    files.push({ kind: 'attachment', path: `${folder}/${name}`, attachmentId: pdf.attachment.id });
  }
  const meta = byBlock.get('metadata');
  if (meta) Object.assign(fm, lectioSections(wp, meta));

  const markdownPath = `${folder}/${mdName}.md`;
  files.unshift({ kind: 'text', path: markdownPath, text: renderFrontmatterFile(fm, wp.description) });
  return { workPackageId: wp.id, markdownPath, files, ...(bucket.validFrom ? { validFrom: bucket.validFrom } : {}), ...(bucket.validUntil ? { validUntil: bucket.validUntil } : {}) };
}
