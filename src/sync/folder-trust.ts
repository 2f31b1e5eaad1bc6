// Which content folders the next run need not list (output/folder-stamps.ts keeps their
// stamps). The next run answers "every file the state records here is present" from a
// folder's unchanged stamp, so a run records one only when that answer was true when it
// looked and nothing can have changed unseen since:
// 1. its stamp was taken before it was listed (or trusted), and it is the same at the end
//    of the run: no name was added, removed or renamed in between, by curate or anyone;
// 2. a listed folder held every name the state written by this run records in it (a
//    work package whose mapping failed keeps files that may be missing);
// 3. a listed folder's last change was earlier than any change made after its stat can be
//    stamped: timestamps advance by a clock tick, and a change in the same tick as the
//    stamp would leave it unchanged (git's "racily clean" entries). A folder listed at the
//    start of a run must have changed at least `marginMs` before it was looked at (a clock
//    set back makes a change look recent, so its stamp is not recorded either). A folder
//    listed after apply is compared with the filesystem's own clock, read just before its
//    stat (folder-stamps.ts `readFileClock`): its last change must be earlier;
// 4. the stamps are recorded with the digest of that state (a state written by another
//    run, restored or edited voids them).
// A folder trusted in this run and unchanged at its end keeps its stamp: the files the new
// state records there are the old state's (present, by the run that recorded the stamp),
// or files this run found there (it hashed them while planning) in a folder that has not
// changed since.
//
// Folders a run wrote into change, so their stamps taken at its start are void, and the
// next run lists them. A run that applied lists after apply the folders of its new state
// that had no stamp to lose (new folders: every folder of a first sync), so that the run
// after a first sync lists nothing: the listing it would have paid is paid here, once, when
// it is a small share of the run. The folders it changed that had one are left to the next
// run (listing them here would move the cost, not remove it).
import path from 'node:path';
import { observeFolder, type ObservedFolder, type PresenceCheck } from '../output/disk-state.js';
import { readFileClock, statFolder, writeFolderStamps, type FolderStat } from '../output/folder-stamps.js';
import type { WrittenState } from '../output/manifest.js';
import { decodeHashes, namesPerFolder, type ShardSummary } from '../output/shard-summary.js';
import { eachLimited } from './pool.js';
import type { PreviousState } from './previous-state.js';

export const FOLDER_STAMP_MARGIN_MS = 2000;

/** The stamps to record, from what the run saw of each folder and what it sees now (pure). */
export function stampsToRecord(
  observed: ReadonlyMap<string, ObservedFolder>,
  now: ReadonlyMap<string, FolderStat | null>,
  recordedHashes: ReadonlyMap<string, readonly number[]>,
  marginMs: number,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [dir, seen] of observed) {
    if (!seen.before || now.get(dir)?.stamp !== seen.before.stamp) continue;
    if (!seen.trusted && !foundWhole(seen, recordedHashes.get(dir) ?? [], marginMs)) continue;
    out.set(dir, seen.before.stamp);
  }
  return out;
}

/**
 * Rules 2 and 3 for a listed folder: it held every name the state records there (`recorded`,
 * their hashes), and it last changed before any later change could be stamped.
 */
export function foundWhole(seen: ObservedFolder, recorded: ArrayLike<number>, marginMs: number): boolean {
  if (!seen.before || !seen.names || changedTooLate(seen.before, seen, marginMs)) return false;
  for (let i = 0; i < recorded.length; i++) if (!seen.names.hasHash(recorded[i]!)) return false;
  return true;
}

/** Rule 3: whether a change made after the folder's stat could have left its stamp as it is. */
function changedTooLate(before: FolderStat, seen: ObservedFolder, marginMs: number): boolean {
  if (seen.clock && seen.clock.dev === before.dev) return before.changedNs >= seen.clock.ns;
  return before.changedMs > seen.at - marginMs;
}

/** Name hashes the summaries record, by folder (only the folders asked for). */
export function hashesByFolder(summaries: Iterable<ShardSummary>, folders: ReadonlySet<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of summaries) {
    for (const dir in s.names) {
      if (!folders.has(dir)) continue;
      let list = out.get(dir);
      if (!list) out.set(dir, (list = []));
      const hashes = decodeHashes(s.names[dir]!);
      for (let i = 0; i < hashes.length; i++) list.push(hashes[i]!);
    }
  }
  return out;
}

/**
 * After a real run's state is in place: records the stamps of the folders it may vouch
 * for. `written`: the state the run wrote (its manifest.json's digest, its shards'
 * summaries); null: the state read at the start still stands.
 */
export async function recordFolderStamps(
  root: string,
  presence: PresenceCheck,
  previous: PreviousState,
  written: Pick<WrittenState, 'digest' | 'summaries'> | null,
  rules: { marginMs: number; leastNames: number },
): Promise<void> {
  const { marginMs } = rules;
  const observed = new Map(presence.observed());
  if (!written && observed.size === 0 && previous.folderStamps.size === 0) return;
  const digest = written ? written.digest : previous.digest;
  const summaries = written ? written.summaries : previous.summaries;
  if (!digest || !summaries) return;
  if (written) {
    // Folders of the new state with no stamp to lose: listed now, after the filesystem's clock is read.
    const unseen = [...namesPerFolder(summaries.values())].filter(([dir, n]) => n >= rules.leastNames && !observed.get(dir)?.before).map(([dir]) => dir);
    const clock = unseen.length ? await readFileClock(root) : null;
    // One at a time, each checked as soon as it is listed and its names let go of (it is
    // then as good as trusted: only rule 1 is left). A first sync of 100,000 work packages
    // lists 200,000 names here, at the end of the run, where its peak is (docs/performance.md,
    // twentieth session).
    for (const dir of clock ? unseen : []) {
      const seen = await observeFolder(root, dir, clock!);
      if (seen && foundWhole(seen, hashesByFolder(summaries.values(), new Set([dir])).get(dir) ?? [], marginMs)) observed.set(dir, { ...seen, names: null, trusted: true });
    }
  }
  const now = new Map<string, FolderStat | null>();
  await eachLimited(observed.keys(), 16, async (dir) => void now.set(dir, await statFolder(path.join(root, dir))));
  const listed = new Set([...observed].filter(([, seen]) => !seen.trusted).map(([dir]) => dir));
  const stamps = stampsToRecord(observed, now, hashesByFolder(summaries.values(), listed), marginMs);
  await writeFolderStamps(root, digest, stamps, { digest: previous.digest, stamps: previous.folderStamps });
}

/** How many folders the run listed, and how many it took as unchanged from their stamp. */
export function folderCounts(presence: PresenceCheck | null): { foldersListed: number; foldersTrusted: number } {
  let trusted = 0;
  const observed = presence?.observed() ?? new Map<string, ObservedFolder>();
  for (const o of observed.values()) if (o.trusted) trusted += 1;
  return { foldersListed: observed.size - trusted, foldersTrusted: trusted };
}
