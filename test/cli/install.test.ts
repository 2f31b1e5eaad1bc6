// Install instructions that work today (curate is not on the npm registry): `npm pack`
// in a checkout, then installing the tarball in a site repository, with no warning about
// install scripts; the installed `curate` runs. And the demos: `npm run demo` shows the
// `default` profile (what `curate init` writes), `npm run demo:medigy` the legacy one.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_V8_FLAGS } from '../../src/cli/v8-flags.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { FIXTURE_DATASET, MEDIGY_CONFIG, ROOT, tempDir } from '../helpers/env.js';

const run = promisify(execFile);
const KEY = 'opapi-install-key-0c4d';
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
});
afterAll(async () => {
  await sim.close();
});

function npm(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, env: { ...process.env, CURATE_CACHE_DIR: 'off', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('install from a packed tarball', () => {
  it('npm pack, then npm install the tarball in a site: no install-script warning, and `npx curate` works', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // A copy of the checkout, so packing never rewrites this one's dist/ under other tests.
      // `prepack` builds, then strips `prepare`; the build itself is `npm test`'s first step
      // (a tsc run of ~8 CPU seconds), so the copy gets the dist/ just built and a `build`
      // script that only checks it is there. What `prepack` runs is checked on the real file.
      const real = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      expect(real.scripts.prepack).toMatch(/^npm run build && node scripts\/pack-manifest\.js strip$/);
      expect(real.scripts.postpack).toBe('node scripts/pack-manifest.js restore');
      const checkout = path.join(dir, 'curate');
      await mkdir(checkout);
      for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'scripts', 'dist']) await cp(path.join(ROOT, f), path.join(checkout, f), { recursive: true });
      await writeFile(path.join(checkout, 'package.json'), `${JSON.stringify({ ...real, scripts: { ...real.scripts, build: "node -e \"require('node:fs').accessSync('dist/cli/main.js')\"" } }, null, 2)}\n`);
      await mkdir(path.join(checkout, 'fixtures', 'medigy'), { recursive: true });
      await cp(MEDIGY_CONFIG, path.join(checkout, 'fixtures', 'medigy', 'curate.config.yaml'));
      await symlink(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
      const packed = await npm(['pack', '--pack-destination', dir], checkout);
      expect(packed.code, packed.out).toBe(0);
      const pkg = JSON.parse(await readFile(path.join(checkout, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
      expect(pkg.scripts.prepare).toBe('npm run build'); // restored after packing
      const tarball = path.join(dir, `curate-${pkg.version}.tgz`);
      const manifest = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as { scripts: Record<string, string> };
      expect(manifest.scripts).not.toHaveProperty('prepare');
      expect((await run('tar', ['-tzf', tarball])).stdout).toMatch(/^package\/dist\/cli\/main\.js$/m);

      const site = path.join(dir, 'site');
      await mkdir(site);
      await writeFile(path.join(site, 'package.json'), '{ "name": "site", "private": true }\n');
      const installed = await npm(['install', '--save-dev', '--prefer-offline', tarball], site);
      expect(installed.code, installed.out).toBe(0);
      expect(installed.out).not.toMatch(/prepare|install-scripts|npm warn/i);
      expect((await run(path.join(site, 'node_modules', '.bin', 'curate'), ['--version'])).stdout).toBe(`${pkg.version}\n`);
      await writeFile(path.join(site, 'curate.config.yaml'), (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/^ {2}root: .*$/m, '  root: content'));
      const dry = await new Promise<number | null>((resolve) => {
        const child = spawn('npx', ['curate', 'sync', '--dry-run', '--quiet'], { cwd: site, env: { PATH: process.env.PATH, HOME: process.env.HOME, CURATE_CACHE_DIR: 'off', OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY }, stdio: 'ignore' });
        child.on('close', resolve);
      });
      expect(dry).toBe(2);
    } finally {
      await cleanup();
    }
  }, 180_000);
});

describe('the bundled binary (scripts/bundle.js)', () => {
  it('holds what the CLI reaches and not the libraries\' unused parts: no undici index (fetch, WebSocket, mocks), no zod locale but English', async () => {
    const text = await readFile(path.join(ROOT, 'dist', 'bundle', 'curate.cjs'), 'utf8');
    // esbuild names each module it takes in a comment: what is absent here was left out.
    // The path before node_modules/ varies: a node_modules that is a symlink (a shared
    // checkout) or pnpm's store puts the real path there.
    const bundled = (rest: string, flags = 'm'): RegExp => new RegExp(`^\\s*// (?:.*/)?node_modules/${rest}`, flags);
    expect(text).toMatch(bundled('undici/lib/dispatcher/agent\\.js$'));
    expect(text).not.toMatch(bundled('undici/index\\.js$'));
    expect(text).not.toMatch(bundled('undici/lib/web/websocket/'));
    const locales = [...text.matchAll(bundled('zod/v4/locales/([\\w-]+)\\.js$', 'gm'))].map((m) => m[1]);
    // locales/index.js stays as an empty module (esbuild keeps a wrapper for each module of a
    // CommonJS bundle, and drops what it re-exports that nothing uses).
    expect(locales).toEqual(['en', 'index']);
    expect(text).toMatch(/^var init_locales = __esm\(\{\n {2}"(?:[^"]*\/)?node_modules\/zod\/v4\/locales\/index\.js"\(\) \{\n {2}\}\n\}\);$/m);
    expect(await readFile(path.join(ROOT, 'bin', 'curate.js'), 'utf8')).toContain("require('./load-bundle.js').runBundle();");
    // Strict, as the ES modules it is built from: the directive only counts as the first statement.
    expect(text.startsWith("'use strict';\n")).toBe(true);
    // ASCII only, so V8 holds it one byte a character (a single `…` in a comment doubled that).
    expect(text.match(/[\u0080-\uffff]/)).toBeNull();
  });

  it('a sync loads neither node:child_process nor node:http2 (stand-ins in the bundle), and reading a property of the stand-in loads the real module', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Node lists each of its own modules it has loaded in process.moduleLoadList.
      const hook = path.join(dir, 'loaded.cjs');
      const loadedAt = (name: string): string => path.join(dir, `${name}.json`);
      await writeFile(hook, "process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify(process.moduleLoadList)));\n");
      const loaded = async (name: string, args: string[]): Promise<string[]> => {
        // The download cache on (in this test's folder): its code runs too.
        const env = { PATH: process.env.PATH, CURATE_CACHE_DIR: path.join(dir, 'cache'), OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY, LOADED_OUT: loadedAt(name) };
        await run(process.execPath, ['--require', hook, path.join(ROOT, 'bin', 'curate.js'), ...args], { env });
        return (JSON.parse(await readFile(loadedAt(name), 'utf8')) as string[]).filter((m) => /^NativeModule (child_process|http2)$/.test(m));
      };
      const sync = ['sync', '--config', MEDIGY_CONFIG, '--out', path.join(dir, 'out'), '--quiet'];
      expect(await loaded('sync', sync)).toEqual([]);
      // --git-commit spawns git through the stand-in (in a folder that is no repository: it says so and exits 1).
      await expect(loaded('commit', [...sync, '--git-commit'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/git/) });
      expect(JSON.parse(await readFile(loadedAt('commit'), 'utf8'))).toContain('NativeModule child_process');
    } finally {
      await cleanup();
    }
  });

  it('bin/load-bundle.js sets the V8 flags the unbundled CLI sets (its own copy: a CommonJS module cannot import that ES module on Node 20)', async () => {
    const { V8_FLAGS } = (await import(path.join(ROOT, 'bin', 'load-bundle.js'))) as { V8_FLAGS: string[] };
    expect(V8_FLAGS).toEqual(CLI_V8_FLAGS);
  });

  it('V8 takes the code cache the build made; a cache made from other bytes, or not one at all, is ignored and the CLI still runs', async () => {
    // A copy of what bin/curate.js loads, so the cache can be spoiled without touching the checkout's.
    const { dir, cleanup } = await tempDir();
    try {
      // Only these: bin/ needs nothing else from dist/ (it sets the V8 flags itself).
      for (const f of ['package.json', 'bin', 'scripts/code-cache.js', 'dist/bundle']) await cp(path.join(ROOT, f), path.join(dir, f), { recursive: true });
      const cache = path.join(dir, 'dist', 'bundle', 'curate.cjs.cache');
      const start = async (): Promise<{ version: string; cache: string }> => {
        const env = { PATH: process.env.PATH, CURATE_CODE_CACHE: 'check' };
        const version = (await run(process.execPath, [path.join(dir, 'bin', 'curate.js'), '--version'], { env: { PATH: process.env.PATH } })).stdout;
        const checked = await run(process.execPath, [path.join(dir, 'scripts', 'code-cache.js'), '--version'], { env });
        return { version, cache: checked.stderr.trim() };
      };
      const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(await start()).toEqual({ version: `${pkg.version}\n`, cache: 'code cache: taken' });
      // The same V8 data with another bundle's checksum: as after a rebuild that made no new cache.
      const bytes = await readFile(cache);
      const crcAt = bytes.indexOf('\n') + 1;
      bytes.writeUInt8(bytes.readUInt8(crcAt) ^ 0xff, crcAt);
      await writeFile(cache, bytes);
      expect(await start()).toEqual({ version: `${pkg.version}\n`, cache: 'code cache: not taken' });
      await writeFile(cache, 'not a cache');
      expect(await start()).toEqual({ version: `${pkg.version}\n`, cache: 'code cache: not taken' });
      await rm(cache);
      expect(await start()).toEqual({ version: `${pkg.version}\n`, cache: 'code cache: not taken' });
    } finally {
      await cleanup();
    }
  });
});

describe('demos', () => {
  it('`npm run demo` runs curate init (the default profile) then curate sync; the second run changes nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await npm(['run', 'demo', '--', dir], ROOT);
      expect(first.code, first.out).toBe(0);
      expect(first.out).toMatch(/\$ curate init --yes/);
      expect(first.out).toMatch(/sync done: [1-9]\d* created/);
      const config = await readFile(path.join(dir, 'curate.config.yaml'), 'utf8');
      expect(config).toMatch(/^# curate configuration, written by `curate init`/);
      expect(config).toMatch(/^ {2}name: default$/m);
      const bundles = (await readdir(path.join(dir, 'content'), { recursive: true })).filter((f) => f.endsWith('/index.md'));
      expect(bundles.length).toBeGreaterThan(10);
      // A site, not a test harness: no unsafe HTML (the default profile writes plain
      // markdown), section pages titled by project (not Hugo's "Femteches"), featured images shown.
      expect(await readFile(path.join(dir, 'hugo.toml'), 'utf8')).not.toMatch(/unsafe/);
      expect(await readFile(path.join(dir, 'content', 'femtech', '_index.md'), 'utf8')).toBe('---\ntitle: "FemTech"\n---\n');
      const hugo = await new Promise<string>((resolve) => execFile('sh', ['-c', 'command -v hugo'], (e, out) => resolve(e ? '' : out.trim())));
      if (hugo) {
        const built = await new Promise<{ code: number | null; out: string }>((resolve) => execFile(hugo, ['--quiet', '-s', dir, '-d', path.join(dir, 'public')], (e, out, err) => resolve({ code: e ? 1 : 0, out: out + err })));
        expect(built.code, built.out).toBe(0);
        expect(await readFile(path.join(dir, 'public', 'femtech', 'index.html'), 'utf8')).toMatch(/<title>FemTech<\/title>/);
        const pages = (await readdir(path.join(dir, 'public'), { recursive: true })).filter((f) => f.endsWith('index.html'));
        const withImage = (await Promise.all(pages.map((f) => readFile(path.join(dir, 'public', f), 'utf8')))).filter((h) => /<img src="\d+-Curated_Featured_Image\.\w+" alt="[^"]*" width="\d+" height="\d+">/.test(h));
        expect(withImage.length).toBeGreaterThanOrEqual(3);
      }
      const again = await npm(['run', 'demo', '--', dir], ROOT);
      expect(again.code).toBe(0);
      expect(again.out).not.toMatch(/\$ curate init/);
      expect(again.out).toMatch(/sync done: 0 created, 0 updated, 0 deleted, [1-9]\d* unchanged/);
    } finally {
      await cleanup();
    }
  }, 120_000);

  it('`npm run demo:medigy` syncs the legacy profile with its shipped configuration', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const r = await npm(['run', 'demo:medigy', '--', dir], ROOT);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/sync done: [1-9]\d* created/);
      expect((await readdir(path.join(dir, 'content'))).sort()).toContain('communities-of-practice');
    } finally {
      await cleanup();
    }
  }, 120_000);
});
