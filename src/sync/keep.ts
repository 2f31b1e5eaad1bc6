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
 * What an interrupted run journaled that stays journaled after this run:
 * - owned paths whose work packages this run left unchecked, so a later run still compares
 *   them with the state;
 * - in a targeted run, the paths no state owns that it did not claim (`claimed`: the paths
 *   its plan writes or keeps): it left them in place (plan.ts, rule 4), and the next ordinary
 *   run decides whether a work package wants them.
 * `owners`: the journaled paths' owners in the previous state (run.ts asks once, for the
 * orphans too).
 */
export function carriedJournal(journal: Journal, owners: ReadonlyMap<string, number>, ledger: Ledger, targeted: { claimed: ReadonlySet<string> } | null = null): Journal {
  return new Map(
    [...journal].filter(([p]) => {
      const owner = owners.get(p);
      if (owner === undefined) return targeted !== null && !targeted.claimed.has(p);
      return leftUnchecked(ledger.outcome(owner)?.kind);
    }),
  );
}
