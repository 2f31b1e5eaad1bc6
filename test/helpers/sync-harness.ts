// Running the real sync engine in-process against the real simulator, with a client
// tuned for tests (tiny backoff, short timeouts), and collecting everything it said so
// secret-leak checks can grep it.
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import path from 'node:path';
import { createOpenProjectClient, type OpenProjectClient } from '../../src/openproject/index.js';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { loadDataset, startSimulator, type Dataset, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { renderPatch, runSync, type SyncOptions, type SyncReport } from '../../src/sync/index.js';
import { FIXTURE_DATASET, LEGACY_NOW, medigyConfig, tempDir, treeHashes } from './env.js';

export const TEST_KEY = 'opapi-test-secret-7c1e9b';

export async function freshFixtureDataset(): Promise<Dataset> {
  return loadDataset(FIXTURE_DATASET);
}

export async function startFixtureSimulator(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ dataset: await freshFixtureDataset(), apiKey: TEST_KEY, ...options });
}

export function testClient(sim: Simulator, overrides: Partial<Parameters<typeof createOpenProjectClient>[0]> = {}, said?: string[]): OpenProjectClient {
  return createOpenProjectClient({
    baseUrl: sim.url,
    apiKey: TEST_KEY,
    backoffBaseMs: 2,
    maxBackoffMs: 50,
    timeoutMs: 1500,
    retries: 8,
    onRequest: (e) => said?.push(JSON.stringify(e)),
    ...overrides,
  });
}

export async function medigySync(sim: Simulator, outputRoot: string, extra: Partial<SyncOptions> & { client?: OpenProjectClient; said?: string[] } = {}): Promise<SyncReport> {
  const { sources, options } = await medigyConfig();
  const client = extra.client ?? testClient(sim, {}, extra.said);
  try {
    const report = await runSync({
      outputRoot,
      sources,
      profile: createProfile('medigy', options),
      client,
      now: LEGACY_NOW,
      onEvent: (e) => extra.said?.push(JSON.stringify(e)),
      ...extra,
    });
    extra.said?.push(JSON.stringify({ errors: report.errors, warnings: report.warnings, requests: report.requests }));
    return report;
  } catch (e) {
    extra.said?.push(String((e as Error).message), String((e as Error).stack));
    throw e;
  } finally {
    if (!extra.client) await client.close();
  }
}

/** Everything a run produced that a user could see or commit: for secret greps. */
export async function everythingWritten(root: string, report?: SyncReport): Promise<string> {
  const parts: string[] = [];
  try {
    parts.push(await readFile(path.join(root, '.curate', 'manifest.json'), 'utf8'));
  } catch {
    /* no manifest */
  }
  if (report) for await (const line of renderPatch(report)) parts.push(line);
  return parts.join('\n');
}

/** The tree a fresh medigy sync of `sim` writes into an empty folder (asserted free of item errors). */
export async function freshMedigyTree(sim: Simulator): Promise<Map<string, string>> {
  const fresh = await tempDir('curate-fresh-');
  try {
    expect((await medigySync(sim, fresh.dir)).errors).toEqual([]);
    return await treeHashes(fresh.dir);
  } finally {
    await fresh.cleanup();
  }
}
