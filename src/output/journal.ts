// Write-ahead journal: before apply puts the first file in place it records every path it
// is about to create or replace, with the bytes' sha256, durably. A run killed between
// the first write and the manifest leaves files that no manifest owns; the next run reads
// the journal and treats each such path as curate's (deleted when nobody wants it, and
// only while it still holds exactly the journaled bytes — a file edited since is left).
// Removed once the manifest that owns the run's files is written.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.js';
import { inKeyOrder, STATE_DIR, TMP_DIR } from './manifest.js';
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
  await writeTextAtomic(path.join(root, JOURNAL_FILE), journalChunks(journal), path.join(root, TMP_DIR));
}

/**
 * The journal's bytes: `stableJson({ files })`, written from the map's sorted keys rather
 * than through an object of every path (a cold sync of 30,000 work packages journals
 * 60,000 paths: that object held a second copy of each as a property name).
 */
export function* journalChunks(journal: Journal): Generator<string> {
  if (journal.size === 0) return yield '{\n  "files": {}\n}\n';
  yield '{\n  "files": {\n';
  const keys = inKeyOrder([...journal.keys()]);
  for (let i = 0; i < keys.length; i++) yield `    ${JSON.stringify(keys[i])}: ${JSON.stringify(journal.get(keys[i]!))}${i < keys.length - 1 ? ',' : ''}\n`;
  yield '  }\n}\n';
}

export async function removeJournal(root: string): Promise<void> {
  await rm(path.join(root, JOURNAL_FILE), { force: true });
}
