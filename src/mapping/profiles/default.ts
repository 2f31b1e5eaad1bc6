// The default profile: pages that a stock Hugo site renders in full. Pure (no I/O, no
// clock). Every key and rule is documented in docs/default-profile.md; paths and URLs in
// default-paths.ts, custom fields in default-fields.ts, options in default-options.ts, the
// description conversion in ../html/.
import type { Attachment, AttachmentUse, MapInput, MappedDocument, PlannedContent, Profile, WorkPackage } from '../../types.js';
import { attachmentByFileName, attachmentIdOfUrl, convertDescription, markdownLiteral, referencedAttachments, resourceHref, wikiHref, workPackageIdOfUrl, type DescriptionLinks, type LocalImage } from '../html/index.js';
import { attributeMacroText } from './default-macros.js';
import { htmlUnescape, wrap } from '../text/index.js';
import { renderFrontmatterFile, type YamlValue } from '../yaml/index.js';
import { fieldsOf, tagsOf, weightOf } from './default-fields.js';
import { parseDefaultOptions, type DefaultProfileOptions } from './default-options.js';
import { aliasesFor, joinPath, pageSlug, relativePageLink, sourceFolder } from './default-paths.js';

export type { DefaultProfileOptions } from './default-options.js';

/**
 * Bump on every change of output for the same input: the engine then re-maps every work
 * package. 2: converted descriptions, id-keyed bundles, `{slug}-{id}` URLs, aliases, typed
 * fields. 3: the link around a figure's image is rewritten like other links. 4: descriptions
 * read as OpenProject's formatter reads them (hard breaks, opSetting variables, resource and
 * wiki links, attribute macros, …), excerpts separated and marked when cut, a final newline.
 * 5: `##N` / `###N` show the target's type, status and subject as OpenProject does.
 */
export const DEFAULT_PROFILE_VERSION = '5';

export function createDefaultProfile(rawOptions: unknown): Profile {
  const options = parseDefaultOptions(rawOptions);
  return {
    name: 'default',
    version: DEFAULT_PROFILE_VERSION,
    attachmentUse(att: Attachment, wp: WorkPackage): AttachmentUse | null {
      // Asked one attachment at a time: a file name is matched against this one alone, so two
      // attachments of the same name are both fetched and map() shows the newest, as OpenProject does.
      if (referencedAttachments(wp.description, [att]).has(att.id)) return att.contentType.startsWith('image/') ? 'image' : 'file';
      // `attachment:file.zip` links the work package's own file of that name (link_handlers/colon_separator.rb).
      if (mentionsAttachment(wp.description, att.fileName)) return 'file';
      if (options.featuredImage !== null && att.fileName.startsWith(options.featuredImage)) return 'image';
      return null;
    },
    map(input: MapInput): MappedDocument {
      return mapWorkPackage(input, options);
    },
    configuredFields() {
      // Only fields the config names: the default `Tags` of a config that never mentions tags is
      // not a field anyone expects, so its absence is not worth a warning on every run.
      const named = (key: string): boolean => rawOptions !== null && typeof rawOptions === 'object' && key in rawOptions;
      const out: { name: string; option: string }[] = [];
      if (options.tagsField !== null && named('tagsField')) out.push({ name: options.tagsField, option: 'profile.options.tagsField' });
      if (options.weightField !== null && named('weightField')) out.push({ name: options.weightField, option: 'profile.options.weightField' });
      return out;
    },
  };
}

/** `attachment:name` resolves to the attachment with exactly that file name (OpenProject: `filename == oid`); the newest wins. */
function attachmentNamed(name: string, all: readonly Attachment[]): Attachment | null {
  let best: Attachment | null = null;
  for (const a of all) if (a.fileName === name && (!best || a.createdAt > best.createdAt || (a.createdAt === best.createdAt && a.id > best.id))) best = a;
  return best;
}

function mentionsAttachment(description: string, fileName: string): boolean {
  return description.includes(`attachment:${fileName}`) || description.includes(`attachment:"${fileName}"`) || description.includes(`attachment:&quot;${fileName}&quot;`);
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

/** Markdown/HTML description → one line of plain text, cut at a word (the `html: keep` excerpt). */
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
  return excerptOf(text, width);
}

/**
 * At most `width` characters of the text. A text that does not fit ends at its last sentence
 * end within the width when that keeps at least half of it, else at a word, with ` …` saying
 * that more follows (a cut in the middle of a phrase must not read as the whole thought).
 */
