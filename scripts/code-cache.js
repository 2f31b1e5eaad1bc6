#!/usr/bin/env node
// Third build step (scripts/bundle.js runs it; `node scripts/code-cache.js` makes it
// again): V8's code cache for dist/bundle/curate.cjs, which bin/load-bundle.js hands to V8
// at each start. V8 puts in a cache the functions
// compiled so far, and compiles most of them only when they are first called, so a cache
// made right after compiling holds little (no measurable gain). This one is made by runs of
// the CLI against the simulator on 127.0.0.1 with the fixtures: a sync of the medigy
// fixture into an empty folder, the same sync again (nothing changes), then a sync of the
// default profile's fixture. Each run starts from the cache the one before wrote and adds
// what it compiled. A last run checks that V8 takes the cache; if any step fails, the
// build goes on without a cache (the CLI is then only slower to start) and says why.
//
// As a child process (CURATE_CODE_CACHE=write or check) this script is the CLI itself.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const mode = process.env.CURATE_CODE_CACHE;
if (mode === 'write' || mode === 'check') {
  // As bin/curate.js does, before anything is loaded (Node's module loader reads files on
  // libuv's thread pool, which takes its size when first used).
  process.env.UV_THREADPOOL_SIZE ??= '16';
  const { codeCacheFile, CODE_CACHE, runBundle } = await import('../bin/load-bundle.js');
  const { script, crc, cached } = runBundle();
  process.on('exit', () => {
    if (mode === 'write') writeFileSync(CODE_CACHE, codeCacheFile(crc, script.createCachedData()));
    else process.stderr.write(`code cache: ${cached ? 'taken' : 'not taken'}\n`);
  });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await makeCodeCache();
}

/** Whether V8 takes dist/bundle/curate.cjs.cache for dist/bundle/curate.cjs as they are. */
export async function cacheTaken() {
  const check = await child('check', ['--version'], {});
  return /^code cache: taken$/m.test(check.stderr);
}

/** Makes dist/bundle/curate.cjs.cache (or, when a step fails, removes it and says why). */
export async function makeCodeCache() {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const { CODE_CACHE } = await import('../bin/load-bundle.js');
  const { startSimulator } = await import('../dist/simulator/index.js');
  await rm(CODE_CACHE, { force: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'curate-code-cache-'));
  const key = 'code-cache-build';
  const sims = [];
  try {
    const medigy = await startSimulator({ dataset: path.join(root, 'fixtures', 'medigy', 'dataset'), apiKey: key });
    const site = await startSimulator({ dataset: path.join(root, 'fixtures', 'default', 'dataset'), apiKey: key });
    sims.push(medigy, site);
    const sync = (sim, profile, out) => ({
      args: ['sync', '--config', path.join(root, 'fixtures', profile, 'curate.config.yaml'), '--out', path.join(tmp, out), '--quiet'],
      env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: key },
    });
    const runs = [sync(medigy, 'medigy', 'medigy'), sync(medigy, 'medigy', 'medigy'), sync(site, 'default', 'default')];
    for (const run of runs) {
      const r = await child('write', run.args, run.env);
      if (r.code !== 0) return await giveUp(CODE_CACHE, `\`curate ${run.args.join(' ')}\` exited ${r.code}: ${r.stderr.trim().slice(-500)}`);
    }
    if (!(await cacheTaken())) return await giveUp(CODE_CACHE, 'V8 did not take the cache it made');
  } catch (e) {
    await giveUp(CODE_CACHE, e instanceof Error ? e.message : String(e));
  } finally {
    await Promise.all(sims.map((s) => s.close()));
    await rm(tmp, { recursive: true, force: true });
  }
}

async function giveUp(cacheFile, why) {
  await rm(cacheFile, { force: true });
  process.stderr.write(`scripts/code-cache.js: no code cache for the CLI (it works without one, only starts slower): ${why}\n`);
}

/** This script as the CLI, in a child process with only PATH and HOME of this environment. */
function child(mode, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CURATE_CACHE_DIR: 'off', NO_COLOR: '1', ...env, CURATE_CODE_CACHE: mode },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}
