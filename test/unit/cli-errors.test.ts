// The CLI's error boundary wording, exit statuses, "did you mean" suggestions and commit message.
import { describe, expect, it } from 'vitest';
import { pageCommitMessage } from '../../src/cli/pages.js';
import { EXIT, exitCodeFor } from '../../src/cli/exit-codes.js';
import { describeError, scrub, secretsFromEnv } from '../../src/cli/report-error.js';
import { ConfigError, CurateError, LockedError, MappingError, OpenProjectError, OutputError, SafetyError } from '../../src/errors.js';
import { closestName, levenshtein } from '../../src/sync/suggest.js';

describe('exit statuses', () => {
  it('are the documented numbers', () => {
    expect(EXIT).toEqual({ OK: 0, ERROR: 1, CHANGES: 2, LOCKED: 3, USAGE: 64 });
  });
  it.each([
    [new LockedError('held'), 3],
    [new ConfigError('bad', ['x']), 1],
    [new SafetyError('too many'), 1],
    [new OutputError('disk'), 1],
    [new MappingError(7, 'subject', 'empty'), 1],
    [new OpenProjectError({ method: 'GET', url: 'https://op.example.com/api/v3', status: 500, message: 'boom' }), 1],
    [new Error('bug'), 1],
    ['a string', 1],
  ])('%s → %i', (error, code) => {
    expect(exitCodeFor(error)).toBe(code);
    expect(describeError(error).exitCode).toBe(code);
  });
});

describe('describeError', () => {
  it('a typed error: its message, no "bug", no stack unless verbose', () => {
    const d = describeError(new LockedError('another curate sync (pid 1) is writing; wait for it'));
    expect(d.lines).toEqual(['error: another curate sync (pid 1) is writing; wait for it']);
    expect(d.json).toEqual({ code: 'LOCKED', message: 'another curate sync (pid 1) is writing; wait for it' });
  });

  it('a config error lists every problem', () => {
    const d = describeError(new ConfigError('invalid configuration in c.yaml', ['c.yaml:2: a: x', 'c.yaml:3: b: y']));
    expect(d.lines[0]).toBe('error: invalid configuration in c.yaml\n  - c.yaml:2: a: x\n  - c.yaml:3: b: y');
  });

  it('an unknown error is called a bug and points at --verbose', () => {
    const d = describeError(new TypeError('x is undefined'));
    expect(d.lines).toEqual(['internal error (a bug in curate): x is undefined', 'run again with --verbose for the stack trace, and report it with that output']);
    expect(d.json.code).toBe('INTERNAL');
  });

  it('--verbose adds the stack and the cause chain', () => {
    const root = new Error('connect ECONNREFUSED 127.0.0.1:9');
    const mid = new CurateError('NETWORK', 'GET https://op.example.com/api/v3/projects: connection refused', { cause: root });
    const d = describeError(new CurateError('OPENPROJECT', 'listing projects failed', { cause: mid }), { verbose: true });
    expect(d.lines[0]).toBe('error: listing projects failed');
    expect(d.lines[1]).toMatch(/^CurateError: listing projects failed\n\s+at /);
    expect(d.lines[2]).toMatch(/^caused by: CurateError: GET https:\/\/op\.example\.com\/api\/v3\/projects: connection refused/);
    expect(d.lines[3]).toMatch(/^caused by: Error: connect ECONNREFUSED/);
    expect(describeError(new TypeError('t'), { verbose: true }).lines[1]).toMatch(/^TypeError: t\n\s+at /);
  });

  it.each([
    [401, /check OPENPROJECT_API_KEY/],
    [403, /view permissions/],
    [null, /could not be reached: check openproject\.url/],
    [503, /run again later/],
  ])('an OpenProject %s says what to do next', (status, hint) => {
    const d = describeError(new OpenProjectError({ method: 'GET', url: 'https://op.example.com/api/v3/projects', status, message: 'failed' }));
    expect(d.lines).toHaveLength(2);
    expect(d.lines[1]).toMatch(hint);
  });

  it('a system error is not a bug and says what to check', () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, write '/out/a.md'"), { code: 'ENOSPC', syscall: 'write' });
    const d = describeError(e);
    expect(d.lines[0]).toBe("error: ENOSPC: no space left on device, write '/out/a.md'");
    expect(d.lines[1]).toMatch(/disk is full/);
    expect(d.json.code).toBe('SYSTEM');
  });

  it.each([
    ['EDQUOT', "EDQUOT: disk quota exceeded, write '/out/a.md'", /quota is used up/],
    ['EROFS', "EROFS: read-only file system, mkdir '/out/.curate'", /read-only/],
    ['EACCES', "EACCES: permission denied, open '/out/a.md'", /permissions of the output root/],
  ])('%s says what to check', (code, message, hint) => {
    const d = describeError(Object.assign(new Error(message), { code, syscall: 'write' }));
    expect(d.lines).toEqual([`error: ${message}`, expect.stringMatching(hint)]);
    expect(d.json.code).toBe('SYSTEM');
  });

  it('never prints a secret, even when a foreign message carries one', () => {
    const secret = 'opapi-0123456789abcdef';
    const cause = new Error(`request to https://apikey:${secret}@op.example.com failed`);
    const d = describeError(new Error(`wrapped ${secret}`, { cause }), { verbose: true, secrets: [secret] });
    expect(JSON.stringify(d)).not.toContain(secret);
    expect(d.lines.join('\n')).toContain('[REDACTED]');
  });
});

