// process.ts readAfterRow: which rows a run maps again next run because an attachment was
// added after the row was read (the retry list; test/integration/invariant-regressions.test.ts
// has the histories that need it).
import { describe, expect, it } from 'vitest';
import { readAfterRow } from '../../src/sync/process.js';

const at = (createdAt: string) => ({ createdAt });
/** The run began reading rows at 09:00. */
const runFrom = Date.parse('2026-03-01T09:00:00Z');

describe('readAfterRow', () => {
  it.each([
    ['no attachments', '10:00:00', [], false],
    ['attachments older than the row', '10:00:00', ['08:00:00', '09:59:59'], false],
    ['one created with the row (touch_container: one instant)', '10:00:00', ['10:00:00'], false],
    ['one created after the row, during the run', '10:00:00', ['08:00:00', '10:00:01'], true],
    ['one a millisecond after the row', '10:00:00', ['10:00:00.001'], true],
    // Legacy data breaks the touch rule (the medigy corpus: 7 of 1,116 attachments newer than
    // their work package): only attachments created since the run began count.
    ['one newer than the row but created before the run began', '08:00:00', ['08:59:59'], false],
    ['the same, created as the run began', '08:00:00', ['09:00:00'], true],
  ] as const)('%s → %s', (_what, updated, created, expected) => {
    const row = { updatedAt: `2026-03-01T${updated}Z` };
    expect(readAfterRow(row, created.map((c) => at(`2026-03-01T${c}Z`)), runFrom)).toBe(expected);
  });

  it('an attachment without a createdAt does not count', () => {
    expect(readAfterRow({ updatedAt: '2026-03-01T10:00:00Z' }, [at('')], runFrom)).toBe(false);
  });

  it('a first sync without the server\'s clock (from -Infinity): any attachment newer than its row', () => {
    const row = { updatedAt: '2026-03-01T10:00:00Z' };
    expect(readAfterRow(row, [at('2020-01-01T00:00:00Z')], -Infinity)).toBe(false);
    expect(readAfterRow(row, [at('2026-03-01T10:00:01Z')], -Infinity)).toBe(true);
  });
});
