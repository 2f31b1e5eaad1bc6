// The failure lines and the printed `git apply` command: pure wording.
import { describe, expect, it } from 'vitest';
import { describeFailure, failureReport, shortenUrls } from '../../src/cli/failures.js';
import { applyCommand } from '../../src/cli/patch.js';

describe('failure lines', () => {
  const signed = 'GET http://127.0.0.1:4000/bucket/258?expires=1795724111&signature=REDACTED → 500: attachment #258 ("logo.png"): An internal error has occured. (gave up after 6 attempts)';
  it('name the work package and its title, keep the reason, drop origins and queries, say what happens next', () => {
    expect(describeFailure({ source: 'news', workPackageId: 20012, attachmentId: 258, message: signed }, { title: 'A "quoted" title' })).toBe(
      '#20012 "A \\"quoted\\" title": GET /bucket/258 → 500: attachment #258 ("logo.png"): An internal error has occured. (gave up after 6 attempts) (its last good files are kept; it is retried on the next run)',
    );
    expect(describeFailure({ workPackageId: 7, message: 'work package #7: bad\nthing.' })).toBe('#7: bad; thing (its last good files are kept; it is retried on the next run)');
    expect(describeFailure({ source: 'news', message: 'a page failed' })).toBe('source "news": a page failed (retried on the next run)');
    expect(describeFailure({ workPackageId: 1, message: signed }, { verbose: true })).toContain('http://127.0.0.1:4000/bucket/258?expires=');
    expect(shortenUrls('see https://op.example.com/api/v3/x?a=1, then')).toBe('see /api/v3/x, then');
  });

  it('the end of a run: a count, then one line each', () => {
    expect(failureReport([])).toEqual([]);
    expect(failureReport([{ workPackageId: 1, message: 'x' }, { workPackageId: 2, message: 'y' }], { titles: new Map([[2, 'Two']]) })).toEqual([
      '2 items failed:',
      '  #1: x (its last good files are kept; it is retried on the next run)',
      '  #2 "Two": y (its last good files are kept; it is retried on the next run)',
    ]);
  });
});

describe('the git apply command', () => {
  it('from the work tree root, from a subfolder, and a path that needs quoting', () => {
    expect(applyCommand('changes.patch', { prefix: 'content/', applyDir: '/r', cwd: '/r' })).toBe('git apply changes.patch');
    expect(applyCommand('changes.patch', { prefix: 'content/', applyDir: '/r', cwd: '/r/a/b' })).toBe('git -C ../.. apply a/b/changes.patch');
    expect(applyCommand('/tmp/my changes.patch', { prefix: '', applyDir: '/r', cwd: '/r/a' })).toBe("git -C .. apply '../tmp/my changes.patch'");
  });
});
