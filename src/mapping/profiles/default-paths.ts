// Where a work package's page lives and which URLs reach it. The design rule: a page's
// output may depend only on its own work package (the engine does not re-map a page when
// another one changes), so
// - the bundle folder is keyed by id ({source.path}/{id}/index.md): it never collides and
//   never moves on a rename;
// - the URL slug is the subject's slug plus the id (`{slug}-{id}`, or `{id}` alone when the
//   subject has no transliterable character): unique without looking at other pages, and a
//   page's URL never changes because another work package was created;
// - every page also answers at the stable URL `{source.path}/{id}/` (a Hugo alias), which is
//   what links from other pages point at: it needs only the target's source path and id.
import { slugify } from '../text/index.js';

/** The source folder as a relative POSIX path without leading/trailing slashes ('' = output root). */
export function sourceFolder(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

export const joinPath = (...parts: string[]): string => parts.filter((p) => p !== '' && p !== '.').join('/');

/** Longest subject part of a slug, cut at a word boundary (file systems and URLs stay sane). */
const MAX_TITLE_SLUG = 80;

export function pageSlug(subject: string, id: number): string {
  let s = slugify(subject);
  if (s.length > MAX_TITLE_SLUG) {
    const cut = s.slice(0, MAX_TITLE_SLUG + 1);
    const at = cut.lastIndexOf('-');
    s = (at > 0 ? cut.slice(0, at) : cut.slice(0, MAX_TITLE_SLUG)).replace(/-+$/, '');
  }
  return s === '' ? String(id) : `${s}-${id}`;
}

/**
 * A folder as Hugo writes it in URLs: lower-cased (Hugo's default `disablePathToLower =
 * false`), spaces as `-`, other characters percent-encoded.
 */
export function urlSegments(folder: string): string[] {
  return folder === '' ? [] : folder.split('/').map((s) => encodeURIComponent(s.toLowerCase().replace(/\s+/g, '-')));
}

/** Relative link from a page of `fromFolder` to the stable URL of work package `id` in `toFolder`. */
export function relativePageLink(fromFolder: string, toFolder: string, id: number): string {
  if (sourceFolder(fromFolder) === sourceFolder(toFolder)) return `../${id}/`;
  const up = '../'.repeat(urlSegments(sourceFolder(fromFolder)).length + 1);
  return `${up}${joinPath(...urlSegments(sourceFolder(toFolder)))}${urlSegments(sourceFolder(toFolder)).length ? '/' : ''}${id}/`;
}

/** What the profile remembers per work package: every place its page has been (`folder/slug`). */
export interface PathMemory {
  locations: string[];
}

const MAX_LOCATIONS = 50;

export function readPathMemory(memory: unknown): string[] {
  if (memory === null || typeof memory !== 'object') return [];
  const locations = (memory as { locations?: unknown }).locations;
  if (!Array.isArray(locations)) return [];
  return locations.filter((l): l is string => typeof l === 'string' && l !== '' && !l.includes('..'));
}

/**
 * Hugo `aliases` (relative to the page's folder URL) for the stable id URL and every earlier
 * location, plus the memory to hand back: earlier locations then the current one.
 */
export function aliasesFor(folder: string, slug: string, id: number, memory: unknown): { aliases: string[]; memory: PathMemory } {
  const current = joinPath(folder, slug);
  const previous = readPathMemory(memory).filter((l) => l !== current);
  const locations = [...new Set([...previous, current])].slice(-MAX_LOCATIONS);
  const segs = urlSegments(folder);
  const aliases: string[] = [];
  const add = (a: string): void => {
    if (!aliases.includes(a)) aliases.push(a);
  };
  if (slug !== String(id)) add(String(id));
  for (const loc of previous) {
    const at = loc.lastIndexOf('/');
    const oldFolder = at < 0 ? '' : loc.slice(0, at);
    const oldSlug = at < 0 ? loc : loc.slice(at + 1);
    if (oldFolder === folder) {
      if (oldSlug !== slug) add(oldSlug);
    } else add(`${'../'.repeat(segs.length)}${joinPath(...urlSegments(oldFolder), encodeURIComponent(oldSlug))}`);
  }
  return { aliases, memory: { locations } };
}
