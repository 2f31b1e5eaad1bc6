// `--git-commit`: stage only the files curate touched and commit them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CurateError } from '../errors.js';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CurateError('OUTPUT', `git ${args[0]} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** Commit `files` (paths relative to `root`). Returns the commit id, or null when nothing was staged. */
export async function commitFiles(root: string, files: string[], message: string): Promise<string | null> {
  if (files.length === 0) return null;
  const top = (await git(root, ['rev-parse', '--show-toplevel'])).trim();
  const abs = files.map((f) => path.relative(top, path.join(root, f)));
  // `add -A -- paths` stages creations, modifications and deletions of exactly these paths.
  for (let i = 0; i < abs.length; i += 500) await git(top, ['add', '-A', '--', ...abs.slice(i, i + 500)]);
  const staged = (await git(top, ['diff', '--cached', '--name-only', '--', ...abs.slice(0, 500)])).trim();
  if (!staged) return null;
  await git(top, ['commit', '--quiet', '-m', message, '--', ...abs.slice(0, 2000)]);
  return (await git(top, ['rev-parse', 'HEAD'])).trim();
}
