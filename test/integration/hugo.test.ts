// Hugo end-to-end (issue 7): the real CLI syncs the fixtures dataset from the simulator into
// a copy of fixtures/hugo-site, then the real `hugo` builds it. Hugo must build cleanly
// (exit 0, no WARN/ERROR lines), publish one page per markdown file curate wrote, and every
// asset the frontmatter references must exist where the page expects it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStateJson } from '../helpers/state.js';
import { startSimulator } from '../../src/simulator/index.js';
import { createDefaultProfile } from '../../src/mapping/profiles/default.js';
import type { MapContext, SourceSpec } from '../../src/types.js';
import { FIXTURE_DATASET, MEDIGY_CONFIG, ROOT, TEST_TMP, runCli, tempDir } from '../helpers/env.js';
import { loadDirect, probeFor, sourceFor } from '../helpers/medigy-direct.js';

const HUGO_SITE = path.join(ROOT, 'fixtures', 'hugo-site');

function findOnPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, bin))) return path.join(dir, bin);
  }
  return null;
}

const HUGO = findOnPath('hugo');
// In CI a missing hugo is a broken environment, not a reason to pass: the test runs and fails.
// Locally it is skipped, and the reason shows in the test name.
const skipLocally = !HUGO && !process.env.CI;
const title = (s: string): string => (skipLocally ? `${s} (SKIPPED: hugo is not on PATH; install Hugo ≥ 0.111 to run it)` : s);

function run(cmd: string, args: string[], cwd: string, timeout = 0): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, HOME: process.env.HOME } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function mdFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '.curate') out.push(...(await mdFiles(p, base)));
    } else if (e.name.endsWith('.md')) out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}

