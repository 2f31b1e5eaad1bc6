// What a run carries of a journal an interrupted run left (src/sync/keep.ts).
import { describe, expect, it } from 'vitest';
import { carriedJournal } from '../../src/sync/keep.js';
import type { Ledger, Outcome } from '../../src/sync/ledger.js';

/** A ledger that knows only the outcomes given. */
const ledgerOf = (outcomes: Record<number, Outcome['kind']>): Ledger => ({ outcome: (id: number) => (outcomes[id] ? { kind: outcomes[id] } : undefined) }) as unknown as Ledger;

describe('carriedJournal', () => {
  // Paths: a.md owned by #1 (not looked at), b.md owned by #2 (mapped), c.md owned by #3
  // (kept after a comparison), and two paths no state owns (the interrupted run wrote them
  // for work packages whose new state it did not record).
  const journal = new Map([
    ['a.md', 'A'],
    ['b.md', 'B'],
    ['c.md', 'C'],
    ['new-4.md', 'N4'],
    ['new-5.md', 'N5'],
  ]);
  const owners = new Map([
    ['a.md', 1],
    ['b.md', 2],
    ['c.md', 3],
  ]);
  const ledger = ledgerOf({ 2: 'mapped', 3: 'kept' });

  it('an ordinary run carries the owned paths it left unchecked, and no orphan (it planned them all)', () => {
    expect([...carriedJournal(journal, owners, ledger).keys()]).toEqual(['a.md']);
  });

  it('a targeted run also carries the orphans it did not claim: it left them in place', () => {
    expect([...carriedJournal(journal, owners, ledger, { claimed: new Set(['new-4.md']) }).keys()]).toEqual(['a.md', 'new-5.md']);
  });
});