function excerptOf(text: string, width: number): string {
  const all = text.replace(/\s+/g, ' ').trim();
  if (all.length <= width) return all;
  const head = all.slice(0, width + 1);
  const sentence = /^.*[.!?…](?=\s)/s.exec(head)?.[0];
  if (sentence !== undefined && sentence.length >= width / 2) return sentence;
  return `${wrap(all, width - 2, 1)[0] ?? ''} …`;
}

interface Assets {
  files: PlannedContent[];
  /** attachment id → file name beside the page */
  local: Map<number, string>;
  images: Map<number, LocalImage>;
  featured: { src: string; alt: string; width: number; height: number }[];
}

function assetsOf(input: MapInput, options: DefaultProfileOptions, dir: string): Assets {
  const { workPackage: wp } = input;
  const out: Assets = { files: [], local: new Map(), images: new Map(), featured: [] };
  for (const p of [...input.attachments].sort((a, b) => a.attachment.id - b.attachment.id)) {
    // An image that does not decode is not written; its references become text.
    const validImage = p.use === 'image' && p.probe.kind === 'image' && p.probe.valid;
    if (p.use !== 'file' && !validImage) continue;
    const base = `${p.attachment.id}-${safeFileName(p.attachment.fileName)}`;
    const name = options.bundle ? base : `${wp.id}-${base}`;
    out.local.set(p.attachment.id, name);
    out.files.push({ kind: 'attachment', path: joinPath(dir, name), attachmentId: p.attachment.id });
    if (p.probe.kind === 'image' && p.probe.valid) {
      out.images.set(p.attachment.id, { kind: 'local', src: name, width: p.probe.width, height: p.probe.height });
      if (options.featuredImage !== null && p.attachment.fileName.startsWith(options.featuredImage)) {
        out.featured.push({ src: name, alt: wp.subject, width: p.probe.width, height: p.probe.height });
      }
    }
  }
  return out;
}

