// walkBasis (src/sync/walk-basis.ts): how a source is walked this run, from its previous
// state and the clocks alone. A table of the cases each rule exists for.
import { describe, expect, it } from 'vitest';
import type { ManifestSource } from '../../src/output/manifest.js';
import { CLOCK_SKEW_WARN_MS, clockSkewWarning, FUTURE_SLACK_MS, walkBasis, watermarkAfterWalk, type WalkClocks, type WalkOutcome } from '../../src/sync/walk-basis.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const clocks = (o: Partial<WalkClocks> = {}): WalkClocks => ({ full: false, clock: () => new Date(NOW), walkStart: new Date(NOW), auditIntervalMs: 24 * HOUR, ...o });
const source = (o: Partial<ManifestSource> = {}): ManifestSource => ({ watermark: iso(NOW - HOUR), watermarkAt: iso(NOW - HOUR), retry: [], fingerprint: 'f1', auditedAt: iso(NOW - 2 * HOUR), ...o });

describe('walkBasis', () => {
  const cases: [string, WalkClocks, ManifestSource | undefined, string, string | null, Partial<ReturnType<typeof walkBasis>>][] = [
    ['an ordinary run: from the watermark', clocks(), source(), 'f1', null, { sameShape: true, trusted: true, auditDue: false, incremental: true, storedMark: NOW - HOUR }],
    ['--full', clocks({ full: true }), source(), 'f1', null, { sameShape: true, incremental: false }],
    ['no previous state for the source (a first run)', clocks(), undefined, 'f1', null, { sameShape: false, trusted: false, auditDue: true, incremental: false, storedMark: null }],
    ['the config or mapping changed (another fingerprint)', clocks(), source(), 'f2', null, { sameShape: false, incremental: false }],
    ['names its pages show were renamed', clocks(), source(), 'f1', 'the name of types its pages show changed', { sameShape: false, incremental: false }],
    ['no watermark yet', clocks(), source({ watermark: null }), 'f1', null, { trusted: false, incremental: false }],
    ['a watermark in the future of both clocks', clocks(), source({ watermark: iso(NOW + HOUR) }), 'f1', null, { trusted: false, incremental: false }],
    ['a watermark within the slack of the clocks', clocks(), source({ watermark: iso(NOW + FUTURE_SLACK_MS - 1) }), 'f1', null, { trusted: true, incremental: true }],
    ['a server Date ahead of this machine\'s (a proxy\'s clock): this machine\'s bounds, so a row stamped in the server\'s future is not the watermark', clocks({ walkStart: new Date(NOW + 365 * 24 * HOUR) }), source(), 'f1', null, { trusted: true, ceiling: NOW + FUTURE_SLACK_MS }],
    ['a server clock behind this machine\'s: the earlier one bounds', clocks({ walkStart: new Date(NOW - 2 * HOUR) }), source(), 'f1', null, { trusted: false, ceiling: NOW - 2 * HOUR + FUTURE_SLACK_MS }],
    ['the audit is due (interval passed)', clocks(), source({ auditedAt: iso(NOW - 25 * HOUR) }), 'f1', null, { auditDue: true, incremental: false }],
    ['the audit never ran', clocks(), source({ auditedAt: undefined }), 'f1', null, { auditDue: true, incremental: false }],
    ['an audit stamp in the future (a clock set back)', clocks(), source({ auditedAt: iso(NOW + 2 * HOUR) }), 'f1', null, { auditDue: true, incremental: false }],
    ['no server Date: the ceiling is the watermark plus the real time since it was taken', clocks({ walkStart: null }), source({ watermark: iso(NOW - 3 * HOUR), watermarkAt: iso(NOW - HOUR) }), 'f1', null, { trusted: true, ceiling: NOW - 2 * HOUR + FUTURE_SLACK_MS }],
  ];
  for (const [name, c, prev, fingerprint, remapAll, expected] of cases) {
    it(name, () => {
      expect(walkBasis(c, prev, fingerprint, remapAll)).toMatchObject(expected);
    });
  }
});

describe('watermarkAfterWalk', () => {
  const row = (ms: number): WalkOutcome['newest'] => ({ ms, text: iso(ms).replace('Z', '000Z') });
  const outcome = (o: Partial<WalkOutcome> = {}): WalkOutcome => ({ newest: row(NOW - HOUR), walkedAll: false, walkStart: new Date(NOW), trusted: true, storedWatermark: iso(NOW - 2 * HOUR), ...o });
  const cases: [string, WalkOutcome, string | null][] = [
    ['a keyset walk: the newest row received, as the server wrote it', outcome(), iso(NOW - HOUR).replace('Z', '000Z')],
    ['a walk of every work package: the newest row when it is older than the server\'s clock at the start', outcome({ walkedAll: true }), iso(NOW - HOUR).replace('Z', '000Z')],
    ['a walk of every work package with a row newer than its start (edited during it): the start', outcome({ walkedAll: true, newest: row(NOW + 1000) }), iso(NOW)],
    ['… and no server Date to bound it: the newest row', outcome({ walkedAll: true, newest: row(NOW + 1000), walkStart: null }), iso(NOW + 1000).replace('Z', '000Z')],
    ['a keyset walk with a row newer than the start: the row (later edits are later still)', outcome({ newest: row(NOW + 1000) }), iso(NOW + 1000).replace('Z', '000Z')],
    ['nothing received, the stored watermark trusted: it stands', outcome({ newest: null }), iso(NOW - 2 * HOUR)],
    ['nothing received, the stored watermark not trusted: none', outcome({ newest: null, trusted: false }), null],
    ['nothing received in a walk of every work package (an empty source): none', outcome({ newest: null, walkedAll: true }), null],
  ];
  for (const [name, o, expected] of cases) {
    it(name, () => {
      expect(watermarkAfterWalk(o)).toBe(expected);
    });
  }
});

describe('clockSkewWarning', () => {
  const machine = new Date(NOW);
  it('no Date header, or within five minutes either way: nothing to say', () => {
    expect(clockSkewWarning(null, machine)).toBeNull();
    expect(clockSkewWarning(new Date(NOW + CLOCK_SKEW_WARN_MS), machine)).toBeNull();
    expect(clockSkewWarning(new Date(NOW - CLOCK_SKEW_WARN_MS), machine)).toBeNull();
  });
  const cases: [string, number, RegExp][] = [
    ['a proxy\'s clock six minutes ahead', 6 * 60_000, /is 6 min ahead of this machine's \(2026-03-01T12:00:00\.000Z\)/],
    ['the server three hours behind', -3 * HOUR, /is 3 h behind this machine's/],
    ['a year apart', 365 * 24 * HOUR, /is 365 days ahead of/],
  ];
  for (const [name, apart, pattern] of cases) {
    it(`${name}: names both clocks and what curate needs of them`, () => {
      const text = clockSkewWarning(new Date(NOW + apart), machine);
      expect(text).toMatch(pattern);
      expect(text).toContain(`Date header: ${iso(NOW + apart)}`);
      expect(text).toMatch(/needs one of them right/);
    });
  }
});