/** Minimal CSV reader for `hugo list all` (quoted fields may hold commas and "" escapes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = (): void => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

function frontmatter(md: string): Record<string, unknown> {
  const m = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(md);
  if (!m) throw new Error('no frontmatter');
  return yaml.load(m[1]!) as Record<string, unknown>;
}

/** Syncs FIXTURE_DATASET with `configPath` into <tmp>/site/content, builds it with hugo, checks the common invariants. */
async function syncAndBuild(configPath: string | ((dir: string) => Promise<string>), hugoFlags: string[], check: (site: string, mds: string[], publicDir: (md: string) => string) => Promise<void>): Promise<void> {
  expect(HUGO, 'hugo must be on PATH (CI installs it in .ci/run)').not.toBeNull();
  const apiKey = 'hugo-e2e-key-not-a-secret';
  const sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey });
  const { dir, cleanup } = await tempDir('curate-hugo-');
  try {
    const site = path.join(dir, 'site');
    await cp(HUGO_SITE, site, { recursive: true });
    const config = typeof configPath === 'string' ? configPath : await configPath(dir);
    const content = path.join(site, 'content');
    const r = await runCli(['sync', '--config', config, '--out', content, '--now', '2021-02-19T00:00:00Z'], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: apiKey } });
    expect(r.code, r.stderr).toBe(0);
    const mds = await mdFiles(content);
    expect(mds.length).toBeGreaterThan(0);

    const build = await run(HUGO!, ['--printPathWarnings', ...hugoFlags, '-s', site], site);
    expect(build.code, build.output).toBe(0);
    expect(build.output.split('\n').filter((l) => /^\s*(WARN|ERROR)\b/.test(l)), build.output).toEqual([]);

    // Hugo's own view of the content: one row per page with its permalink.
    const list = await run(HUGO!, ['list', 'all', '-s', site], site);
    expect(list.code, list.output).toBe(0);
    const [header, ...rows] = parseCsv(list.output).filter((r) => r.length > 1);
    const pathCol = header!.indexOf('path');
    const linkCol = header!.indexOf('permalink');
    const draftCol = header!.indexOf('draft');
    const byPath = new Map(rows.map((r) => [r[pathCol]!.replace(/^content\//, ''), r]));
    // Every markdown file curate wrote is a page Hugo knows …
    expect([...byPath.keys()].sort()).toEqual(mds);
    // … and that Hugo published (a draft counts only when the build includes drafts).
    const publicDir = (md: string): string => path.join(site, 'public', ...decodeURIComponent(new URL(byPath.get(md)![linkCol]!).pathname).split('/').filter(Boolean));
    const unpublished: string[] = [];
    for (const md of mds) {
      const row = byPath.get(md)!;
      if (row[draftCol] === 'true' && !hugoFlags.includes('--buildDrafts')) {
        unpublished.push(`${md}: draft`);
        continue;
      }
      if (!existsSync(path.join(publicDir(md), 'index.html'))) unpublished.push(`${md}: ${row[linkCol]} has no index.html`);
    }
    expect(unpublished).toEqual([]);
    await check(site, mds, publicDir);
  } finally {
    await sim.close();
    await cleanup();
  }
}

describe.skipIf(skipLocally)('Hugo builds the synced content', () => {
  it(title('medigy profile: every work package is a page, every referenced image/PDF exists beside its page'), async () => {
    await syncAndBuild(MEDIGY_CONFIG, [], async (site, mds) => {
      const missing: string[] = [];
      let referenced = 0;
      for (const md of mds) {
        const fm = frontmatter(await readFile(path.join(site, 'content', md), 'utf8'));
        for (const key of ['featuredImage', 'favIconImage', 'featuredPdf']) {
          const ref = fm[key] as { href?: unknown; valid?: unknown } | undefined;
          if (!ref || ref.valid !== true) continue;
          expect(typeof ref.href, `${md} ${key}.href`).toBe('string');
          referenced++;
          if (!existsSync(path.join(site, 'content', path.dirname(md), ref.href as string))) missing.push(`${md}: ${key}.href ${String(ref.href)}`);
        }
      }
      // The fixtures carry images and PDFs: a run that references none is broken, not clean.
      expect(referenced).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    });
  });

  it(title('default profile: leaf bundles whose images Hugo publishes beside each page'), async () => {
    const writeConfig = async (dir: string): Promise<string> => {
      const medigy = yaml.load(await readFile(MEDIGY_CONFIG, 'utf8')) as { openproject: unknown; sources: { name: string; projects: string[]; types: string[]; statuses?: string[]; path: string }[] };
      const cfg = {
        openproject: medigy.openproject,
        profile: { name: 'default', options: {} },
        // Same selection as the medigy config, default-profile layout (no medigy variants).
        sources: medigy.sources.map((s) => ({ name: s.name, projects: s.projects, types: s.types, statuses: s.statuses ?? [], path: s.path })),
      };
      const file = path.join(dir, 'curate.config.yaml');
      await writeFile(file, yaml.dump(cfg));
      return file;
    };
    // Statuses outside `publishedStatuses` become drafts by design; build them too.
    await syncAndBuild(writeConfig, ['--buildDrafts'], async (site, mds, publicDir) => {
      const missing: string[] = [];
      let referenced = 0;
      for (const md of mds) {
        const fm = frontmatter(await readFile(path.join(site, 'content', md), 'utf8'));
        const refs = [...((fm.images as string[] | undefined) ?? [])];
        const featured = fm.featuredImage as { src?: string } | undefined;
        if (featured?.src) refs.push(featured.src);
        for (const ref of refs) {
          referenced++;
          const beside = path.join(site, 'content', path.dirname(md), ref);
          if (!existsSync(beside)) missing.push(`${md}: ${ref} not beside the page`);
          // A leaf bundle's resources are published next to the page's index.html.
          else if (md.endsWith('/index.md') && !existsSync(path.join(publicDir(md), ref))) missing.push(`${md}: ${ref} not published`);
        }
      }
      expect(referenced).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------
// Issue 14: the default profile on real-form OpenProject (CKEditor 5) descriptions, built by
// the real Hugo with a stock site (baseURL, title, two bare templates, no `unsafe`), then
// checked on public/. Two syncs with a subject edit in between (the simulator's mutation
// API) give a renamed page whose old URL must keep working.
const DEFAULT_FIXTURES = path.join(ROOT, 'fixtures', 'default');
const DEFAULT_DATASET = path.join(DEFAULT_FIXTURES, 'dataset');
const DEFAULT_CONFIG = path.join(DEFAULT_FIXTURES, 'curate.config.yaml');
const STOCK_SITE = path.join(DEFAULT_FIXTURES, 'hugo-site');
const ARTIFACTS = path.join(ROOT, '.ci', 'artifacts');
const BASE = 'http://localhost:1313';
const CHROMIUM = findOnPath('chromium') ?? findOnPath('chromium-browser');

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out.sort();
}

const decode = (s: string): string => s.replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'");
const attrs = (html: string, tag: string, attr: string): string[] => [...html.matchAll(new RegExp(`<${tag}\\b[^>]*?\\s${attr}="([^"]*)"`, 'gi'))].map((m) => decode(m[1]!));

/** The file public/ serves for an URL of the site, or null when it is not on this site. */
function servedFile(publicDir: string, url: URL): string | null {
  if (url.origin !== BASE) return null;
  const p = decodeURIComponent(url.pathname);
  return path.join(publicDir, ...p.split('/').filter(Boolean), ...(p.endsWith('/') ? ['index.html'] : []));
}

interface DefaultRun {
  site: string;
  publicDir: string;
  /** work package id → its page's URL path (from `hugo list all`) */
  pageUrl: Map<number, string>;
  /** URL paths of pages after the first sync (before the rename) */
  firstUrls: Map<number, string>;
  /** whether the manifest holds the profile's memory (where the renamed page's old URL comes from) */
  manifestMemory: boolean;
  builds: string[];
}

describe.skipIf(skipLocally)('default profile: a stock Hugo site renders real OpenProject descriptions in full', () => {
  let r: DefaultRun;
  let cleanup = async (): Promise<void> => {};

  async function build(site: string): Promise<{ output: string; urls: Map<number, string> }> {
    await rm(path.join(site, 'public'), { recursive: true, force: true });
    const b = await run(HUGO!, ['--printPathWarnings', '-s', site], site);
    expect(b.code, b.output).toBe(0);
    const list = await run(HUGO!, ['list', 'all', '-s', site], site);
    expect(list.code, list.output).toBe(0);
    const [header, ...rows] = parseCsv(list.output).filter((row) => row.length > 1);
    const urls = new Map<number, string>();
    for (const row of rows) {
      const m = /\/(\d+)\/index\.md$/.exec(row[header!.indexOf('path')]!);
      if (m && row[header!.indexOf('draft')] !== 'true') urls.set(Number(m[1]), new URL(row[header!.indexOf('permalink')]!).pathname);
    }
    return { output: b.output, urls };
  }

  beforeAll(async () => {
    expect(HUGO, 'hugo must be on PATH (CI installs it in .ci/run)').not.toBeNull();
    const apiKey = 'hugo-default-key-not-a-secret';
    const sim = await startSimulator({ dataset: DEFAULT_DATASET, apiKey });
    const dir = await mkdtemp(path.join(TEST_TMP, 'curate-hugo-default-'));
    cleanup = async () => {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    };
    const site = path.join(dir, 'site');
    await cp(STOCK_SITE, site, { recursive: true });
    const sync = async (): Promise<void> => {
      const s = await runCli(['sync', '--config', DEFAULT_CONFIG, '--out', path.join(site, 'content')], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: apiKey } });
      expect(s.code, s.stderr).toBe(0);
    };
    await sync();
    const first = await build(site);
    // The rename: a subject edit in OpenProject between two syncs.
    sim.updateWorkPackage(101, (wp) => {
      wp.subject = 'Getting started, revised';
      wp.lockVersion = Number(wp.lockVersion) + 1;
    });
    await sync();
    const second = await build(site);
    const state = JSON.stringify(await readStateJson(path.join(site, 'content')));
    r = { site, publicDir: path.join(site, 'public'), pageUrl: second.urls, firstUrls: first.urls, manifestMemory: state.includes('"memory"'), builds: [first.output, second.output] };
  }, 120_000);
  afterAll(async () => cleanup());

  const page = async (id: number): Promise<string> => readFile(path.join(r.publicDir, ...r.pageUrl.get(id)!.split('/').filter(Boolean), 'index.html'), 'utf8');

  it('builds without warnings and publishes every published work package once, drafts not at all', () => {
    for (const out of r.builds) expect(out.split('\n').filter((l) => /^\s*(WARN|ERROR)\b/.test(l)), out).toEqual([]);
    // 101–106 published (two pairs of equal or equally-slugged subjects, two subjects without letters); 107 is a draft; 301/302 are not synced.
    expect([...r.pageUrl.keys()].sort((a, b) => a - b)).toEqual([101, 102, 103, 104, 105, 106]);
    expect(new Set(r.pageUrl.values()).size).toBe(6);
    expect(r.pageUrl.get(102)).toBe('/docs/getting-started-102/');
    expect(r.pageUrl.get(103)).toBe('/blog/posts/release-notes-103/');
    expect(r.pageUrl.get(106)).toBe('/blog/posts/release-notes-106/');
    expect(r.pageUrl.get(104)).toBe('/blog/posts/104/');
    expect(r.pageUrl.get(105)).toBe('/blog/posts/105/');
  });

  it('has no "raw HTML omitted" anywhere in public/ (pages, feeds, summaries)', async () => {
    const hits: string[] = [];
    for (const f of await walk(r.publicDir)) {
      if (!/\.(html|xml)$/.test(f)) continue;
      if ((await readFile(path.join(r.publicDir, f), 'utf8')).includes('raw HTML omitted')) hits.push(f);
    }
    expect(hits).toEqual([]);
  });

  it('shows every embedded image, and every <img src> resolves to a file', async () => {
    const dangling: string[] = [];
    let images = 0;
    for (const [id, url] of r.pageUrl) {
      for (const src of attrs(await page(id), 'img', 'src')) {
        images++;
        const file = servedFile(r.publicDir, new URL(src, `${BASE}${url}`));
        if (file === null || !existsSync(file)) dangling.push(`${id}: ${src}`);
      }
    }
    expect(dangling).toEqual([]);
    // Each image attachment of a published, synced work package is embedded by its description.
    const shown = async (id: number, file: string): Promise<boolean> => attrs(await page(id), 'img', 'src').includes(file);
    const expected: [number, string][] = [
      [101, '1001-architecture.png'], // <figure class="image"> with caption, relative API URL
      [101, '1002-spinner.gif'], // markdown image
      [102, '1003-screenshot.png'], // by file name, with width
      [102, '1004-absolute.png'], // absolute URL of the instance (under its sub-path)
      [102, '1005-subpath.png'], // /openproject/api/v3/… (sub-path instance)
      [103, '1006-release.png'], // figure under the sub-path, with caption
      [104, '1007-rocket.png'], // figure by file name
    ];
    const missing: string[] = [];
    for (const [id, file] of expected) if (!(await shown(id, file))) missing.push(`${id}: ${file}`);
    expect(missing).toEqual([]);
    expect(images).toBe(expected.length);
    // width from the author (100 of 200×100 → height 50), the others from the image itself.
    expect(await page(102)).toMatch(/<img src="1003-screenshot\.png"\s+width="100" height="50"\/>/);
    expect(await page(101)).toMatch(/<figcaption>\s*<p>The architecture at a glance<\/p>/);
    // Caption text is literal: quotes and asterisks stay characters, not markdown.
    expect(await page(103)).toMatch(/<figcaption>\s*<p>Release (?:&quot;|&#34;)banner(?:&quot;|&#34;) \*v2\*<\/p>/);
  });

  it('renders tables as <table>, keeps mention text, leaves no literal CKEditor markup', async () => {
    // 105's one-row table has no header row in CKEditor: its row is the GFM header (issue 20).
    for (const id of [101, 102, 105]) expect(await page(id), `page of #${id}`).toMatch(/<table>[\s\S]*<t[dh]>/);
    // GFM tables always have a header row: a table without one gets its first row as header.
    expect(await page(102)).toMatch(/<t[hd]>• first • second<\/t[hd]>/);
    const mentions: [number, string][] = [
      [101, '@Jane Doe'],
      [105, '@Jane Doe'],
      [102, '@Docs Team'],
      [103, '@Омар Хайям'],
    ];
    for (const [id, text] of mentions) expect(await page(id), `mention in #${id}`).toContain(text);
    for (const [id] of r.pageUrl) {
      const html = await page(id);
      expect(html, `page of #${id}`).not.toMatch(/&lt;\/?(mention|macro|figure|img|u|mark|br|table)\b|<\/?(mention|macro|u|mark)\b|\{\{[<%]|raw HTML/);
    }
    // u / mark / br have markdown equivalents; code keeps its language; task lists are lists.
    const p101 = await page(101);
    expect(p101).toContain('<em>important</em>');
    expect(p101).toContain('<strong>all of it</strong>');
    expect(p101).toMatch(/first\.<br>\s*Second line/);
    expect(p101).toContain('data-lang="ruby"');
    expect(p101).toContain('type="checkbox"');
    expect(p101).toContain('{{&lt; not-a-shortcode &gt;}}');
    expect(await page(102)).toContain('مرحبا بالعالم');
    expect(await page(102)).toContain('Embedded work package table');
    expect(await page(103)).toContain('© € 🚀');
  });

  it('links every work package reference; each relative link of the site resolves', async () => {
    const dangling: string[] = [];
    let internal = 0;
    for (const [id, url] of r.pageUrl) {
      for (const href of attrs(await page(id), 'a', 'href')) {
        const target = new URL(href, `${BASE}${url}`);
        const file = servedFile(r.publicDir, target);
        if (file === null) continue; // OpenProject or another site
        internal++;
        if (!existsSync(file)) dangling.push(`#${id}: ${href}`);
      }
    }
    expect(dangling).toEqual([]);
    // References to work packages that are not synced go to OpenProject (under its sub-path).
    // `##301` (text, and a mention written `##301`) shows its type and subject as OpenProject's
    // static rendering does (issue 20, defect 10), linked as `#301` would be.
    expect(await page(101)).toContain('href="http://openproject.example.com/openproject/work_packages/301">Bug #301: Crash on start</a>');
    expect(await page(103)).toContain('href="http://openproject.example.com/openproject/work_packages/301">Bug #301: Crash on start</a>');
    // The escape `!#104` is text.
    expect(await page(102)).toMatch(/\(#104 stays text\)/);
    expect(internal).toBeGreaterThan(0);
  });

  it('links references between synced pages inside the site', async () => {
    const follow = async (id: number, href: string): Promise<string> => {
      const file = servedFile(r.publicDir, new URL(href, `${BASE}${r.pageUrl.get(id)}`))!;
      const html = await readFile(file, 'utf8');
      const refresh = /http-equiv="refresh" content="0; url=([^"]+)"/.exec(html);
      return refresh ? new URL(decode(refresh[1]!)).pathname : new URL(href, `${BASE}${r.pageUrl.get(id)}`).pathname;
    };
    const linkOf = async (id: number, text: string): Promise<string> => {
      const m = new RegExp(`<a href="([^"]+)">${text}</a>`).exec(await page(id));
      expect(m, `#${id} links ${text}`).not.toBeNull();
      return decode(m![1]!);
    };
    expect(await follow(101, await linkOf(101, '#102'))).toBe(r.pageUrl.get(102));
    expect(await follow(102, await linkOf(102, '#101'))).toBe(r.pageUrl.get(101));
    // `###103`: status, type, `#103`, subject, one link.
    expect(await follow(102, await linkOf(102, '[^<]+ #103: [^<]+'))).toBe(r.pageUrl.get(103));
    expect(await follow(103, await linkOf(103, '#101'))).toBe(r.pageUrl.get(101));
    expect(await follow(104, await linkOf(104, '#105'))).toBe(r.pageUrl.get(105));
  });

  it('keeps the old URL of a renamed page working (the earlier URL comes from the manifest\'s profile memory)', async () => {
    expect(r.firstUrls.get(101)).toBe('/docs/getting-started-101/');
    expect(r.pageUrl.get(101)).toBe('/docs/getting-started-revised-101/');
    expect(r.manifestMemory).toBe(true);
    const old = path.join(r.publicDir, 'docs', 'getting-started-101', 'index.html');
    expect(existsSync(old)).toBe(true);
    expect(await readFile(old, 'utf8')).toContain(`${BASE}/docs/getting-started-revised-101/`);
  });

  it('answers at the stable id URL of every page', async () => {
    for (const [id, url] of r.pageUrl) {
      if (url.endsWith(`/${id}/`)) continue; // the id is the slug itself
      const alias = path.join(r.publicDir, ...url.split('/').filter(Boolean).slice(0, -1), String(id), 'index.html');
      expect(existsSync(alias), `alias of #${id}`).toBe(true);
      expect(await readFile(alias, 'utf8')).toContain(`${BASE}${url}`);
    }
  });

  it(CHROMIUM ? 'renders one page in headless Chromium (screenshot kept in .ci/artifacts/)' : 'renders one page in headless Chromium (SKIPPED: chromium is not installed; .ci/run installs Debian\'s `chromium` when it can)', async (ctx) => {
    if (!CHROMIUM) {
      console.log('SKIPPED: headless Chromium check — chromium is not on PATH');
      ctx.skip();
    }
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'default-profile-page.png');
    await rm(shot, { force: true });
    const profileDir = await mkdtemp(path.join(TEST_TMP, 'curate-chromium-'));
    try {
      const file = path.join(r.publicDir, ...r.pageUrl.get(101)!.split('/').filter(Boolean), 'index.html');
      const c = await run(
        CHROMIUM!,
        ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profileDir}`, '--hide-scrollbars', '--window-size=1000,1600', `--screenshot=${shot}`, `file://${file}`],
        r.site,
        60_000,
      );
      expect(existsSync(shot), c.output).toBe(true);
      const png = await readFile(shot);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(1000);
      // The DOM as Chromium loaded it: the figure's image is there with its size.
      const dom = await run(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profileDir}`, '--dump-dom', `file://${file}`], r.site, 60_000);
      expect(dom.output).toMatch(/<img src="1001-architecture\.png"[^>]*width="40"/);
      expect(dom.output).toContain('<table>');
    } finally {
      await rm(profileDir, { recursive: true, force: true });
    }
  });
});

// The same dataset mapped straight through the profile with a hand-made MapContext
// (`sourceOf`, `memory`) and built by the real Hugo: the profile's side of the contract,
// checked without the engine (a failure here is the profile's, not the engine's), including
// that every id asked about is listed in `references`.
describe.skipIf(skipLocally)('default profile mapped directly with a MapContext: internal links and renamed URLs resolve in Hugo', () => {
  it('links between synced pages reach their pages; a renamed page keeps its old URL', async () => {
    expect(HUGO, 'hugo must be on PATH (CI installs it in .ci/run)').not.toBeNull();
    const config = yaml.load(await readFile(DEFAULT_CONFIG, 'utf8')) as { profile: { options: unknown }; sources: SourceSpec[] };
    const sources = config.sources.map((s) => ({ ...s, options: {} }));
    const profile = createDefaultProfile(config.profile.options);
    const items = loadDirect(DEFAULT_DATASET);
    const sourceOfId = new Map(items.flatMap((i) => (sourceFor(sources, i) ? [[i.workPackage.id, sourceFor(sources, i)!] as const] : [])));
    const memory = new Map<number, unknown>();
    const { dir, cleanup } = await tempDir('curate-hugo-context-');
    try {
      const site = path.join(dir, 'site');
      await cp(STOCK_SITE, site, { recursive: true });
      const syncDirect = async (): Promise<void> => {
        await rm(path.join(site, 'content'), { recursive: true, force: true });
        for (const item of items) {
          const source = sourceOfId.get(item.workPackage.id);
          if (!source) continue;
          const asked: number[] = [];
          const context: MapContext = {
            sourceOf: (id) => {
              asked.push(id);
              return sourceOfId.get(id);
            },
            memory: memory.get(item.workPackage.id),
          };
          const doc = profile.map({ workPackage: item.workPackage, project: item.project, attachments: probeFor(profile, item), allAttachments: item.attachments, source, now: new Date('2024-07-01T00:00:00Z'), context });
          // The engine re-maps a page when any answer it depended on changes: every id asked must be listed.
          expect([...new Set(asked)].sort((a, b) => a - b)).toEqual(doc.references ?? []);
          memory.set(item.workPackage.id, JSON.parse(JSON.stringify(doc.memory)));
          for (const f of doc.files) {
            const target = path.join(site, 'content', f.path);
            await mkdir(path.dirname(target), { recursive: true });
            await writeFile(target, f.kind === 'text' ? f.text : item.content.get(f.attachmentId)!);
          }
        }
        await rm(path.join(site, 'public'), { recursive: true, force: true });
        const b = await run(HUGO!, ['--printPathWarnings', '-s', site], site);
        expect(b.code, b.output).toBe(0);
        expect(b.output.split('\n').filter((l) => /^\s*(WARN|ERROR)\b/.test(l)), b.output).toEqual([]);
      };
      await syncDirect();
      items.find((i) => i.workPackage.id === 101)!.workPackage.subject = 'Getting started, revised';
      await syncDirect();

      const publicDir = path.join(site, 'public');
      const pageFile = (urlPath: string): string => path.join(publicDir, ...urlPath.split('/').filter(Boolean), 'index.html');
      /** Follows one link (and a Hugo alias redirect) to the URL path of the page it lands on. */
      const land = async (from: string, href: string): Promise<string> => {
        const url = new URL(href, `${BASE}${from}`);
        const file = servedFile(publicDir, url);
        expect(file, `${href} from ${from} stays on the site`).not.toBeNull();
        expect(existsSync(file!), `${href} from ${from} resolves`).toBe(true);
        const refresh = /http-equiv="?refresh"? content="0; url=([^"]+)"/.exec(await readFile(file!, 'utf8'));
        return refresh ? new URL(decode(refresh[1]!)).pathname : url.pathname;
      };
      const pages: Record<number, string> = {
        101: '/docs/getting-started-revised-101/',
        102: '/docs/getting-started-102/',
        103: '/blog/posts/release-notes-103/',
        104: '/blog/posts/104/',
        105: '/blog/posts/105/',
      };
      for (const url of Object.values(pages)) expect(existsSync(pageFile(url)), url).toBe(true);
      const linkOf = async (id: number, text: string): Promise<string> => {
        const m = new RegExp(`<a href="([^"]+)">${text}</a>`).exec(await readFile(pageFile(pages[id]!), 'utf8'));
        expect(m, `#${id} links ${text}`).not.toBeNull();
        return decode(m![1]!);
      };
      // same source, mention form, ###N, cross-source (blog → docs), between two id-only slugs
      expect(await land(pages[101]!, await linkOf(101, '#102'))).toBe(pages[102]);
      expect(await land(pages[102]!, await linkOf(102, '#101'))).toBe(pages[101]);
      expect(await land(pages[102]!, await linkOf(102, '#103'))).toBe(pages[103]);
      expect(await land(pages[103]!, await linkOf(103, '#101'))).toBe(pages[101]);
      expect(await land(pages[104]!, await linkOf(104, '#105'))).toBe(pages[105]);
      expect(await land(pages[105]!, await linkOf(105, '#104'))).toBe(pages[104]);
      // not synced: OpenProject
      expect(await linkOf(103, '#301')).toBe('http://openproject.example.com/openproject/work_packages/301');
      // the old URL of the renamed page redirects to the new one
      expect(await land('/', '/docs/getting-started-101/')).toBe(pages[101]);
      expect(memory.get(101)).toEqual({ locations: ['docs/getting-started-101', 'docs/getting-started-revised-101'] });
    } finally {
      await cleanup();
    }
  });
});
