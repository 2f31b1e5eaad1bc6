// One line per failed item, printed once at the end of a run: which work package (id and
// title), what failed (the attachment, the request's path) and what happens next. Signed
// download URLs are hundreds of characters of query string; their path says enough
// (the whole URL only with --verbose). Pure.
import type { ItemError } from '../sync/index.js';

/** An item error as the engine reports it; `title` when the engine knows the subject. */
/** What a failure line needs (the kind is for machines: --json and tests). */
export type Failure = Omit<ItemError, 'kind'> & { kind?: ItemError['kind']; title?: string };

const URL_RE = /\bhttps?:\/\/[^\s"'<>]+/g;

/** Every absolute URL in `text` reduced to its path (no origin, no query). */
export function shortenUrls(text: string): string {
  return text.replace(URL_RE, (match) => {
    // Punctuation after a URL belongs to the sentence.
    const [, u, tail] = /^(.*?)([.,;:!?)]*)$/.exec(match)!;
    try {
      return new URL(u!).pathname + tail!;
    } catch {
      return match;
    }
  });
}

export const NEXT_STEP = 'its last good files are kept; it is retried on the next run';
/** For a work package that has no files yet (a first run): nothing is kept, nothing was written. */
export const NEXT_STEP_NEW = 'nothing was written for it yet; it is retried on the next run';

export function describeFailure(f: Failure, options: { verbose?: boolean; title?: string; hasFiles?: boolean } = {}): string {
  let message = options.verbose ? f.message : shortenUrls(f.message);
  const title = f.title ?? options.title;
  let who: string;
  if (f.workPackageId !== undefined) {
    // The engine's messages often start with the id; it is named once, in front.
    message = message.replace(new RegExp(`^work package #${f.workPackageId}:\\s*`), '');
    who = `#${f.workPackageId}${title ? ` ${JSON.stringify(title)}` : ''}`;
  } else who = f.source ? `source "${f.source}"` : 'sync';
  let flat = message.replace(/\s*\n\s*/g, '; ').replace(/[.\s]+$/, '');
  if (options.hasFiles === false) flat = flat.replace(/\s*\(its last good files are kept; it is retried on the next run\)/g, '');
  return `${who}: ${flat} (${f.workPackageId === undefined ? 'retried on the next run' : options.hasFiles === false ? NEXT_STEP_NEW : NEXT_STEP})`;
}

/** Failures in a stable order: by work package id (those without one last), then attachment id, then message. */
export function sortFailures<T extends Failure>(failures: readonly T[]): T[] {
  const key = (n: number | undefined): number => n ?? Number.MAX_SAFE_INTEGER;
  return [...failures].sort((a, b) => key(a.workPackageId) - key(b.workPackageId) || key(a.attachmentId) - key(b.attachmentId) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/**
 * The end of a run with failures: a count, then one line each, sorted by id. `withFiles`:
 * the work packages that have files from an earlier run (absent: assume they do).
 */
export function failureReport(failures: readonly Failure[], options: { verbose?: boolean; titles?: ReadonlyMap<number, string>; withFiles?: ReadonlySet<number> } = {}): string[] {
  if (!failures.length) return [];
  const n = failures.length;
  return [
    `${n} item${n === 1 ? '' : 's'} failed:`,
    ...sortFailures(failures).map((f) => {
      const id = f.workPackageId;
      return `  ${describeFailure(f, { verbose: options.verbose, title: id === undefined ? undefined : options.titles?.get(id), hasFiles: id === undefined || !options.withFiles ? undefined : options.withFiles.has(id) })}`;
    }),
  ];
}
