// The one rule for what keeps its previous entry and files. Used by the planner's scope
// and `keep` input (run.ts), by the next manifest's entries (Ledger.nextWorkPackages) and
// by the journal a run carries: they cannot disagree.
import type { Journal } from '../output/journal.js';
import type { Ledger, Outcome } from './ledger.js';

/**
 * Whether a previously owned work package keeps its entry and files: no outcome (nothing
 * proved it changed or went away: a targeted run, a source that failed), kept (unchanged),
 * failed or deferred (its last good files stay until a run succeeds). Mapped work packages
 * get a new entry; gone ones lose theirs.
 */
export function keepsPrevious(kind: Outcome['kind'] | undefined): boolean {
  return kind === undefined || kind === 'kept' || kind === 'failed' || kind === 'deferred';
}

/**
 * Whether its files were left unchecked by this run (kept without being compared): what an
 * interrupted run journaled for them stays journaled for the next.
 */
export function leftUnchecked(kind: Outcome['kind'] | undefined): boolean {
  return keepsPrevious(kind) && kind !== 'kept';
}

/**
 * Owned paths an interrupted run journaled whose work packages this run left unchecked:
 * they stay journaled, so a later run still compares them with the state. `owners`: the
 * journaled paths' owners in the previous state (run.ts asks once, for the orphans too).
 */
export function carriedJournal(journal: Journal, owners: ReadonlyMap<string, number>, ledger: Ledger): Journal {
  return new Map(
    [...journal].filter(([p]) => {
      const owner = owners.get(p);
      return owner !== undefined && leftUnchecked(ledger.outcome(owner)?.kind);
    }),
  );
}