describe('scrub and secretsFromEnv', () => {
  it('replaces every occurrence; ignores empty and tiny values', () => {
    expect(scrub('a KEY1234 b KEY1234', ['KEY1234'])).toBe('a [REDACTED] b [REDACTED]');
    expect(scrub('a b c', ['', 'a'])).toBe('a b c');
  });
  it('reads both credential variables', () => {
    expect(secretsFromEnv({ OPENPROJECT_API_KEY: ' k1234 ', OPENPROJECT_TOKEN: 't5678' })).toEqual(['k1234', 't5678']);
    expect(secretsFromEnv({})).toEqual([]);
  });
});

describe('did you mean', () => {
  it.each([
    ['', '', 0],
    ['kitten', 'sitting', 3],
    ['pageSize', 'pagesize', 1],
    ['abc', '', 3],
    ['flaw', 'lawn', 2],
  ])('levenshtein(%j, %j) = %i', (a, b, d) => {
    expect(levenshtein(a, b)).toBe(d);
    expect(levenshtein(b, a)).toBe(d);
  });
  it('suggests the closest name, case-insensitively, and nothing when far', () => {
    expect(closestName('femtek', ['news', 'femtech', 'security'])).toBe(' (did you mean "femtech"?)');
    expect(closestName('CURATED CONTENT', ['Curated Content', 'Curated News'])).toBe(' (did you mean "Curated Content"?)');
    expect(closestName('Curated Contnet', ['Curated Content', 'Curated News'])).toBe(' (did you mean "Curated Content"?)');
    expect(closestName('zzzzzz', ['news', 'femtech'])).toBe('');
    expect(closestName('x', [])).toBe('');
  });
});

describe('pageCommitMessage', () => {
  const page = (id: number, action: 'create' | 'update' | 'delete', title: string | null) => ({ id, action, title, pageFile: `news/${id}/index.md`, sitePath: `/news/${id}/`, files: 1 });
  it('names one page: curate: update "Title" (#1234)', () => {
    expect(pageCommitMessage([page(1234, 'update', 'Flu "season" 2026')])).toBe('curate: update "Flu \\"season\\" 2026" (#1234)');
    expect(pageCommitMessage([page(7, 'delete', null)])).toBe('curate: delete #7');
  });
  it('lists several, with counts in the subject, and says what failed and what was left over', () => {
    const msg = pageCommitMessage([page(1, 'create', 'A'), page(2, 'update', 'B'), page(3, 'delete', 'C')], { failed: 1, leftovers: 4, trailer: 'curate watch: reconciliation' });
    expect(msg).toBe(
      'curate: 3 pages (1 created, 1 updated, 1 deleted)\n\n- create "A" (#1)\n- update "B" (#2)\n- delete "C" (#3)\n\nIncludes 4 files curate wrote in earlier runs that were not committed then.\n1 item failed and kept its last good files (retried on the next run).\ncurate watch: reconciliation',
    );
  });
  it('only the sync state changed', () => {
    expect(pageCommitMessage([])).toBe('curate: sync state');
  });
});
