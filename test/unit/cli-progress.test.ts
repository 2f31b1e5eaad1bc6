// The progress line's counts and wording (the CLI shows it in a spinner or every 10 s).
import { describe, expect, it } from 'vitest';
import { Progress, colorEnabled } from '../../src/cli/output.js';

describe('Progress', () => {
  it('totals: a first page starts a query, later pages only raise it; done, files, MB and an ETA', () => {
    const p = new Progress(0);
    p.onEvent({ type: 'page', source: 'a', offset: 1, total: 100, workPackages: 50 });
    p.onEvent({ type: 'page', source: 'a', offset: 2, total: 60, workPackages: 50 }); // a keyset walk: what is left
    p.onEvent({ type: 'page', source: 'b', offset: 1, total: 40, workPackages: 40 });
    p.onEvent({ type: 'page', source: 'b', offset: 1, total: 10, workPackages: 10 }); // a second query (refetch by id)
    p.onEvent({ type: 'page', source: 'b', offset: 2, total: 15, workPackages: 5 }); // a chunked listing counts on
    for (let i = 0; i < 31; i++) p.onEvent({ type: 'workPackage', source: 'a', id: i, skipped: false });
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
