// Issue 5, bad input and security: hostile or broken payloads give a clear per-item
// error or a safe output — never a crash of the whole run, never a write outside the
// output root, never a credential sent elsewhere or printed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import matter from 'gray-matter';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { createOpenProjectClient } from '../../src/openproject/index.js';
import { runSync } from '../../src/sync/index.js';
import type { Simulator, WorkPackageJson } from '../../src/simulator/index.js';
import { LEGACY_NOW, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator, TEST_KEY, testClient } from '../helpers/sync-harness.js';

const readBack = (text: string): Record<string, unknown> => matter(text, { engines: { yaml: (s: string) => yaml.load(s) as object } }).data;

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** Synced work packages that have a featured image, with that attachment. */
function withFeatured(sim: Simulator): { wp: WorkPackageJson; att: { meta: Record<string, unknown> & { id: number }; content: unknown } }[] {
  const out = [];
  for (const wp of [...sim.dataset.workPackages.values()].sort((a, b) => a.id - b.id)) {
    const type = (wp._links.type as { title?: string }).title;
    if (type === 'Task' || type === 'Bug') continue;
    const att = [...sim.dataset.attachments.values()].find(
      (a) => (a.meta._links as { container: { href: string } }).container.href.endsWith(`/${wp.id}`) && /^Curated_Featured_Image\.(png|jpe?g|gif)$/i.test(String(a.meta.fileName)),
    );
    if (att) out.push({ wp, att: att as { meta: Record<string, unknown> & { id: number }; content: unknown } });
  }
  return out;
}

function newsWorkPackages(sim: Simulator): WorkPackageJson[] {
  return [...sim.dataset.workPackages.values()].filter((wp) => (wp._links.project as { title?: string }).title === 'News' && (wp._links.type as { title?: string }).title === 'Curated Content');
}

const HOSTILE_SUBJECTS = [
  '---\ntitle: injected\n---',
  'key: value # not a comment',
  'tab\tinside and trailing tab\t',
  'line one\nline two\n',
  '  leading and trailing spaces  ',
  'control \u0001\u0007\u001b chars',
  'right-to-left: مرحبا بالعالم \u202e reversed',
  'emoji 😀 and NBSP\u00a0',
  '"double" and \'single\' quotes, \\ backslash',
  'x'.repeat(5000),
  '- looks like a list item',
  '@at `tick` %percent &anchor *alias !tag |pipe >fold',
];

describe('hostile strings in work package fields', () => {
  it('every subject survives into the frontmatter exactly, with the medigy profile', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const targets = [...sim.dataset.workPackages.values()].filter((wp) => (wp._links.type as { title?: string }).title !== 'Task' && (wp._links.type as { title?: string }).title !== 'Bug').slice(0, HOSTILE_SUBJECTS.length);
      targets.forEach((wp, i) => sim.updateWorkPackage(wp.id, (w) => {
        w.subject = HOSTILE_SUBJECTS[i]!;
        (w.description as { raw: string }).raw = `---\n${HOSTILE_SUBJECTS[i]}\n: also in the body`;
      }));
      const report = await medigySync(sim, dir);
      expect(report.errors).toEqual([]);
      const titles = new Map<number, unknown>();
      for (const f of (await allFiles(dir)).filter((f) => f.endsWith('.md'))) {
        const data = readBack(await readFile(f, 'utf8'));
        titles.set(data.id as number, data.title);
      }
      targets.forEach((wp, i) => expect(titles.get(wp.id), `#${wp.id}`).toBe(HOSTILE_SUBJECTS[i]));
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('two work packages that map to the same file: one clear error naming both, the rest written', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const [a, b] = newsWorkPackages(sim);
      // The news variant names files after the Clean URL: the same URL, the same file.
      const cleanUrl = (wp: WorkPackageJson): string => String(wp.customField1);
      sim.updateWorkPackage(b!.id, (wp) => {
        wp.customField1 = cleanUrl(a!);
      });
      const report = await medigySync(sim, dir);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]!.kind).toBe('collision');
      expect(report.errors[0]!.message).toContain(`#${Math.max(a!.id, b!.id)}`);
      expect(report.errors[0]!.message).toContain(`#${Math.min(a!.id, b!.id)}`);
      expect(report.counts.total.create).toBeGreaterThan(40);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a work package with a mistyped HAL field is reported by id and field; the others are synced', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const victim = newsWorkPackages(sim)[0]!;
      sim.updateWorkPackage(victim.id, (wp) => {
        (wp as Record<string, unknown>).subject = 42;
      });
      const report = await medigySync(sim, dir);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]!.workPackageId).toBe(victim.id);
      expect(report.errors[0]!.kind).toBe('payload');
      expect(report.errors[0]!.message).toMatch(new RegExp(`work package #${victim.id}: field "subject"`));
      expect(report.counts.total.create).toBeGreaterThan(40);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('HTML instead of JSON, for good: a clear error naming the URL and what came back', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      sim.inject({ kind: 'html', route: 'projects', times: 100 });
      await expect(medigySync(sim, dir, { client: testClient(sim, { retries: 1 }) })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/projects.*expected JSON, got text\/html/);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});

