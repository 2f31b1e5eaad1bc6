// The real CLI (bin/curate.js) against the strict simulator (issue 13): the legacy corpus
// stays byte-identical whatever the server's page size, doctor passes, a bearer `opapi-`
// token syncs, and a subproject's work packages stay out of its parent's source.
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset, startSimulator, type JsonObject, type SimulatorOptions } from '../../src/simulator/index.js';
import { diffTrees, FIXTURE_DATASET, FIXTURE_EXPECTED, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';

const KEY = 'opapi-cli-conformance-5f2a';

async function syncAgainst(simOptions: Omit<SimulatorOptions, 'apiKey'>, expected: string, env: Record<string, string> = { OPENPROJECT_API_KEY: KEY }): Promise<{ ms: number; requests: number }> {
  const sim = await startSimulator({ apiKey: KEY, ...simOptions });
  const { dir, cleanup } = await tempDir();
  try {
    const out = path.join(dir, 'content');
    const t0 = Date.now();
    const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', '2021-02-19T00:00:00Z'], { env: { OPENPROJECT_URL: sim.url, ...env } });
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toContain(KEY);
    expect(diffTrees(await treeHashes(out), await treeHashes(expected))).toEqual({ missing: [], extra: [], different: [] });
    if (simOptions.downloads === 'redirect') {
      // Downloads went to the storage origin, and no credential went with them.
      const storage = sim.log().filter((l) => l.origin === 'storage');
      expect(storage.length).toBeGreaterThan(0);
      expect(storage.every((l) => !l.authorization)).toBe(true);
    }
    return { ms, requests: sim.counts().total };
  } finally {
    await sim.close();
    await cleanup();
  }
}

// Page-size independence is a property of the paging code, so it is checked on the bundled
// fixtures at page sizes that split every source's listing (1: one request per work
// package; 7: pages that end mid-source; 1000: one page). The train corpus (759 work
// packages), when present, is synced once, by medigy-e2e.test.ts, at page size 7 with
// expiring signed URLs and latency. (It used to run here at five page sizes and once more
// there, ~60 s of the suite.)
describe('the bundled fixtures are byte-identical for any server page size', () => {
  it.each([1, 7, 1000])('apiv3_max_page_size %i, downloads redirected to signed storage URLs', async (maxPageSize) => {
    await syncAgainst({ dataset: FIXTURE_DATASET, downloads: 'redirect', maxPageSize }, FIXTURE_EXPECTED);
  }, 120_000);
});

describe('the bundled fixtures through the real CLI', () => {
  it('a bearer opapi- token (OPENPROJECT_TOKEN) syncs', async () => {
    await syncAgainst({ dataset: FIXTURE_DATASET }, FIXTURE_EXPECTED, { OPENPROJECT_TOKEN: KEY });
  }, 120_000);

  it("a subproject's work packages stay out of its parent's source (includeSubprojects=false is sent)", async () => {
    const data = await loadDataset(FIXTURE_DATASET);
    // Every project is a source of its own: nested, the parent's source would also receive the
    // child's work packages on a server's default, and the tree would differ from the legacy one.
    for (const child of data.instance.projects.filter((p) => p.id !== 1)) child._links = { ...(child._links as JsonObject), parent: { href: '/api/v3/projects/1' } };
    await syncAgainst({ dataset: data }, FIXTURE_EXPECTED);
  }, 120_000);
});

describe('curate doctor (real binary) against the strict simulator', () => {
  async function doctor(env: Record<string, string>, simKey = KEY, dataset: SimulatorOptions['dataset'] = FIXTURE_DATASET): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const sim = await startSimulator({ dataset, apiKey: simKey });
    const { dir, cleanup } = await tempDir();
    try {
      // A copy of the medigy config whose output root lands in the temp folder.
      const cfg = (await readFile(MEDIGY_CONFIG, 'utf8')).replace(/root: .*/, 'root: out');
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, 'curate.config.yaml');
      await writeFile(file, cfg);
      return await runCli(['doctor', '--config', file], { env: { OPENPROJECT_URL: sim.url, ...env } });
    } finally {
      await sim.close();
      await cleanup();
    }
  }

  it('passes every check (the page-size probe is a valid query)', async () => {
    const r = await doctor({ OPENPROJECT_API_KEY: KEY });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('All checks passed.');
    expect(r.stdout).toMatch(/server page-size limit: 1000 work packages per request/);
    // Each source's query is sent once, counted, the way a sync sends it.
    expect(r.stdout).toMatch(/✓ source "femtech": 1 project\(s\) × \d+ type\(s\): \d+ work package\(s\)/);
  }, 60_000);

  it('says an archived project may be why a source project is unknown', async () => {
    const data = await loadDataset(FIXTURE_DATASET);
    data.instance.projects.find((p) => p.identifier === 'femtech')!.active = false;
    const r = await doctor({ OPENPROJECT_API_KEY: KEY }, KEY, data);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/✗ source "femtech": no project "femtech" on the server.* \(an existing project is missing from the list when it is archived or not visible to this key\)/);
  }, 60_000);

  it('explains a 401 for a bearer token without the opapi- prefix, without printing it', async () => {
    const r = await doctor({ OPENPROJECT_TOKEN: 'oauth-looking-token-123' }, 'oauth-looking-token-123');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/does not start with "opapi-"/);
    expect(r.stdout + r.stderr).not.toContain('oauth-looking-token-123');
  }, 60_000);
});
