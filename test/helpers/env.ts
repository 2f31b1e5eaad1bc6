// Shared test support: fixture locations, temp dirs, running the real CLI, reading trees.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import type { SourceSpec } from '../../src/types.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'fixtures', 'medigy');
export const FIXTURE_DATASET = path.join(FIXTURES, 'dataset');
export const FIXTURE_EXPECTED = path.join(FIXTURES, 'expected');
export const MEDIGY_CONFIG = path.join(FIXTURES, 'curate.config.yaml');
export const SHARED_TRAIN = path.resolve(ROOT, '..', 'shared', 'medigy', 'train');
export const HAS_SHARED = existsSync(path.join(SHARED_TRAIN, 'dataset', 'instance.json'));
export const BIN = path.join(ROOT, 'bin', 'curate.js');
export const LEGACY_NOW = new Date('2021-02-19T00:00:00Z');

/**
 * Where tests write: memory (/dev/shm) when it has room, else the system's temp folder. A
 * sync fsyncs every file it writes and every folder it renames into; on a disk shared with
 * other work that waiting was most of a small sync's time, and no test is about the disk.
 * (A container's /dev/shm is often 64 MB: too small, so it is checked, not assumed.)
 */
export const TEST_TMP = ((): string => {
  try {
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize >= 2 ** 30) return '/dev/shm';
  } catch {
    /* no /dev/shm */
  }
  return tmpdir();
})();

export async function tempDir(prefix = 'curate-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(TEST_TMP, prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function medigyConfig(): Promise<{ sources: SourceSpec[]; options: unknown }> {
  const cfg = yaml.load(await readFile(MEDIGY_CONFIG, 'utf8')) as { sources: SourceSpec[]; profile: { options: unknown } };
  return { sources: cfg.sources.map((s) => ({ ...s, statuses: s.statuses ?? [], options: s.options ?? {} })), options: cfg.profile.options };
}

/**
 * Hashes of files already read, by absolute path, used while the file's inode, size, mtime
 * and ctime (nanoseconds) are unchanged (any write or rename changes its ctime): tests hash
 * the same trees again and again (the fixtures' expected tree, an output before and after a
 * run that rewrites a few files; the soak test 400 times), and reading and hashing a tree
 * cost ~11 ms of CPU, a stat of each file far less.
 */
const hashCache = new Map<string, { sig: string; hash: string }>();

async function fileHash(p: string): Promise<string> {
  const st = statSync(p, { bigint: true }); // a stat is a few µs: cheaper without the thread pool
  const sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const hit = hashCache.get(p);
  if (hit?.sig === sig) return hit.hash;
  const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
  if (hashCache.size >= 100_000) hashCache.clear();
  hashCache.set(p, { sig, hash });
  return hash;
}

/** Every file under `dir` (POSIX relative path → sha256), skipping `.curate/` unless asked. */
export async function treeHashes(dir: string, options: { includeState?: boolean } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p).split(path.sep).join('/');
      if (!options.includeState && (rel === '.curate' || rel.startsWith('.curate/') || rel === '.git' || rel.startsWith('.git/'))) continue;
      // `.curate/local/` is this machine's cache (folder stamps), not state: it differs between two copies of one site.
      if (rel === '.curate/local' || rel.startsWith('.curate/local/')) continue;
      if (e.isDirectory()) await walk(p);
      else out.set(rel, await fileHash(p));
    }
  };
  await walk(dir);
  return out;
}

export function diffTrees(actual: Map<string, string>, expected: Map<string, string>): { missing: string[]; extra: string[]; different: string[] } {
  const missing = [...expected.keys()].filter((k) => !actual.has(k)).sort();
  const extra = [...actual.keys()].filter((k) => !expected.has(k)).sort();
  const different = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k)).sort();
  return { missing, extra, different };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (built bin) as a child process. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      // No download cache unless a test asks for one: runs stay independent of each other.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CURATE_CACHE_DIR: 'off', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`git ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
