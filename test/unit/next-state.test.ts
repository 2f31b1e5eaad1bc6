// nextSourceState (src/sync/next-state.ts): what each kind of run leaves as a source's state.
import { describe, expect, it } from 'vitest';
import type { ManifestSource } from '../../src/output/manifest.js';
import { nextSourceState, type SourceRun } from '../../src/sync/next-state.js';

const names = { projects: 'p1', types: 't1', statuses: 's1', fields: 'f1' };
const prev: ManifestSource = { watermark: '2026-01-01T00:00:00Z', retry: [7], fingerprint: 'old', names, authors: { '3': 'a' }, auditedAt: '2026-01-01T00:00:00Z' };
const CLOCK = '2026-02-01T00:00:00.000Z';
// `recent` (docs/manifest.md): the rows at or after the watermark less the overlap.
const recent = { from: '2025-12-31T23:55:00.000Z', rows: { '6': '2025-12-31T23:58:00.000Z 1 d6', '8': '2026-01-01T00:00:00.000Z 3 d8' } };
const recentAfter = { from: '2026-01-04T23:55:00.000Z', rows: { '5': '2026-01-05T00:00:00.000Z 4 e5' } };
const walked = (over: Partial<NonNullable<SourceRun['walked']>> = {}): NonNullable<SourceRun['walked']> => ({ fingerprint: 'old', names, renamed: false, watermark: '2026-01-05T00:00:00Z', walkedAll: false, ...over });
const run = (over: Partial<SourceRun>): SourceRun => ({ previous: prev, walked: walked(), held: false, failed: [], clock: CLOCK, ...over });

