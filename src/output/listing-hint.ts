// Machine-local record of the queries the last run listed each source with, so that the
// next run can ask for its id listings before the server's names answer (the names decide
// the query: sync/early-listings.ts). Only a hint: a run uses an early listing only when the
// query the names resolve to now is the recorded one, so a stale, damaged or missing file
// costs that run the ~one round trip it would have saved, never a wrong listing.
//
// It lives beside the folder stamps in `.curate/local/` (never committed: the server's ids
// are not part of the state) and names the server by a digest of its URL, not the URL.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkPackageQuery } from '../openproject/types.js';
import { LOCAL_DIR, localDir } from './folder-stamps.js';
import { writeTextAtomic } from './writer.js';

export const LISTING_HINT_FILE = `${LOCAL_DIR}/listings.json`;
const FORMAT = 1;

export interface ListingHint {
  /** Digest of the server's URL (serverKey). */
  server: string;
  /** Whether the server answered the listings' author select (they then start at once). */
  authorsAnswered: boolean;
  /** Source name → the query its id listing was asked with. */
  queries: Record<string, WorkPackageQuery>;
}

/** The server a hint is for: a digest of its URL (a URL may carry what is not ours to write down). */
export const serverKey = (baseUrl: string): string => createHash('sha256').update(baseUrl).digest('hex').slice(0, 32);

/** The hint recorded for this server, or null (none, another server's, or unreadable). */
export async function readListingHint(root: string, server: string): Promise<ListingHint | null> {
  try {
    const json = JSON.parse(await readFile(path.join(root, LISTING_HINT_FILE), 'utf8')) as { version?: unknown; server?: unknown; authorsAnswered?: unknown; queries?: unknown };
    if (json.version !== FORMAT || json.server !== server || typeof json.authorsAnswered !== 'boolean') return null;
    if (typeof json.queries !== 'object' || json.queries === null || Array.isArray(json.queries)) return null;
    const queries: Record<string, WorkPackageQuery> = {};
    for (const [name, q] of Object.entries(json.queries as Record<string, unknown>)) if (isQuery(q)) queries[name] = q;
    return { server, authorsAnswered: json.authorsAnswered, queries };
  } catch {
    return null;
  }
}

/** The file's text for a hint (also what an unchanged hint is compared by). */
const hintText = (h: ListingHint): string => `${JSON.stringify({ version: FORMAT, server: h.server, authorsAnswered: h.authorsAnswered, queries: h.queries }, null, 2)}\n`;

/** Records the hint; nothing is written when it is what `before` holds. */
export async function writeListingHint(root: string, hint: ListingHint, before: ListingHint | null): Promise<boolean> {
  const text = hintText(hint);
  if (before && hintText(before) === text) return false;
  const dir = await localDir(root);
  return writeTextAtomic(path.join(root, LISTING_HINT_FILE), [text], dir);
}

const QUERY_KEYS = new Set(['projectIds', 'typeIds', 'statusIds', 'includeSubprojects']);
const ids = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((x) => Number.isInteger(x)));

/** Only the fields an id listing's query has (a damaged entry is no hint at all). */
function isQuery(q: unknown): q is WorkPackageQuery {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) return false;
  const o = q as Record<string, unknown>;
  return Object.keys(o).every((k) => QUERY_KEYS.has(k)) && ids(o.projectIds) && ids(o.typeIds) && ids(o.statusIds) && (o.includeSubprojects === undefined || typeof o.includeSubprojects === 'boolean');
}