function mapWorkPackage(input: MapInput, options: DefaultProfileOptions): MappedDocument {
  const { workPackage: wp, source, context } = input;
  const folder = sourceFolder(source.path);
  const dir = options.bundle ? joinPath(folder, String(wp.id)) : folder;
  const markdownPath = options.bundle ? joinPath(dir, 'index.md') : joinPath(folder, `${wp.id}.md`);
  const slug = pageSlug(wp.subject, wp.id);
  const assets = assetsOf(input, options, dir);

  const references = new Set<number>();
  const base = options.openprojectUrl;
  const instanceUrl = (href: string): string | null => {
    // Root-relative URLs in a description are the instance's own (OpenProject renders them in place).
    if (base === null || !href.startsWith('/') || href.startsWith('//')) return null;
    return new URL(href, `${base}/`).href;
  };
  const ofInstance = (href: string): boolean => href.startsWith('/') || (base !== null ? href === base || href.startsWith(`${base}/`) : /^https?:\/\//i.test(href));
  const workPackageLink = (id: number): string | null => {
    references.add(id);
    const target = context?.sourceOf(id);
    if (target) return relativePageLink(folder, target.path, id);
    if (options.workPackageLinks === 'openproject' && base !== null) return `${base}/work_packages/${id}`;
    return null;
  };
  const attachmentOf = (src: string): number | null => {
    const byUrl = ofInstance(src) ? attachmentIdOfUrl(src) : null;
    return byUrl ?? attachmentByFileName(src, input.allAttachments)?.id ?? null;
  };
  const links: DescriptionLinks = {
    image(src) {
      const id = attachmentOf(src);
      if (id === null) return null;
      const local = assets.images.get(id);
      if (local) return local;
      const att = input.allAttachments.find((a) => a.id === id);
      return { kind: 'text', text: att?.fileName ?? `attachment ${id}` };
    },
    href(href) {
      const id = attachmentOf(href);
      const file = id === null ? undefined : assets.local.get(id);
      if (file !== undefined) return file;
      const wpId = ofInstance(href) ? workPackageIdOfUrl(href) : null;
      if (wpId !== null) {
        const to = workPackageLink(wpId);
        if (to !== null) return to;
      }
      return instanceUrl(href) ?? href;
    },
    workPackage: workPackageLink,
    workPackageFacts: (id) => {
      references.add(id);
      // Without the engine's answer (a hand-made context) nothing is known: the plain reference.
      return context?.workPackageFacts ? context.workPackageFacts(id) : undefined;
    },
    openProjectPage: base === null ? null : `${base}/projects/${encodeURIComponent(input.project.identifier)}/work_packages`,
    baseUrl: base,
    resource(ref) {
      // `attachment:file.zip`: a file of this very work package, downloaded beside the page.
      if (ref.kind === 'attachment') {
        const att = attachmentNamed(ref.value, input.allAttachments);
        return att ? (assets.local.get(att.id) ?? null) : null;
      }
      // `user:"foo@bar.com"`: OpenProject links the user, or (no such login) autolinks the address.
      if (ref.kind === 'user' && !ref.byId && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(ref.value)) return `mailto:${ref.value}`;
      return base === null ? null : resourceHref(ref, base, input.project.identifier);
    },
    wiki: (link) => (base === null ? null : wikiHref(link, base, input.project.identifier)),
    semanticWorkPackage: (key) => (base === null ? null : `${base}/work_packages/${encodeURIComponent(key)}`),
    attribute: (macro) => attributeMacroText(macro, input, workPackageLink, (id) => links.workPackageFacts?.(id)),
  };

  let body: string;
  let text: string;
  if (options.html === 'convert') {
    ({ markdown: body, text } = convertDescription(wp.description, links));
  } else {
    body = keepDescription(wp.description, input.allAttachments, assets, ofInstance);
    text = plainExcerpt(wp.description, 100_000);
  }
  const excerpt = excerptOf(text, options.descriptionLength);

  const { aliases, memory } = aliasesFor(folder, slug, wp.id, context?.memory);
  const fm: { [key: string]: YamlValue } = {
    title: wp.subject,
    date: wp.createdAt,
    lastmod: wp.updatedAt,
    slug,
    // Hugo renders `summary` as markdown (RSS, .Summary); `description` is read as plain text.
    summary: markdownLiteral(excerpt),
    description: excerpt,
    draft: !options.publishedStatuses.includes(wp.status.name),
    tags: tagsOf(wp, options.tagsField),
    aliases,
    [options.customFieldsKey]: {
      id: wp.id,
      type: wp.type.name,
      status: wp.status.name,
      project: input.project.identifier,
      author: wp.author,
      ...(base !== null ? { url: `${base}/work_packages/${wp.id}` } : {}),
      fields: fieldsOf(wp),
    },
  };
  const weight = weightOf(wp, options.weightField);
  if (weight !== null) fm.weight = weight;
  if (assets.featured.length > 0) {
    // Hugo's own templates (opengraph, twitter cards, schema) read `images` as a list of paths.
    fm.images = assets.featured.map((i) => i.src);
    fm.featuredImage = { ...assets.featured[0]! };
  }
  // A final newline (python-frontmatter writes none): end-of-file fixers in a site's hooks would otherwise rewrite every page.
  const files: PlannedContent[] = [{ kind: 'text', path: markdownPath, text: `${renderFrontmatterFile(fm, body)}\n` }, ...assets.files];
  const doc: MappedDocument = { workPackageId: wp.id, markdownPath, files, memory };
  if (references.size > 0) doc.references = [...references].sort((a, b) => a - b);
  return doc;
}

const ANY_ATTACHMENT_URL = /(?:https?:\/\/[^\s"'()<>]*?)?(?:\/[^\s"'()<>]*?)?\/(?:api\/v3\/attachments\/(\d+)\/content|(?<!api\/v3\/)attachments\/(\d+)(?:\/[^\s"'()<>?#]*)?)(?=[\s"'()<>?#]|$)/gi;

/** `html: keep`: the description as written, with attachment references pointing at the files beside the page. */
function keepDescription(description: string, all: readonly Attachment[], assets: Assets, ofInstance: (href: string) => boolean): string {
  const byUrl = description.replace(ANY_ATTACHMENT_URL, (url: string, a?: string, b?: string) => (ofInstance(url) ? (assets.local.get(Number(a ?? b)) ?? url) : url));
  const byName = (name: string): string | null => {
    const att = attachmentByFileName(name, all);
    return att ? (assets.local.get(att.id) ?? null) : null;
  };
  return byUrl
    .replace(/(<img\b[^>]*?\bsrc\s*=\s*)(["'])([^"']*)\2/gi, (m, pre: string, q: string, src: string) => {
      const file = byName(src);
      return file === null ? m : `${pre}${q}${file}${q}`;
    })
    .replace(/(!\[[^\]]*\]\(\s*)([^\s)]+)/g, (m, pre: string, src: string) => {
      const file = byName(src);
      return file === null ? m : `${pre}${file}`;
    });
}