describe('hostile attachments', () => {
  it('a 2 GB attachment is refused up front (never downloaded), a lying one is cut off at the cap', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const [first, second] = withFeatured(sim);
      const big = first!.wp;
      const huge = first!.att;
      huge.meta.fileSize = 2 * 1024 ** 3;
      const liar = second!.wp;
      const lying = second!.att;
      lying.content = Buffer.alloc(300_000, 1);
      lying.meta.fileSize = 1000; // claims to be small
      const report = await medigySync(sim, dir, { maxAttachmentBytes: 200_000 });
      const byWp = new Map(report.errors.map((e) => [e.workPackageId, e.message]));
      expect(byWp.get(big.id)).toMatch(/2147483648 bytes, over the 200000-byte limit/);
      expect(byWp.get(liar.id)).toMatch(/more than 200000 bytes/);
      expect(sim.log().filter((l) => l.path.endsWith(`/attachments/${huge.meta.id}/content`))).toEqual([]);
      // Nothing half-downloaded is left behind.
      expect((await allFiles(dir)).filter((f) => f.includes('staging') || path.basename(f).startsWith('.curate-tmp-'))).toEqual([]);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('an "image" that is an SVG with script is not an image: valid: false, no file', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const { wp, att } = withFeatured(sim)[0]!;
      sim.setAttachmentContent(att.meta.id, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'));
      const report = await medigySync(sim, dir);
      expect(report.errors).toEqual([]);
      const md = (await allFiles(dir)).filter((f) => f.endsWith('.md'));
      const data = (await Promise.all(md.map(async (f) => readBack(await readFile(f, 'utf8'))))).find((d) => d.id === wp.id)!;
      expect(data.featuredImage).toEqual({ valid: false, workPackage: wp.id, wpAttachment: { fileName: att.meta.fileName, link: `/api/v3/attachments/${att.meta.id}/content` } });
      expect((await allFiles(dir)).some((f) => f.includes(`${String(data.mdName)}-featuredImage`))).toBe(false);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('attachment names with ../, absolute paths, NUL and reserved names stay inside the output root (default profile)', async () => {
    const sim = await startFixtureSimulator();
    const parent = await tempDir();
    const root = path.join(parent.dir, 'site', 'content');
    try {
      const wp = newsWorkPackages(sim)[0]!;
      const names = ['../../../../escape.png', '/etc/passwd', 'nul\u0000byte.png', 'CON.png', '..', '.hidden.png'];
      const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de', 'hex');
      const refs = names.map((fileName) => sim.addAttachment(wp.id, { fileName, contentType: 'image/png' }, png));
      sim.updateWorkPackage(wp.id, (w) => {
        (w.description as { raw: string }).raw = refs.map((a) => `![x](/api/v3/attachments/${a.id}/content)`).join('\n');
      });
      const client = testClient(sim);
      const report = await runSync({
        outputRoot: root,
        sources: [{ name: 'news', projects: ['news'], types: ['Curated Content'], statuses: [], path: 'news', options: {} }],
        profile: createProfile('default', {}),
        client,
        now: LEGACY_NOW,
      });
      await client.close();
      expect(report.errors).toEqual([]);
      const everything = await allFiles(parent.dir);
      expect(everything.every((f) => f.startsWith(root + path.sep))).toBe(true);
      const ids = new Set(refs.map((r) => String(r.id)));
      const assets = everything.map((f) => path.basename(f)).filter((b) => ids.has(b.split('-')[0]!));
      expect(assets).toHaveLength(names.length);
      for (const a of assets) expect(a).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    } finally {
      await sim.close();
      await parent.cleanup();
    }
  });

  it('redirects to non-HTTP schemes and redirect loops fail the item; no credentials go to the other origin', async () => {
    const seen: { url: string; authorization: boolean }[] = [];
    const other = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization !== undefined });
      if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else if (req.url === '/file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const [first, second] = withFeatured(sim);
      const a = first!.wp;
      const b = second!.wp;
      // The client downloads from staticDownloadLocation (downloadLocation may be an expiring signed URL).
      (first!.att.meta._links as Record<string, unknown>).staticDownloadLocation = { href: `${base}/loop` };
      (second!.att.meta._links as Record<string, unknown>).staticDownloadLocation = { href: `${base}/file` };
      const report = await medigySync(sim, dir);
      const byWp = new Map(report.errors.map((e) => [e.workPackageId, e.message]));
      expect(byWp.get(a.id)).toMatch(/redirect loop/);
      expect(byWp.get(b.id)).toMatch(/refusing to follow a redirect to a file: URL/);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((s) => !s.authorization)).toBe(true);
    } finally {
      await sim.close();
      await cleanup();
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});

describe('security', () => {
  it('plain http only for loopback unless insecureHttp; credentials in the URL are refused', () => {
    expect(() => createOpenProjectClient({ baseUrl: 'http://openproject.example.com' })).toThrow(/--insecure-http/);
    expect(() => createOpenProjectClient({ baseUrl: 'http://openproject.example.com', insecureHttp: true })).not.toThrow();
    expect(() => createOpenProjectClient({ baseUrl: 'https://apikey:secret@openproject.example.com' })).toThrow(/must not contain credentials/);
    expect(() => createOpenProjectClient({ baseUrl: 'http://127.0.0.1:9' })).not.toThrow();
  });

  it('does not write through a symlink inside the output root that points outside', async () => {
    const sim = await startFixtureSimulator();
    const parent = await tempDir();
    const root = path.join(parent.dir, 'content');
    const outside = path.join(parent.dir, 'outside');
    try {
      await mkdir(path.join(root, 'news'), { recursive: true });
      await mkdir(outside);
      await symlink(outside, path.join(root, 'news', 'openproject-curations'));
      await expect(medigySync(sim, root)).rejects.toThrow(/symbolic link/);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await sim.close();
      await parent.cleanup();
    }
  });

  it('the key appears nowhere: stdout, stderr, --json, manifest, patch, errors (wrong key, failing items)', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      // A failing item, so error paths are exercised too.
      const wp = newsWorkPackages(sim)[0]!;
      sim.inject({ kind: 'status', status: 404, route: 'attachments', match: ({ path: p }) => p.includes(`/${wp.id}/`), times: 1000 });
      const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY };
      const out = path.join(dir, 'content');
      const runs = [
        await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', '2021-02-19T00:00:00Z', '--json', '--verbose'], { env }),
        await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', '2021-02-19T00:00:00Z', '--patch', '-'], { env }),
        await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--dry-run', '--verbose'], { env }),
        await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: `${TEST_KEY}-wrong` } }),
        await runCli(['doctor', '--config', MEDIGY_CONFIG, '--json'], { env }),
      ];
      expect(runs[0]!.code).toBe(1);
      expect(JSON.parse(runs[0]!.stdout).errors[0].workPackageId).toBe(wp.id);
      expect(runs[3]!.code).toBe(1);
      expect(runs[3]!.stderr).toMatch(/401.*OPENPROJECT_API_KEY/s);
      // Every file of the sync state (manifest.json and its shards).
      const stateDir = path.join(out, '.curate');
      const stateFiles = [path.join(stateDir, 'manifest.json'), ...(await readdir(path.join(stateDir, 'work-packages'))).map((n) => path.join(stateDir, 'work-packages', n))];
      const state = await Promise.all(stateFiles.map((f) => readFile(f, 'utf8')));
      expect(state.length).toBeGreaterThan(1);
      for (const text of [...runs.flatMap((r) => [r.stdout, r.stderr]), ...state]) {
        expect(text).not.toContain(TEST_KEY);
        expect(text).not.toContain(Buffer.from(`apikey:${TEST_KEY}`).toString('base64'));
      }
      expect((await treeHashes(out)).size).toBeGreaterThan(40);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
