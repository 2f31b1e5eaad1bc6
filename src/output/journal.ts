// Write-ahead journal: before apply puts the first file in place it records every path it
// is about to create or replace, with the bytes' sha256, durably. A run killed between
// the first write and the manifest leaves files that no manifest owns; the next run reads
// the journal and treats each such path as curate's (deleted when nobody wants it, and
// only while it still holds exactly the journaled bytes — a file edited since is left).
// Removed once the manifest that owns the run's files is written.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.js';
import { inKeyOrder, isArrayIndex, STATE_DIR, TMP_DIR } from './manifest.js';
import { writeTextAtomic } from './writer.js';

export const JOURNAL_FILE = `${STATE_DIR}/journal.json`;

/** Path → sha256 of the bytes a run was about to write. */
export type Journal = Map<string, string>;

export async function readJournal(root: string): Promise<Journal> {
  let text: string;
  try {
    text = await readFile(path.join(root, JOURNAL_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new OutputError(`cannot read ${JOURNAL_FILE}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Written atomically, so this is a hand edit or disk damage: refuse rather than guess
    // which files are curate's.
    throw new OutputError(`${JOURNAL_FILE} is not valid JSON (${(e as Error).message}); it lists files an interrupted sync wrote: delete it and check \`git status\` for files to remove by hand`);
  }
  const files = (json as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files) || !Object.values(files).every((v) => typeof v === 'string')) {
    throw new OutputError(`${JOURNAL_FILE}: files: expected an object of path → sha256`);
  }
  return new Map(Object.entries(files as Record<string, string>));
}

/** Durably record the paths about to be written (merged with what an earlier interrupted run left). */
export async function writeJournal(root: string, journal: Journal): Promise<void> {
  await writeJournalOf(root, journal, []);
}

/**
 * Durably record `extra` (what an earlier interrupted run left, in any order) and `sorted`
 * (path → sha256, in ascending path order: a plan's writes), `sorted` winning where both
 * name a path. The same bytes as writeJournal of the merged map, without that map: a cold
 * sync of 100,000 work packages journals ~200,000 paths, and the map, its sorted keys and
 * their copies raised the start of apply, then the run's peak, by ~30 MB.
 */
export async function writeJournalOf(root: string, extra: Journal, sorted: Iterable<readonly [string, string]>): Promise<void> {
  await writeTextAtomic(path.join(root, JOURNAL_FILE), journalChunksOf(extra, sorted), path.join(root, TMP_DIR));
}

/** The bytes writeJournalOf writes. */
export function journalChunksOf(extra: Journal, sorted: Iterable<readonly [string, string]>): Generator<string> {
  return entryChunks(mergedEntries(extra, sorted));
}

/**
 * The journal's bytes: `stableJson({ files })`, written from the map's sorted keys rather
 * than through an object of every path (a cold sync of 30,000 work packages journals
 * 60,000 paths: that object held a second copy of each as a property name).
 */
export function journalChunks(journal: Journal): Generator<string> {
  return journalChunksOf(journal, []);
}

function* entryChunks(entries: Iterable<readonly [string, string]>): Generator<string> {
  let first = true;
  for (const [k, v] of entries) {
    yield `${first ? '{\n  "files": {\n' : ',\n'}    ${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    first = false;
  }
  yield first ? '{\n  "files": {}\n}\n' : '\n  }\n}\n';
}

/**
 * The entries of `extra` and `sorted` in stableJson's key order (manifest.ts inKeyOrder:
 * array-index keys first, by number, then the others by code unit), `sorted` winning on
 * a path both hold. `sorted` is walked twice and never copied: its index-like paths (a
 * file named `7` at the root, if any) are taken out on the first walk.
 */
function* mergedEntries(extra: Journal, sorted: Iterable<readonly [string, string]>): Generator<readonly [string, string]> {
  const indexed = new Map<string, string>();
  for (const [k, v] of extra) if (isArrayIndex(k)) indexed.set(k, v);
  for (const [k, v] of sorted) if (isArrayIndex(k)) indexed.set(k, v);
  for (const k of inKeyOrder([...indexed.keys()])) yield [k, indexed.get(k)!];
  const others = inKeyOrder([...extra.keys()].filter((k) => !isArrayIndex(k)));
  let i = 0;
  for (const entry of sorted) {
    const k = entry[0];
    if (isArrayIndex(k)) continue;
    while (i < others.length && others[i]! < k) yield [others[i]!, extra.get(others[i++]!)!];
    if (i < others.length && others[i] === k) i++;
    yield entry;
  }
  for (; i < others.length; i++) yield [others[i]!, extra.get(others[i]!)!];
}

export async function removeJournal(root: string): Promise<void> {
  await rm(path.join(root, JOURNAL_FILE), { force: true });
}
