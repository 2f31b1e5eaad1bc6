// recheck.ts changesFrom: where the second walk of a source starts, from the clocks a run
// has. Each row names which clock is wrong; the answer must be no later than the server's
// real time when the run began (T) whenever at least one clock is right, and never before
// the previous watermark when the server's Date confirms it.
import { describe, expect, it } from 'vitest';
import { changesFrom } from '../../src/sync/recheck.js';

const T = Date.parse('2026-03-01T12:00:00Z');
const H = 3_600_000;
const Y = 365 * 24 * H;

describe('changesFrom', () => {
  it.each([
    ['every clock right', { date: T, watermark: T - H, machine: T }, T],
    ['the Date a year ahead, this machine right', { date: T + Y, watermark: T - H, machine: T }, T],
    ['this machine a year ahead, the Date right', { date: T, watermark: T - H, machine: T + Y }, T],
    ['this machine a year behind, the Date right: from the watermark, not a year of rows', { date: T, watermark: T - H, machine: T - Y }, T - H],
    ['no Date, this machine right: the watermark, the earlier', { date: null, watermark: T - H, machine: T }, T - H],
    ['no Date, this machine a year ahead', { date: null, watermark: T - H, machine: T + Y }, T - H],
    ['no Date, this machine a year behind: nothing confirms the watermark, so the machine', { date: null, watermark: T - H, machine: T - Y }, T - Y],
    ['a first sync: the earlier of the Date and this machine', { date: T + Y, watermark: null, machine: T }, T],
    ['a first sync without a Date', { date: null, watermark: null, machine: T }, T],
    ['a watermark stored in the server\'s future (the Date is before it): it bounds nothing', { date: T, watermark: T + 2 * H, machine: T }, T],
  ] as const)('%s', (_what, clocks, expected) => {
    expect(changesFrom(clocks)).toBe(expected);
  });
});
