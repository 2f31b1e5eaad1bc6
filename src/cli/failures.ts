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

export function describeFailure(f: Failure, options: { verbose?: boolean; title?: string } = {}): string {
  let message = options.verbose ? f.message : shortenUrls(f.message);
  const title = f.title ?? options.title;
  let who: string;
  if (f.workPackageId !== undefined) {
    // The engine's messages often start with the id; it is named once, in front.
    message = message.replace(new RegExp(`^work package #${f.workPackageId}:\\s*`), '');
    who = `#${f.workPackageId}${title ? ` ${JSON.stringify(title)}` : ''}`;
  } else who = f.source ? `source "${f.source}"` : 'sync';
  const flat = message.replace(/\s*\n\s*/g, '; ').replace(/[.\s]+$/, '');
  return `${who}: ${flat} (${f.workPackageId !== undefined ? NEXT_STEP : 'retried on the next run'})`;
}

/** The end of a run with failures: a count, then one line each. */
export function failureReport(failures: readonly Failure[], options: { verbose?: boolean; titles?: ReadonlyMap<number, string> } = {}): string[] {
  if (!failures.length) return [];
  const n = failures.length;
  return [
    `${n} item${n === 1 ? '' : 's'} failed:`,
    ...failures.map((f) => `  ${describeFailure(f, { verbose: options.verbose, title: f.workPackageId === undefined ? undefined : options.titles?.get(f.workPackageId) })}`),
  ];
}
