// The progress line's counts and wording (the CLI shows it in a spinner or every 10 s).
import { describe, expect, it, vi } from 'vitest';
import { Output, PROGRESS_EVERY_MS, Progress, colorEnabled, type GlobalFlags } from '../../src/cli/output.js';

describe('Progress', () => {
  it('totals: a first page starts a query, later pages only raise it; done, files, MB and an ETA', () => {
    const p = new Progress(0);
    p.onEvent({ type: 'page', source: 'a', offset: 1, total: 100, workPackages: 50 });
    p.onEvent({ type: 'page', source: 'a', offset: 2, total: 60, workPackages: 50 }); // a keyset walk: what is left
    p.onEvent({ type: 'page', source: 'b', offset: 1, total: 40, workPackages: 40 });
    p.onEvent({ type: 'page', source: 'b', offset: 1, total: 10, workPackages: 10 }); // a second query (refetch by id)
    p.onEvent({ type: 'page', source: 'b', offset: 2, total: 15, workPackages: 5 }); // a chunked listing counts on
    for (let i = 0; i < 21; i++) p.onEvent({ type: 'workPackage', source: 'a', id: i, skipped: false });
    p.onEvent({ type: 'keptShard', source: 'a', shard: 3, ids: [300, 301, 302, 303, 304, 305, 306, 307, 308, 309] }); // ten at once
    p.onEvent({ type: 'download', attachmentId: 1, bytes: 2_500_000 });
    p.onEvent({ type: 'write', path: 'x.md', action: 'create' });
    p.onEvent({ type: 'itemError', error: { kind: 'mapping', message: 'x' } });
    expect(p.total).toBe(155);
    expect(p.text(31_000)).toBe('31/155 work packages, 1 files written, 2.5 MB downloaded, 1 failed, ETA 2 min 04 s');
  });

  it('never shows more done than total, and no ETA before the first or after the last', () => {
    const p = new Progress(0);
    expect(p.text(5000)).toBe('0/0 work packages, 0 files written, 0.0 MB downloaded');
    p.onEvent({ type: 'workPackage', source: 'a', id: 1, skipped: true });
    expect(p.text(5000)).toBe('1/1 work packages, 0 files written, 0.0 MB downloaded');
  });
});

describe('colorEnabled', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('--no-color, then FORCE_COLOR, then NO_COLOR, then the terminal', () => {
    expect(colorEnabled(undefined, tty, {})).toBe(true);
    expect(colorEnabled(undefined, pipe, {})).toBe(false);
    expect(colorEnabled(false, tty, { FORCE_COLOR: '1' })).toBe(false);
    expect(colorEnabled(undefined, pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(undefined, pipe, { FORCE_COLOR: '' })).toBe(true);
    expect(colorEnabled(undefined, tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(undefined, tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(undefined, tty, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(undefined, tty, { TERM: 'dumb' })).toBe(false);
  });
});

describe('Output off a terminal (cron, CI)', () => {
  const START = Date.parse('2026-01-01T00:00:00.000Z');
  const lines = (writes: string[]): string[] => writes.join('').split('\n').filter(Boolean);

  async function capture(flags: GlobalFlags, during: (out: Output) => void): Promise<string[]> {
    const writes: string[] = [];
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    vi.useFakeTimers({ now: START, toFake: ['Date', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      during(await Output.create(flags));
    } finally {
      write.mockRestore();
      vi.useRealTimers();
      if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    return lines(writes);
  }

  it(`a timestamped line when the sync starts, then the counts every ${PROGRESS_EVERY_MS / 1000} s and never sooner, until progress stops`, async () => {
    const all = await capture({}, (out) => {
      out.start('syncing');
      out.onEvent({ type: 'page', source: 'a', offset: 1, total: 40, workPackages: 40 });
      for (let i = 0; i < 10; i++) out.onEvent({ type: 'workPackage', source: 'a', id: i, skipped: false });
      out.onEvent({ type: 'write', path: 'a.md', action: 'create' });
      out.onEvent({ type: 'download', attachmentId: 1, bytes: 1_500_000 });
      vi.advanceTimersByTime(PROGRESS_EVERY_MS - 1);
      vi.advanceTimersByTime(1);
      vi.advanceTimersByTime(PROGRESS_EVERY_MS - 1);
      vi.advanceTimersByTime(1);
      out.stopProgress();
      vi.advanceTimersByTime(5 * PROGRESS_EVERY_MS);
    });
    expect(PROGRESS_EVERY_MS).toBe(10_000);
    expect(all).toEqual([
      '2026-01-01T00:00:00.000Z syncing…',
      '2026-01-01T00:00:10.000Z syncing: 10/40 work packages, 1 files written, 1.5 MB downloaded, ETA 30 s',
      '2026-01-01T00:00:20.000Z syncing: 10/40 work packages, 1 files written, 1.5 MB downloaded, ETA 1 min 00 s',
    ]);
  });

  it('prints nothing with --quiet or --json', async () => {
    for (const flags of [{ quiet: true }, { json: true }]) {
      const all = await capture(flags, (out) => {
        out.start('syncing');
        out.onEvent({ type: 'workPackage', source: 'a', id: 1, skipped: false });
        vi.advanceTimersByTime(3 * PROGRESS_EVERY_MS);
        out.stopProgress();
      });
      expect(all, JSON.stringify(flags)).toEqual([]);
    }
  });
});
