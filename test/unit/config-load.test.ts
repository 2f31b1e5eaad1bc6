// The configuration loader: every problem at once as `file:line: path: message`, secrets
// refused, env and flag overrides, defaults resolved into ms/bytes/absolute paths.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineOf, loadConfig, parseNow } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { MEDIGY_CONFIG, tempDir } from '../helpers/env.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('curate-config-'));
});
afterEach(async () => {
  await cleanup();
});

const MINIMAL = ['openproject:', '  url: https://op.example.com', 'sources:', '  - name: news', '    projects: [news]', '    types: [Curated Content]', ''].join('\n');

async function load(text: string, options: Partial<Parameters<typeof loadConfig>[0]> = {}) {
  const file = path.join(dir, 'curate.config.yaml');
  await writeFile(file, text);
  return loadConfig({ cwd: dir, env: {}, ...options });
}

/** The ConfigError's problems, or a failure when the text loads. */
async function problemsOf(text: string, options: Partial<Parameters<typeof loadConfig>[0]> = {}): Promise<string[]> {
  try {
    await load(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    return err.problems.length ? err.problems : [err.message];
  }
  throw new Error('expected a ConfigError');
}

describe('defaults and resolution', () => {
  it('fills every default and converts units', async () => {
    const c = await load(MINIMAL);
    expect(c.configPath).toBe(path.join(dir, 'curate.config.yaml'));
    expect(c.openproject).toEqual({
      url: 'https://op.example.com',
      pageSize: 1000,
      concurrency: 8,
      timeoutMs: 30_000,
      retries: 5,
      maxAttachmentBytes: 50 * 1024 * 1024,
      insecureHttp: false,
      credentials: 'none',
    });
    expect(c.outputRoot).toBe(path.join(dir, 'content'));
    expect(c.sync).toEqual({ deleteThreshold: 0.2, overlapSeconds: 300, auditHours: 24 });
    expect(c.profile).toEqual({ name: 'default', options: {} });
    expect(c.sources).toEqual([{ name: 'news', projects: ['news'], types: ['Curated Content'], statuses: [], path: '', options: {} }]);
  });

  it('output.root is relative to the config file, --out to the working directory', async () => {
    await mkdir(path.join(dir, 'site'));
    await writeFile(path.join(dir, 'site', 'c.yaml'), `${MINIMAL}output:\n  root: out\n`);
    const fromFile = await loadConfig({ configPath: 'site/c.yaml', cwd: dir, env: {} });
    expect(fromFile.outputRoot).toBe(path.join(dir, 'site', 'out'));
    const fromFlag = await loadConfig({ configPath: 'site/c.yaml', cwd: dir, env: {}, overrides: { out: 'elsewhere' } });
    expect(fromFlag.outputRoot).toBe(path.join(dir, 'elsewhere'));
  });

  it('environment overrides the URL and says which credential is present, never its value', async () => {
    const c = await load(MINIMAL, { env: { OPENPROJECT_URL: 'https://other.example.org/op', OPENPROJECT_TOKEN: 'tok-secret-123' } });
    expect(c.openproject.url).toBe('https://other.example.org/op');
    expect(c.openproject.credentials).toBe('token');
    expect(JSON.stringify(c)).not.toContain('tok-secret-123');
    const k = await load(MINIMAL, { env: { OPENPROJECT_API_KEY: 'k-secret-456', OPENPROJECT_TOKEN: 't' } });
    expect(k.openproject.credentials).toBe('apiKey');
    expect(JSON.stringify(k)).not.toContain('k-secret-456');
  });

  it('flags override the file: concurrency, insecure http, --now', async () => {
    const c = await load(`${MINIMAL.replace('https://op.example.com', 'http://op.internal')}`, { overrides: { concurrency: 3, insecureHttp: true, now: '2021-02-19T00:00:00Z' } });
    expect(c.openproject.concurrency).toBe(3);
    expect(c.openproject.insecureHttp).toBe(true);
    expect(c.now.toISOString()).toBe('2021-02-19T00:00:00.000Z');
  });

  it('numeric project ids become strings; trailing slashes leave source paths', async () => {
    const c = await load(MINIMAL.replace('projects: [news]', 'projects: [news, 42]').replace('    types:', '    path: news/curations/\n    types:'));
    expect(c.sources[0]!.projects).toEqual(['news', '42']);
    expect(c.sources[0]!.path).toBe('news/curations');
  });

  it('loads the Medigy fixture configuration', async () => {
    const c = await loadConfig({ configPath: MEDIGY_CONFIG, env: {} });
    expect(c.profile.name).toBe('medigy');
    expect(c.sources.length).toBeGreaterThan(1);
    expect(new Set(c.sources.map((s) => s.name)).size).toBe(c.sources.length);
  });
});

describe('problems: file, line, key, what is expected', () => {
  // [what, file text, expected problem (regex over one line)]
  const table: [string, string, RegExp][] = [
    ['unknown key with suggestion', MINIMAL.replace('  url:', '  pagesize: 10\n  url:'), /^curate\.config\.yaml:2: openproject\.pagesize: unknown key \(did you mean "pageSize"\?\)$/],
    ['unknown top-level key', `${MINIMAL}sycn:\n  full: true\n`, /^curate\.config\.yaml:7: sycn: unknown key \(did you mean "sync"\?\)$/],
    ['unknown source key', MINIMAL.replace('    types:', '    type: [x]\n    types:'), /^curate\.config\.yaml:6: sources\.0\.type: unknown key \(did you mean "types"\?\)$/],
    ['wrong type', MINIMAL.replace('  url:', '  pageSize: many\n  url:'), /^curate\.config\.yaml:2: openproject\.pageSize: expected number/],
    ['out of range', `${MINIMAL}sync:\n  deleteThreshold: 1.5\n`, /^curate\.config\.yaml:8: sync\.deleteThreshold: .*1/],
    ['bad profile name', `${MINIMAL}profile:\n  name: medgy\n`, /^curate\.config\.yaml:8: profile\.name: .*"default".*"medigy"/],
    ['empty projects', MINIMAL.replace('[news]', '[]'), /^curate\.config\.yaml:5: sources\.0\.projects: name at least one project$/],
    ['missing types points at the source', MINIMAL.replace('    types: [Curated Content]\n', ''), /^curate\.config\.yaml:4: sources\.0\.types: expected array/],
    ['no sources', 'openproject:\n  url: https://op.example.com\nsources: []\n', /^curate\.config\.yaml:3: sources: configure at least one source$/],
    ['path escaping the root', MINIMAL.replace('    types:', '    path: ../outside\n    types:'), /^curate\.config\.yaml:6: sources\.0\.path: "\.\.\/outside" has a "\.\." segment; it must be a relative folder inside the output root$/],
    ['absolute path', MINIMAL.replace('    types:', '    path: /etc\n    types:'), /sources\.0\.path: "\/etc" is absolute/],
    ['duplicate source names', `${MINIMAL}  - name: news\n    projects: [b]\n    types: [T]\n`, /^curate\.config\.yaml:7: sources\.1\.name: "news" is already the name of sources\.0; names must be unique$/],
    ['bad source name', MINIMAL.replace('name: news', 'name: my news'), /sources\.0\.name: use letters, digits/],
    ['URL that is not one', MINIMAL.replace('https://op.example.com', 'op.example.com'), /^curate\.config\.yaml:2: openproject\.url: not a URL \(expected e\.g\. https:/],
    ['URL with credentials', MINIMAL.replace('https://op.example.com', 'https://apikey:s3cr3t-xyz@op.example.com'), /openproject\.url: credentials in the URL are not allowed; set OPENPROJECT_API_KEY/],
  ];
  it.each(table)('%s', async (_what, text, expected) => {
    const problems = await problemsOf(text);
    expect(problems.some((p) => expected.test(p)), problems.join('\n')).toBe(true);
    for (const p of problems) expect(p).not.toContain('s3cr3t-xyz');
  });

  it('reports several problems at once, schema and cross-field together', async () => {
    const text = [
      'openproject:',
      '  url: https://op.example.com',
      '  apiKey: hunter2-secret',
      '  concurency: 4',
      'output:',
      '  root: 7',
      'sources:',
      '  - name: a',
      '    projects: []',
      '    types: [T]',
      '    path: ../x',
      '  - name: a',
      '    projects: [p]',
      '    types: [T]',
      '',
    ].join('\n');
    const problems = await problemsOf(text);
    expect(problems.join('\n')).not.toContain('hunter2-secret');
    expect(problems).toEqual(
      expect.arrayContaining([
        'curate.config.yaml:3: openproject.apiKey: secrets never go in the config file; set OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) in the environment',
        'curate.config.yaml:4: openproject.concurency: unknown key (did you mean "concurrency"?)',
        expect.stringMatching(/^curate\.config\.yaml:6: output\.root: expected string/),
        'curate.config.yaml:9: sources.0.projects: name at least one project',
        expect.stringMatching(/^curate\.config\.yaml:11: sources\.0\.path: /),
        expect.stringMatching(/^curate\.config\.yaml:12: sources\.1\.name: "a" is already/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it.each(['token', 'password', 'api_key', 'secret'])('refuses a secret under the key %s', async (key) => {
    const problems = await problemsOf(MINIMAL.replace('  url:', `  ${key}: do-not-print-me\n  url:`));
    expect(problems).toEqual([`curate.config.yaml:2: openproject.${key}: secrets never go in the config file; set OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN) in the environment`]);
  });

  it('a bad OPENPROJECT_URL is named as the environment variable', async () => {
    expect(await problemsOf(MINIMAL, { env: { OPENPROJECT_URL: 'ftp://op.example.com' } })).toEqual([
      'OPENPROJECT_URL: scheme ftp: is not http(s) (expected e.g. https://openproject.example.com)',
    ]);
  });

  it('no URL anywhere says both places to set it', async () => {
    const [msg] = await problemsOf(MINIMAL.replace('  url: https://op.example.com\n', '  pageSize: 10\n'));
    expect(msg).toMatch(/no OpenProject URL: set openproject\.url in curate\.config\.yaml or the OPENPROJECT_URL/);
  });

  it('YAML syntax errors name the line', async () => {
    const [p] = await problemsOf('openproject:\n  url: [unclosed\nsources: x\n');
    expect(p).toMatch(/^curate\.config\.yaml:\d+: /);
  });

  it('a missing file says how to create one', async () => {
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toThrow(/no configuration file at curate\.config\.yaml; create one with `curate init`, or pass --config FILE/);
  });
});

describe('--now', () => {
  it.each([
    ['2021-02-19', '2021-02-19T00:00:00.000Z'],
    ['2021-02-19T10:20:30Z', '2021-02-19T10:20:30.000Z'],
    ['2021-02-19T10:20:30.5+02:00', '2021-02-19T08:20:30.500Z'],
  ])('accepts %s', (value, iso) => {
    expect(parseNow(value).toISOString()).toBe(iso);
  });
  it.each(['yesterday', '2021-02-30', '2021-13-01', '19/02/2021', '2021-02-19T25:00:00Z', ''])('refuses %j with an example of what works', (value) => {
    expect(() => parseNow(value)).toThrow(/is not an ISO-8601 date or datetime \(e\.g\. 2021-02-19T00:00:00Z\)/);
  });
  it('is applied by loadConfig', async () => {
    await expect(load(MINIMAL, { overrides: { now: 'soon' } })).rejects.toThrow(/--now "soon"/);
  });
});

describe('lineOf', () => {
  const text = ['# comment', 'openproject:', '  url: x   # trailing', '', 'sources:', '  - name: a', '    types:', '      - T', '  -   name: b', '    path: p', "  - 'name': c", 'profile:', '  options:', '    deep: 1', ''].join('\n');
  it.each([
    ['openproject', 2],
    ['openproject.url', 3],
    ['sources', 5],
    ['sources.0', 6],
    ['sources.0.name', 6],
    ['sources.0.types.0', 8],
    ['sources.1.name', 9],
    ['sources.1.path', 10],
    ['sources.2.name', 11],
    ['profile.options.deep', 14],
  ] as const)('%s → line %i', (p, line) => {
    expect(lineOf(text, p)).toBe(line);
  });
  it('is null for a path that is not in the text', () => {
    expect(lineOf(text, 'output.root')).toBeNull();
    expect(lineOf(text, 'sources.3')).toBeNull();
  });
});

describe('source paths that name one folder (issue 19 #13)', () => {
  const two = (a: string, b: string, nameB = 'news2'): string => `${MINIMAL.replace('    types:', `    path: ${a}\n    types:`)}  - name: ${nameB}\n    projects: [other]\n    types: [T]\n    path: ${b}\n`;

  it('refuses two paths that differ only in letter case, naming both sources and their sources.N.path', async () => {
    const problems = await problemsOf(two('News', 'news'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^curate\.config\.yaml:11: sources\.1\.path: source "news2" \(sources\.1\.path "news"\) and source "news" \(sources\.0\.path "News"\) name one folder in different letter case \("news" vs "News"\)/);
    expect(problems[0]).toMatch(/macOS and Windows/);
  });

  it.each([
    ['a nested folder under a differently cased parent', 'News', 'news/archive'],
    ['deeper segments', 'sites/Blog/posts', 'sites/blog'],
    ['after normalisation (./ and trailing /)', './News/', 'news'],
    ['Unicode normalisation (NFC vs NFD) and case', 'caf\u00e9', 'CAFE\u0301'],
  ])('also %s', async (_what, a, b) => {
    const problems = await problemsOf(two(a, b));
    expect(problems.some((p) => /sources\.1\.path: .* name one folder in different letter case/.test(p)), problems.join('\n')).toBe(true);
  });

  it.each([
    ['the same folder spelled alike', 'news', 'news'],
    ['the same folder after normalisation', './news/', 'news'],
    ['a nested folder (allowed: files are owned per path, collisions are item errors)', 'news', 'news/archive'],
    ['different folders', 'news', 'events'],
    ['the root and a folder', '""', 'News'],
  ])('accepts %s', async (_what, a, b) => {
    const c = await load(two(a, b));
    expect(c.sources).toHaveLength(2);
  });

  it('normalises ./ and trailing slashes away', async () => {
    const c = await load(two('./news/', 'events//'));
    expect(c.sources.map((s) => s.path)).toEqual(['news', 'events']);
  });
});