describe('nextSourceState', () => {
  const cases: { name: string; run: SourceRun; state: ManifestSource | undefined; watermark: string | null }[] = [
    {
      name: 'a clean incremental run moves the watermark and clears the retry list',
      run: run({}),
      state: { ...prev, watermark: '2026-01-05T00:00:00Z', watermarkAt: CLOCK, retry: [] },
      watermark: '2026-01-05T00:00:00Z',
    },
    {
      name: 'a watermark that did not move keeps the instant it was taken at (a no-change run rewrites nothing)',
      run: run({ previous: { ...prev, watermarkAt: '2026-01-01T00:05:00.000Z' }, walked: walked({ watermark: prev.watermark }) }),
      state: { ...prev, watermarkAt: '2026-01-01T00:05:00.000Z', retry: [] },
      watermark: prev.watermark,
    },
    {
      name: 'a run with a failure holds the watermark and retries what failed',
      run: run({ held: true, failed: [9, 2] }),
      state: { ...prev, retry: [2, 9] },
      watermark: prev.watermark,
    },
    {
      name: 'a failed run of a re-mapped source is marked mixed: mapped again next run, with the new config or the old one (found by fuzz:sync, seed 219900698)',
      run: run({ held: true, walked: walked({ fingerprint: 'new', walkedAll: true }) }),
      state: { ...prev, retry: [], fingerprint: 'mixed' },
      watermark: prev.watermark,
    },
    {
      name: 'a failed run after a rename is marked mixed too, with the names as read',
      run: run({ held: true, walked: walked({ names: { ...names, projects: 'p2' }, renamed: true, walkedAll: true }) }),
      state: { ...prev, retry: [], fingerprint: 'mixed', names: { ...names, projects: 'p2' } },
      watermark: prev.watermark,
    },
    {
      name: 'a failed run whose shape did not change keeps its fingerprint',
      run: run({ held: true, failed: [4] }),
      state: { ...prev, retry: [4] },
      watermark: prev.watermark,
    },
    {
      name: 'a clean walk of every work package stamps the audit',
      run: run({ walked: walked({ walkedAll: true, fingerprint: 'new', names: { ...names, projects: 'p2' }, renamed: true }) }),
      state: { ...prev, watermark: '2026-01-05T00:00:00Z', watermarkAt: CLOCK, retry: [], fingerprint: 'new', names: { ...names, projects: 'p2' }, auditedAt: CLOCK },
      watermark: '2026-01-05T00:00:00Z',
    },
    {
      name: 'schemas that could not be read keep the previous field digest',
      run: run({ walked: walked({ names: { projects: 'p1', types: 't1', statuses: 's1' } }) }),
      state: { ...prev, watermark: '2026-01-05T00:00:00Z', watermarkAt: CLOCK, retry: [] },
      watermark: '2026-01-05T00:00:00Z',
    },
    {
      name: 'author digests are replaced when the listing had them, kept when it did not',
      run: run({ walked: walked({ authors: { '4': 'b' } }) }),
      state: { ...prev, watermark: '2026-01-05T00:00:00Z', watermarkAt: CLOCK, retry: [], authors: { '4': 'b' } },
      watermark: '2026-01-05T00:00:00Z',
    },
    {
      name: 'a targeted sync keeps everything but the retry list: succeeded ids leave it, failed ones join',
      run: run({ walked: null, targeted: { ids: [7, 8], failedIds: new Set([8]) }, failed: [8] }),
      state: { ...prev, retry: [8] },
      watermark: prev.watermark,
    },
    {
      name: 'a source that could not be listed keeps its state as it was',
      run: run({ walked: null, held: true }),
      state: prev,
      watermark: prev.watermark,
    },
    {
      name: 'a new source that could not be listed has no state',
      run: run({ previous: undefined, walked: null, held: true }),
      state: undefined,
      watermark: null,
    },
    {
      name: 'a clean run stores the record of recent rows it took with its watermark',
      run: run({ previous: { ...prev, recent }, walked: walked({ recent: recentAfter }) }),
      state: { ...prev, watermark: '2026-01-05T00:00:00Z', watermarkAt: CLOCK, retry: [], recent: recentAfter },
      watermark: '2026-01-05T00:00:00Z',
    },
    {
      name: 'a run with a failure drops the record: the rows it mapped are not in the older one, and it keeps the older watermark',
      run: run({ previous: { ...prev, recent }, held: true, failed: [9], walked: walked({ recent: recentAfter }) }),
      state: { ...prev, retry: [9] },
      watermark: prev.watermark,
    },
    {
      name: 'a targeted sync records the rows it mapped at or after the bound, drops those before it, and leaves failed ones as recorded',
      run: run({
        previous: { ...prev, recent },
        walked: null,
        targeted: {
          ids: [5, 6, 7, 8],
          failedIds: new Set([8]),
          rows: new Map([
            [5, { record: '2026-01-06T00:00:00.000Z 4 e5', ms: Date.parse('2026-01-06T00:00:00.000Z') }],
            [6, { record: '2025-12-01T00:00:00.000Z 2 e6', ms: Date.parse('2025-12-01T00:00:00.000Z') }],
            [8, { record: '2026-01-06T00:00:00.000Z 9 e8', ms: Date.parse('2026-01-06T00:00:00.000Z') }],
          ]),
        },
        failed: [8],
      }),
      state: { ...prev, retry: [8], recent: { from: recent.from, rows: { '5': '2026-01-06T00:00:00.000Z 4 e5', '8': recent.rows['8']! } } },
      watermark: prev.watermark,
    },
    {
      name: 'a source that could not be listed keeps its record (none of its entries changed)',
      run: run({ previous: { ...prev, recent }, walked: null, held: true }),
      state: { ...prev, recent },
      watermark: prev.watermark,
    },
    {
      name: 'a first run with nothing listed has a null watermark and no names of fields',
      run: run({ previous: undefined, walked: walked({ watermark: null, walkedAll: true, names: { projects: 'p1', types: 't1', statuses: 's1' } }) }),
      state: { watermark: null, retry: [], fingerprint: 'old', names: { projects: 'p1', types: 't1', statuses: 's1' }, auditedAt: CLOCK },
      watermark: null,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(nextSourceState(c.run)).toEqual({ state: c.state, watermark: c.watermark });
    });
  }
});
