// Where a run starts from: a real run sweeps the temporary files an interrupted run left,
// then the write-ahead journal and the previous state are read. The state is read lazily
// (manifest.json, then a shard when the run needs its entries: previous-state.ts) unless the
// run is --full, found a journal (an interrupted run's pages are checked against every
// shard), or starts again after a shard that disagreed with manifest.json.
import { readFolderStamps } from '../output/folder-stamps.js';
import { readJournal, type Journal } from '../output/journal.js';
import { readState } from '../output/manifest.js';
import { sweepLeftovers } from '../output/staging.js';
import { PreviousState } from './previous-state.js';
import type { RunContext } from './run-context.js';

/**
 * `stateRead` tells the listings, which start before the state is read, whether the server
 * answered their author select before (a source recorded authors): at once when every
 * shard must be read (seconds at 100,000; the listings do not wait for that).
 */
export async function openState(ctx: RunContext, lazy: boolean, stateRead: (answered: boolean) => void): Promise<{ journal: Journal; previous: PreviousState }> {
  const { root, options } = ctx;
  if (!ctx.dryRun) {
    const swept = await sweepLeftovers(root);
    if (swept) ctx.warn(`removed ${swept} leftover temporary file(s) of an interrupted run`);
  }
  const journal = await readJournal(root);
  const readLazily = lazy && !options.full && journal.size === 0;
  if (!readLazily) stateRead(false);
  const previous = new PreviousState(await readState(root, options.profile.name, options.stateCache, { lazy: readLazily }), {
    onRead: (shard, bytes) => ctx.emit({ type: 'stateRead', shard, bytes }),
    ...(options.stateTextBytes !== undefined ? { textBytesHeld: options.stateTextBytes } : {}),
  });
  stateRead(previous.sourceNames().some((name) => previous.source(name)!.authors !== undefined));
  // A --full run lists every folder it keeps anything in, so it needs no stamps.
  if (!options.full) previous.folderStamps = await readFolderStamps(root, previous.digest);
  return { journal, previous };
}
