// `--git-commit`: stage only the files curate touched and commit them, leaving anything
// else the user has staged or changed alone.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { CurateError } from '../errors.js';

/**
 * Run git with `input` on stdin. Paths travel NUL-separated on stdin (--pathspec-from-file):
 * no argv length limit on large corpora, and with GIT_LITERAL_PATHSPECS a title containing
 * `*` or `[` is a file name, not a glob.
 */
function git(cwd: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, GIT_LITERAL_PATHSPECS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new CurateError('OUTPUT', `--git-commit needs git on PATH: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new CurateError('OUTPUT', `git ${args[0]} failed: ${Buffer.concat(err).toString('utf8').trim() || `exit status ${code}`}`));
    });
    child.stdin.on('error', () => {
      /* git exited before reading its input; the exit status reports why */
    });
    child.stdin.end(input);
  });
}

/** `p` with its nearest existing ancestor's symlinks resolved (git reports resolved paths). */
export async function resolvedPath(p: string): Promise<string> {
  const abs = path.resolve(p);
  let dir = abs;
  for (;;) {
    try {
      const real = await realpath(dir);
      return path.join(real, path.relative(dir, abs));
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return abs;
      dir = parent;
    }
  }
}

/**
 * The git work tree `dir` is (or will be, once created) inside, resolved; null when
 * none or when git is not installed. Asked of the nearest folder that exists, so it
 * works before a first sync creates the output root.
 */
export async function gitTopLevel(dir: string): Promise<string | null> {
  const target = await resolvedPath(dir);
  let existing = target;
  while (!existsSync(existing)) existing = path.dirname(existing);
  try {
    const top = (await git(existing, ['rev-parse', '--show-toplevel'])).trim();
    return top ? await realpath(top) : null;
  } catch {
    return null;
  }
}

/** Before syncing with --git-commit: the output root must be in a work tree, or nothing is done. */
export async function assertInWorkTree(outputRoot: string): Promise<void> {
  if ((await gitTopLevel(outputRoot)) === null) {
    throw new CurateError('OUTPUT', `--git-commit: the output root ${outputRoot} is not inside a git work tree (or git is not installed); run \`git init\` in the site repository first, or drop --git-commit. Nothing was synced.`);
  }
}

const nulList = (paths: string[]): string => paths.map((p) => `${p}\0`).join('');
const splitNul = (s: string): string[] => s.split('\0').filter(Boolean);

/**
 * Commit `files` (paths relative to `root`: creations, updates and deletions). Returns the
 * commit id, or null when none of them differs from HEAD.
 */
export async function commitFiles(root: string, files: string[], message: string): Promise<string | null> {
  if (files.length === 0) return null;
  // Real paths: git reports its top level resolved (/tmp → /private/tmp on macOS).
  const realRoot = await realpath(root);
  let top: string;
  try {
    top = (await git(realRoot, ['rev-parse', '--show-toplevel'])).trim();
  } catch (e) {
    throw new CurateError('OUTPUT', `--git-commit: the output root ${root} is not inside a git work tree; run \`git init\` there first, or drop --git-commit (the files were written)`, { cause: e });
  }
  const rel = (f: string): string => path.relative(top, path.join(realRoot, ...f.split('/'))).split(path.sep).join('/');
  const wanted = files.map(rel);
  // A deleted file git never knew about has nothing to commit, and naming it would fail `git add`.
  const tracked = new Set(splitNul(await git(top, ['ls-files', '-z', '--', rel('.') || '.'])));
  const candidates = wanted.filter((p) => tracked.has(p) || existsSync(path.join(top, p)));
  if (candidates.length === 0) return null;
  await git(top, ['add', '-A', '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(candidates));
  const staged = new Set(splitNul(await git(top, ['diff', '--cached', '--name-only', '-z', '--no-renames'])));
  const toCommit = candidates.filter((p) => staged.has(p));
  if (toCommit.length === 0) return null;
  // Commit exactly these paths (`git commit -- paths` semantics): whatever else the user staged stays staged.
  await git(top, ['commit', '--quiet', '-m', message, '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(toCommit));
  return (await git(top, ['rev-parse', 'HEAD'])).trim();
}

type Counts = { create: number; update: number; delete: number; rename: number };

/** Subject with the totals per action; a body line per source that changed (`git log` reads well). */
export function commitMessage(total: Counts, bySource: Record<string, Counts>, failed = 0): string {
  const line = (c: Counts): string => `${c.create} created, ${c.update} updated, ${c.delete} deleted${c.rename ? `, ${c.rename} renamed` : ''}`;
  const body = Object.entries(bySource)
    .filter(([, c]) => c.create + c.update + c.delete > 0)
    .map(([name, c]) => `- ${name}: ${line(c)}`);
  if (failed) body.push(`- ${failed} item${failed === 1 ? '' : 's'} failed and kept ${failed === 1 ? 'its' : 'their'} last good files (retried on the next run)`);
  return `curate sync: ${line(total)}${body.length ? `\n\n${body.join('\n')}` : ''}`;
}
