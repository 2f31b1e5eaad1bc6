// `--patch FILE`: the dry run's plan as a patch whose paths are relative to the git work
// tree root when the output root is inside one (so `git apply` works from that root),
// else to the current folder; and the exact command that applies it from where curate ran.
import { changedFiles, filesOf } from '../plan/planned.js';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { FileChange } from '../plan/diff.js';
import type { SyncReport } from '../sync/index.js';
import { gitTopLevel, resolvedPath } from './git.js';
import { writeStdout } from './stdout.js';

export interface PatchBase {
  /** Prepended to every path in the patch (POSIX, "" or ending in "/"). */
  prefix: string;
  /** The folder `git apply` must run in (absolute, symlinks resolved). */
  applyDir: string;
  /** Where curate runs (absolute, symlinks resolved). */
  cwd: string;
}

const posix = (p: string): string => p.split(path.sep).join('/');

export async function patchBase(outputRoot: string, cwd = process.cwd()): Promise<PatchBase> {
  const here = await resolvedPath(cwd);
  const base = (await gitTopLevel(outputRoot)) ?? here;
  const rel = posix(path.relative(base, await resolvedPath(outputRoot)));
  return { prefix: rel ? `${rel}/` : '', applyDir: base, cwd: here };
}

/** The command to run from `cwd`: `git apply P`, or `git -C DIR apply P` when the patch must be applied elsewhere. */
export function applyCommand(patchFile: string, base: PatchBase): string {
  const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const abs = path.resolve(base.cwd, patchFile);
  if (base.cwd === base.applyDir) return `git apply ${q(patchFile)}`;
  const dir = path.relative(base.cwd, base.applyDir) || '.';
  return `git -C ${q(dir)} apply ${q(posix(path.relative(base.applyDir, abs)))}`;
}

async function* patchLines(report: SyncReport, prefix: string): AsyncGenerator<string> {
  const { renderPatchChange } = await import('../plan/diff.js');
  for (const f of changedFiles(filesOf(report.plan))) {
    const change: FileChange = { path: `${prefix}${f.path}`, oldBytes: f.action === 'create' ? null : await report.readOld(f.path), newBytes: await report.readNew(f), binary: f.binary };
    yield* renderPatchChange(change);
  }
}

/** Write the patch to `target` ("-" = stdout). */
export async function writePatch(report: SyncReport, target: string, base: PatchBase): Promise<void> {
  if (target === '-') {
    for await (const line of patchLines(report, base.prefix)) await writeStdout(`${line}\n`);
    return;
  }
  const stream = createWriteStream(target);
  const failed = once(stream, 'error').then(([e]) => {
    throw e;
  });
  failed.catch(() => undefined);
  for await (const line of patchLines(report, base.prefix)) {
    if (!stream.write(`${line}\n`)) await Promise.race([once(stream, 'drain'), failed]);
  }
  stream.end();
  await Promise.race([once(stream, 'finish'), failed]);
}
