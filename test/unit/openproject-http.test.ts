// Pure parts of the request helper and the query builder: wait hints, backoff, URL
// checks, where credentials go, error messages, JSON sniffing, filters, env credentials.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CurateError, redactUrl } from '../../src/errors.js';
import { ID_CHUNK, buildFilters, listQuery, splitById } from '../../src/openproject/client.js';
import { Http, backoffMs, checkBaseUrl, errorFromBody, excerpt, isRetryableError, parseJsonBody, serverWaitMs } from '../../src/openproject/http.js';
import { createOpenProjectClient, credentialsFromEnv } from '../../src/openproject/index.js';

const KEY = 'opapi-unit-secret-5f0e';

describe('server wait hints', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['Retry-After seconds', { 'retry-after': '3' }, 3000],
    ['Retry-After 0', { 'retry-after': '0' }, 0],
    ['Retry-After HTTP date', { 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, 10_000],
    ['Retry-After date in the past', { 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, 0],
    ['RateLimit-Reset epoch seconds (rack-attack)', { 'ratelimit-reset': String(now / 1000 + 5) }, 5000],
    ['RateLimit-Reset delta seconds (IETF draft)', { 'ratelimit-reset': '7' }, 7000],
    ['RateLimit-Reset epoch in the past', { 'ratelimit-reset': String(now / 1000 - 5) }, 0],
    ['Retry-After wins over RateLimit-Reset', { 'retry-after': '2', 'ratelimit-reset': '9' }, 2000],
    ['unparsable Retry-After falls back to RateLimit-Reset', { 'retry-after': 'soon', 'ratelimit-reset': '4' }, 4000],
    ['array header', { 'retry-after': ['1', '5'] }, 1000],
    ['nothing', {}, null],
  ])('%s', (_name, headers, ms) => {
    expect(serverWaitMs(headers, now)).toBe(ms);
  });
});

describe('backoff', () => {
  it('exponential with full jitter, never below the server hint, capped', () => {
    expect(backoffMs(0, 500, 60_000, null, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 60_000, null, () => 1)).toBe(4000);
    expect(backoffMs(3, 500, 60_000, null, () => 0)).toBe(0);
    expect(backoffMs(1, 500, 60_000, 9000, () => 0)).toBe(9000);
    expect(backoffMs(20, 500, 60_000, 999_999, () => 1)).toBe(60_000);
  });
  it('property: 0 ≤ wait ≤ cap, wait ≥ min(hint, cap), wait ≤ max(base·2^attempt, hint)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 120_000 }), fc.option(fc.integer({ min: 0, max: 10_000_000 })), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, cap, hint, r) => {
        const w = backoffMs(attempt, base, cap, hint, () => r);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThanOrEqual(cap);
        expect(w).toBeGreaterThanOrEqual(Math.min(hint ?? 0, cap));
        expect(w).toBeLessThanOrEqual(Math.max(base * 2 ** attempt, hint ?? 0));
      }),
    );
  });
});

describe('retryable network errors', () => {
  it.each(['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])('%s', (code) => {
    expect(isRetryableError(Object.assign(new Error('x'), { code }))).toBe(true);
  });
  it('others are not', () => {
    expect(isRetryableError(new Error('x'))).toBe(false);
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }))).toBe(false);
    expect(isRetryableError(null)).toBe(false);
  });
});

