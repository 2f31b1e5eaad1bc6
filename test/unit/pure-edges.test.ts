// Pure helpers at the edges: retry timing, URL checks, output paths, diffs and patches.
import { describe, expect, it } from 'vitest';
import { backoffMs, checkBaseUrl, serverWaitMs } from '../../src/openproject/http.js';
import { buildFilters } from '../../src/openproject/client.js';
import { unsafePathReason } from '../../src/output/paths.js';
import { base85, gitBlobId, renderChange } from '../../src/plan/diff.js';
import { closestName } from '../../src/sync/suggest.js';
import { redactUrl } from '../../src/errors.js';

describe('server wait hints', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, 10000],
    [{ 'ratelimit-reset': String(now / 1000 + 5) }, 5000],
    [{ 'ratelimit-reset': '7' }, 7000],
    [{}, null],
    [{ 'retry-after': 'soon' }, null],
  ])('%j → %s ms', (headers, ms) => {
    expect(serverWaitMs(headers, now)).toBe(ms);
  });
  it('backoff: exponential with full jitter, never below the server hint, capped', () => {
    expect(backoffMs(0, 500, 60000, null, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 60000, null, () => 1)).toBe(4000);
    expect(backoffMs(3, 500, 60000, null, () => 0)).toBe(0);
    expect(backoffMs(1, 500, 60000, 9000, () => 0)).toBe(9000);
    expect(backoffMs(20, 500, 60000, 999999, () => 1)).toBe(60000);
  });
});

describe('OpenProject URL and filters', () => {
  it('refuses plain http off loopback, credentials in the URL, other schemes', () => {
    expect(() => checkBaseUrl('http://op.example.com', false)).toThrow(/--insecure-http/);
    expect(checkBaseUrl('http://op.example.com', true).host).toBe('op.example.com');
    expect(checkBaseUrl('http://localhost:8080', false).port).toBe('8080');
    expect(() => checkBaseUrl('ftp://op.example.com', false)).toThrow(/must be https/);
    expect(() => checkBaseUrl('not a url', false)).toThrow(/not a valid URL/);
  });
  it('always sends an explicit filter, [] when unconstrained', () => {
    expect(buildFilters({})).toBe('[]');
    expect(JSON.parse(buildFilters({ typeIds: [3], updatedSince: '2021-01-01T00:00:00Z' }))).toEqual([
      { type: { operator: '=', values: ['3'] } },
      { updatedAt: { operator: '<>d', values: ['2021-01-01T00:00:00Z', ''] } },
    ]);
  });
  it('redacts credentials and secret-looking parameters', () => {
    expect(redactUrl('https://u:p@h.example/x?signature=abc&page=2')).toBe('https://h.example/x?signature=REDACTED&page=2');
  });
});

describe('output paths', () => {
  it.each([
    ['news/a.md', null],
    ['../x', 'has a ".." segment'],
    ['/etc/passwd', 'is absolute'],
    ['a\u0000b', 'contains a NUL byte'],
    ['a/CON.md', 'uses the reserved name "CON.md"'],
    ['a\\b', 'contains a backslash'],
    ['a//b', 'has a "(empty)" segment'],
  ])('%j', (p, reason) => {
    expect(unsafePathReason(p)).toBe(reason);
  });
});

describe('diffs and patches', () => {
  it('git blob ids and base85 match git', () => {
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(gitBlobId(null)).toBe('0'.repeat(40));
    expect(base85(Buffer.from([0, 0, 0, 0]))).toBe('00000');
  });
  it('unified diff with git headers, /dev/null for new files and the no-newline marker', () => {
    const lines = renderChange({ path: 'a.md', oldBytes: null, newBytes: Buffer.from('x\ny'), binary: false });
    expect(lines.slice(0, 5)).toEqual(['diff --git a/a.md b/a.md', 'new file mode 100644', `index ${'0'.repeat(40)}..${gitBlobId(Buffer.from('x\ny'))}`, '--- /dev/null', '+++ b/a.md']);
    expect(lines).toContain('\\ No newline at end of file');
    expect(renderChange({ path: 'i.png', oldBytes: Buffer.from('a'), newBytes: Buffer.from('b'), binary: true }).at(-1)).toBe('Binary files a/i.png and b/i.png differ');
  });
  it('suggests close names only', () => {
    expect(closestName('femtek', ['femtech', 'news'])).toBe(' (did you mean "femtech"?)');
    expect(closestName('zzz', ['femtech', 'news'])).toBe('');
  });
});
