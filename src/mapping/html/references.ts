// How OpenProject descriptions point at attachments and work packages, as OpenProject's own
// renderer reads them:
// - attachments by URL: `/api/v3/attachments/<id>/content`, relative to the instance root,
//   which may sit under a sub-path (`/openproject/api/v3/…`) or be written absolute; the
//   older download route `/attachments/<id>/<file name>` too;
// - attachments by file name: an `<img src>` that is just a file name of the work package's
//   own attachments (`attachment_filter.rb`: case-insensitive, names ending in
//   bmp|gif|jpe?g|png|svg, the newest attachment of that name wins);
// - work packages: `#N`, `##N`, `###N` (`link_handlers/work_packages.rb` with the
//   `resource_links_matcher.rb` boundaries; `!#N` is the escape) and links to
//   `/work_packages/N` or `/projects/<p>/work_packages/N`.
import type { Attachment } from '../../types.js';

const API_CONTENT = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?(?:\/[^?#]*?)?\/api\/v3\/attachments\/(\d+)\/content(?:[?#].*)?$/i;
const LEGACY_DOWNLOAD = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?(?:\/[^?#]*?)?(?<!\/api\/v3)\/attachments\/(\d+)(?:\/[^/?#]*)?(?:[?#].*)?$/i;
const WORK_PACKAGE_URL = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?(?:\/[^?#]*?)?(?:\/projects\/[^/?#]+)?\/work_packages\/(\d+)(?:\/[^?#]*)?(?:[?#].*)?$/i;
const BY_NAME_EXTENSION = /(bmp|gif|jpe?g|png|svg)$/;

/** The attachment id an URL points at (any of OpenProject's attachment URL forms), or null. */
export function attachmentIdOfUrl(url: string): number | null {
  const m = API_CONTENT.exec(url.trim()) ?? LEGACY_DOWNLOAD.exec(url.trim());
  return m ? Number(m[1]) : null;
}

/** The work package id an URL points at (`…/work_packages/N…`), or null. */
export function workPackageIdOfUrl(url: string): number | null {
  const m = WORK_PACKAGE_URL.exec(url.trim());
  return m ? Number(m[1]) : null;
}

/** Whether an `<img src>` is a bare file name that OpenProject resolves among the attachments. */
export function isBareFileName(src: string): boolean {
  return src !== '' && !/[/\\:?#]/.test(src) && BY_NAME_EXTENSION.test(src.toLowerCase());
}

/** The attachment OpenProject's attachment filter picks for a bare file name (newest of that name). */
export function attachmentByFileName(src: string, attachments: readonly Attachment[]): Attachment | null {
  if (!isBareFileName(src)) return null;
  const name = src.toLowerCase();
  let best: Attachment | null = null;
  for (const a of attachments) {
    if (a.fileName.toLowerCase() !== name) continue;
    // Newest first; equal times fall back to the higher id so the choice never depends on order.
    if (!best || a.createdAt > best.createdAt || (a.createdAt === best.createdAt && a.id > best.id)) best = a;
  }
  return best;
}

const ATTACHMENT_URL_IN_TEXT = /(?:[a-z][a-z0-9+.-]*:\/\/[^\s"'()<>]*?)?\/(?:api\/v3\/attachments\/(\d+)\/content|(?<!api\/v3\/)attachments\/(\d+)(?=[/\s"'()<>?#]|$))/gi;
const IMG_SRC_IN_TEXT = /<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
const MD_IMAGE_IN_TEXT = /!\[[^\]]*\]\(\s*<?([^\s)>]+)/g;

/**
 * Every attachment a description refers to, by id (any URL form) or by file name. A cheap
 * scan of the raw text (no parse): it decides what to download, and the converter then
 * resolves each reference exactly.
 */
export function referencedAttachments(description: string, attachments: readonly Attachment[]): Set<number> {
  const ids = new Set<number>();
  for (const m of description.matchAll(ATTACHMENT_URL_IN_TEXT)) ids.add(Number(m[1] ?? m[2]));
  const names = new Set<string>();
  for (const m of description.matchAll(IMG_SRC_IN_TEXT)) names.add(decodeEntities(m[1] ?? m[2] ?? m[3] ?? ''));
  for (const m of description.matchAll(MD_IMAGE_IN_TEXT)) names.add(m[1]!);
  for (const name of names) {
    const a = attachmentByFileName(name, attachments);
    if (a) ids.add(a.id);
  }
  return ids;
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/** One `#N` / `##N` / `###N` reference found in a text run. */
export interface HashReference {
  start: number;
  end: number;
  id: number;
  /** What the author wrote (`#12`, `##12`, `###12`). */
  text: string;
  /** `!#12`: the author asked for the literal text; `start` covers the `!`. */
  escaped: boolean;
}

/** What may precede a reference (OpenProject: whitespace, `(`, `,`, `-`, `[`, `>` or line start). */
const LEADING = /[\s(,\-[>]/u;
const PUNCT = /[\p{P}\p{S}]/u;

/**
 * `#N` references in a run of text, with OpenProject's boundaries. `atStart`: the run begins
 * right after markup (a tag end), which OpenProject's regex sees as `>` and accepts.
 */
export function findHashReferences(text: string, atStart = true): HashReference[] {
  const out: HashReference[] = [];
  const re = /(!)?(#{1,3})(\d+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index;
    const before = start === 0 ? (atStart ? '' : 'x') : text[start - 1]!;
    if (before !== '' && !LEADING.test(before)) continue;
    // More hashes than three, or a fourth `#` right before: OpenProject's `\#+` takes them all.
    if (before === '#') continue;
    const digits = m[3]!;
    if (digits.length > 1 && digits.startsWith('0')) continue;
    const end = start + m[0].length;
    if (!boundaryAfter(text, end)) continue;
    out.push({ start, end, id: Number(digits), text: `${m[2]}${digits}`, escaped: m[1] !== undefined });
  }
  return out;
}

function boundaryAfter(text: string, i: number): boolean {
  if (i >= text.length) return true;
  const c = text[i]!;
  if (/\s/u.test(c) || c === ',' || c === ')' || c === ']' || c === '<') return true;
  if (c === '.' && i + 1 === text.length) return true;
  if (PUNCT.test(c)) {
    const next = text[i + 1];
    return next === undefined || !/[\p{L}\p{N}_]/u.test(next);
  }
  return false;
}
