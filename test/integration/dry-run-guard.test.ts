// guardDryRun (src/output/lock.ts): a dry run takes no lock, so it refuses a root a live
// sync holds, and fails at its end when a sync applied anything while it was reading.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { acquireLock, guardDryRun } from '../../src/output/lock.js';
import { MANIFEST_FILE } from '../../src/output/manifest.js';
import { tempDir } from '../helpers/env.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function root(manifest: string | null): Promise<string> {
  const { dir, cleanup } = await tempDir('curate-dryguard-');
  cleanups.push(cleanup);
  if (manifest !== null) {
    await mkdir(path.join(dir, path.dirname(MANIFEST_FILE)), { recursive: true });
    await writeFile(path.join(dir, MANIFEST_FILE), manifest);
  }
  return dir;
}

describe('the dry run guard', () => {
  it('passes when nothing changed, with or without a manifest', async () => {
    for (const m of [null, '{"version":3}']) {
      const dir = await root(m);
      await expect((await guardDryRun(dir, MANIFEST_FILE)).check()).resolves.toBeUndefined();
    }
  });

  it('fails when the manifest changed, appeared or went away meanwhile', async () => {
    for (const [before, after] of [['{"a":1}', '{"a":2}'], [null, '{"a":1}'], ['{"a":1}', null]] as const) {
      const dir = await root(before);
      const guard = await guardDryRun(dir, MANIFEST_FILE);
      if (after === null) await rm(path.join(dir, MANIFEST_FILE));
      else {
        await mkdir(path.join(dir, path.dirname(MANIFEST_FILE)), { recursive: true });
        await writeFile(path.join(dir, MANIFEST_FILE), after);
      }
      await expect(guard.check()).rejects.toThrow(/applied changes to this output root while the dry run was reading it/);
    }
  });

  it('refuses a root a live sync holds, at the start and at the end', async () => {
    const dir = await root('{}');
    const lock = await acquireLock(dir);
    await expect(guardDryRun(dir, MANIFEST_FILE)).rejects.toBeInstanceOf(LockedError);
    await lock.release();
    const guard = await guardDryRun(dir, MANIFEST_FILE);
    const again = await acquireLock(dir);
    await expect(guard.check()).rejects.toBeInstanceOf(LockedError);
    await again.release();
  });
});