describe('base URL', () => {
  it('refuses plain http to a non-loopback host unless insecureHttp, saying what to do', () => {
    const e = (() => {
      try {
        checkBaseUrl('http://op.example.com/openproject', false);
      } catch (x) {
        return x;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(CurateError);
    expect((e as CurateError).code).toBe('CONFIG');
    expect((e as Error).message).toMatch(/use https.*--insecure-http/);
    expect(checkBaseUrl('http://op.example.com', true).host).toBe('op.example.com');
    for (const ok of ['http://localhost:8080', 'http://127.0.0.1:3000', 'http://[::1]:3000', 'https://op.example.com']) expect(() => checkBaseUrl(ok, false)).not.toThrow();
  });
  it('refuses other schemes, junk and credentials in the URL (without echoing them)', () => {
    expect(() => checkBaseUrl('ftp://op.example.com', false)).toThrow(/must be https/);
    expect(() => checkBaseUrl('not a url', false)).toThrow(/not a valid URL/);
    let msg = '';
    try {
      createOpenProjectClient({ baseUrl: `https://apikey:${KEY}@op.example.com` });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/must not contain credentials/);
    expect(msg).not.toContain(KEY);
  });
  it('rejects nonsense options', () => {
    expect(() => createOpenProjectClient({ baseUrl: 'https://op.example.com', concurrency: 0 })).toThrow(/concurrency must be an integer ≥ 1/);
    expect(() => createOpenProjectClient({ baseUrl: 'https://op.example.com', pageSize: 1.5 })).toThrow(/pageSize/);
  });
});

describe('request targets and credentials', () => {
  const http = new Http({ baseUrl: 'https://op.example.com/openproject/', apiKey: KEY, retries: 0, backoffBaseMs: 1, maxBackoffMs: 1, timeoutMs: 1000, concurrency: 2 });
  const bearer = new Http({ baseUrl: 'https://op.example.com', token: KEY, retries: 0, backoffBaseMs: 1, maxBackoffMs: 1, timeoutMs: 1000, concurrency: 2 });
  afterAll(async () => {
    await http.close();
    await bearer.close();
  });
  it('builds API URLs under the sub-path; server hrefs already carry it', () => {
    expect(http.api('/api/v3/types')).toBe('https://op.example.com/openproject/api/v3/types');
    expect(http.resolve('/openproject/api/v3/attachments/1/content')).toBe('https://op.example.com/openproject/api/v3/attachments/1/content');
    expect(http.resolve('https://s3.example.com/b/1?sig=x')).toBe('https://s3.example.com/b/1?sig=x');
  });
  it('basic auth user "apikey" or Bearer, only to the OpenProject origin', () => {
    expect(http.headersFor('https://op.example.com/openproject/api/v3/types', 'application/json').authorization).toBe(`Basic ${Buffer.from(`apikey:${KEY}`).toString('base64')}`);
    expect(bearer.headersFor('https://op.example.com/api/v3/types', 'application/json').authorization).toBe(`Bearer ${KEY}`);
    for (const other of ['https://s3.example.com/b/1', 'http://op.example.com/api/v3/types', 'https://op.example.com:8443/api/v3/types', 'https://evil.op.example.com/api']) {
      expect(http.headersFor(other, '*/*').authorization).toBeUndefined();
    }
  });
});

describe('error messages', () => {
  const url = 'https://op.example.com/api/v3/work_packages/9/attachments';
  const hal = 'application/hal+json; charset=utf-8';
  it('401: identifier and message from the body, what to check, no secrets', () => {
    const e = errorFromBody(url, 401, JSON.stringify({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:Unauthenticated', message: 'You did not provide the correct credentials.' }), hal);
    expect(e.status).toBe(401);
    expect(e.errorIdentifier).toBe('Unauthenticated');
    expect(e.message).toBe(`GET ${url} → 401 [Unauthenticated]: You did not provide the correct credentials. Check OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) and that the key belongs to a user who can see these projects.`);
  });
  it('404 names the resource', () => {
    const e = errorFromBody(url, 404, JSON.stringify({ _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:NotFound', message: 'The requested resource could not be found.' }), hal, 'work package #9 (its attachments)');
    expect(e.message).toMatch(/→ 404 \[NotFound\]: The requested resource could not be found\. Work package #9 \(its attachments\) does not exist or is not visible to this key\./);
  });
  it('a non-JSON error body: content type and an excerpt', () => {
    const e = errorFromBody(url, 404, '<html>\n  <body>Not   Found</body></html>', 'text/html');
    expect(e.errorIdentifier).toBeNull();
    expect(e.message).toContain('unexpected text/html: "<html> <body>Not Found</body></html>"');
  });
  it('redacts secret-looking query parameters of URLs', () => {
    const e = errorFromBody('https://s3.example.com/b/1?X-Amz-Signature=abc&X-Amz-Credential=def&part=1', 403, '', '');
    expect(e.message).not.toMatch(/abc|def/);
    expect(redactUrl('https://u:p@h.example/x?api_key=abc&page=2')).toBe('https://h.example/x?api_key=REDACTED&page=2');
  });
});

describe('JSON bodies', () => {
  it('HTML where JSON was expected: what came back, shortened', () => {
    const r = parseJsonBody(`<!DOCTYPE html><html><title>Maintenance</title>${'x'.repeat(500)}</html>`, 'text/html; charset=utf-8');
    expect(r).toEqual({ ok: false, detail: expect.stringMatching(/^expected JSON, got text\/html; charset=utf-8: "<!DOCTYPE html><html><title>Maintenance<\/title>x+…"$/) as unknown });
    expect((r as { detail: string }).detail.length).toBeLessThan(160);
  });
  it('truncated JSON', () => {
    const r = parseJsonBody('{"_type":"WorkPackageCollection","total":3', 'application/hal+json');
    expect(r.ok).toBe(false);
    expect((r as { detail: string }).detail).toMatch(/^expected JSON, got invalid application\/hal\+json \(.*; 42 bytes\): "\{\\"_type\\"/);
  });
  it('good JSON', () => {
    expect(parseJsonBody('{"a":1}', 'application/hal+json; charset=utf-8')).toEqual({ ok: true, value: { a: 1 } });
    expect(excerpt('a\n\nb')).toBe('"a b"');
  });
});

describe('work package queries', () => {
  it('always sends an explicit filter: [] when unconstrained (absent = "open only")', () => {
    expect(buildFilters({})).toBe('[]');
    expect(buildFilters({ typeIds: [], projectIds: [] })).toBe('[]');
    expect(new URLSearchParams(listQuery({}, 1, 1000)).get('filters')).toBe('[]');
  });
  it('projects, types, statuses, ids as string ids; updatedAt as an open-ended <>d range', () => {
    expect(JSON.parse(buildFilters({ projectIds: [2, 5], typeIds: [3], statusIds: [1, 12], ids: [7, 8], updatedSince: '2021-01-01T00:00:00Z' }))).toEqual([
      { project: { operator: '=', values: ['2', '5'] } },
      { type: { operator: '=', values: ['3'] } },
      { status: { operator: '=', values: ['1', '12'] } },
      { id: { operator: '=', values: ['7', '8'] } },
      { updatedAt: { operator: '<>d', values: ['2021-01-01T00:00:00Z', ''] } },
    ]);
  });
  it('offset is a page number, sortBy is explicit, select only when asked', () => {
    const p = new URLSearchParams(listQuery({ typeIds: [4] }, 3, 1000));
    expect(Object.fromEntries(p)).toEqual({ filters: '[{"type":{"operator":"=","values":["4"]}}]', includeSubprojects: 'false', offset: '3', pageSize: '1000', sortBy: '[["id","asc"]]' });
    // Subprojects only when asked for: a server's own default would include them.
    expect(new URLSearchParams(listQuery({ projectIds: [1], includeSubprojects: true }, 1, 10)).get('includeSubprojects')).toBe('true');
    expect(new URLSearchParams(listQuery({}, 1, 1000, 'total,elements/id')).get('select')).toBe('total,elements/id');
  });
});

describe('long id lists', () => {
  it('are split into sorted, de-duplicated chunks of at most ID_CHUNK ids; the rest of the query is kept', () => {
    expect(splitById({ ids: [3, 1], typeIds: [2] })).toEqual([{ ids: [3, 1], typeIds: [2] }]);
    const ids = Array.from({ length: 2 * ID_CHUNK + 5 }, (_, i) => 10_000 - i);
    const parts = splitById({ ids: [...ids, ids[0]!], typeIds: [2] });
    expect(parts.map((p) => p.ids!.length)).toEqual([ID_CHUNK, ID_CHUNK, 5]);
    expect(parts.flatMap((p) => p.ids)).toEqual([...ids].sort((a, b) => a - b));
    expect(parts.every((p) => p.typeIds?.[0] === 2)).toBe(true);
    // A chunk's URL stays well under the 8 KiB request lines proxies accept.
    expect(`/api/v3/work_packages?${listQuery({ ...parts[0]!, projectIds: [12, 13], statusIds: [1, 2, 3] }, 1, 1000)}`.length).toBeLessThan(4096);
  });
});

describe('credentials from the environment', () => {
  it('OPENPROJECT_API_KEY (basic) wins over OPENPROJECT_TOKEN (bearer); blanks are unset', () => {
    expect(credentialsFromEnv({ OPENPROJECT_API_KEY: 'k', OPENPROJECT_TOKEN: 't' })).toEqual({ apiKey: 'k' });
    expect(credentialsFromEnv({ OPENPROJECT_API_KEY: '  ', OPENPROJECT_TOKEN: 't' })).toEqual({ token: 't' });
    expect(credentialsFromEnv({})).toEqual({});
  });
});
