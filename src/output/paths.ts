// Every path curate writes is relative to the output root and must stay inside it.
// Mapped paths come from work package data (subjects, file names), so they are
// checked here, at the last moment before disk, whatever the profile did.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.js';

const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/** Problems with a relative output path, or null when it is safe. Pure. */
export function unsafePathReason(rel: string): string | null {
  if (rel === '') return 'is empty';
  if (rel.includes('\0')) return 'contains a NUL byte';
  if (rel.includes('\\')) return 'contains a backslash';
  if (path.posix.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) return 'is absolute';
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return `has a "${seg || '(empty)'}" segment`;
    if (RESERVED.test(seg)) return `uses the reserved name "${seg}"`;
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\x00-\x1f]/.test(seg)) return 'contains a control character';
    if (Buffer.byteLength(seg) > 255) return 'has a segment longer than 255 bytes';
  }
  return null;
}

export function resolveInside(root: string, rel: string): string {
  const reason = unsafePathReason(rel);
  if (reason) throw new OutputError(`refusing output path ${JSON.stringify(rel)}: it ${reason}`);
  const abs = path.resolve(root, ...rel.split('/'));
  if (!abs.startsWith(path.resolve(root) + path.sep)) throw new OutputError(`refusing output path ${JSON.stringify(rel)}: it leaves the output root`);
  return abs;
}

type DirState = 'dir' | 'missing' | { link: string } | { notDir: string };

/**
 * Refuse to write through a symlink: every existing component between the root and
 * the file must be a real directory (a link inside the root could point anywhere), and
 * the file itself must not be a link.
 *
 * The guard remembers what it found for each folder, so checking thousands of files in
 * a few folders costs one lstat per folder plus one per file. Make a new guard for each
 * phase (planning, applying): a folder seen missing while planning may exist later.
 * Resolves to what the path itself is; a file in a missing folder is 'missing' without
 * a syscall of its own, which makes planning a cold sync nearly free.
 */
export type PathKind = 'missing' | 'file' | 'dir' | 'other';

/**
 * What a path is, for planning: a symbolic link on the way is refused (thrown: nothing is
 * ever written through one), while a file standing where a folder belongs is reported as
 * `{ notDir }` (the one folder, relative to the root), so the work packages that want paths
 * under it can fail as items while the rest of the run goes on.
 */
export function createPathInspector(root: string): (rel: string) => Promise<PathKind | { notDir: string }> {
  const base = path.resolve(root);
  const dirs = new Map<string, Promise<DirState>>();
  const inspect = async (rel: string): Promise<'file' | 'dir' | 'missing' | 'link' | 'other'> => {
    try {
      const st = await lstat(path.join(base, ...rel.split('/')));
      return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw e;
    }
  };
  const dirState = (relDir: string): Promise<DirState> => {
    let p = dirs.get(relDir);
    if (!p) {
      p = (async (): Promise<DirState> => {
        const parent = path.posix.dirname(relDir);
        if (parent !== '.') {
          const up = await dirState(parent);
          if (up !== 'dir') return up;
        }
        const kind = await inspect(relDir);
        if (kind === 'missing' || kind === 'dir') return kind;
        return kind === 'link' ? { link: relDir } : { notDir: relDir };
      })();
      dirs.set(relDir, p);
    }
    return p;
  };
  return async (rel: string): Promise<PathKind | { notDir: string }> => {
    const dir = path.posix.dirname(rel);
    const state = dir === '.' ? 'dir' : await dirState(dir);
    if (state === 'missing') return 'missing';
    if (typeof state === 'object') {
      if ('link' in state) throw new OutputError(`refusing to write ${JSON.stringify(rel)}: ${state.link} is a symbolic link`);
      return state;
    }
    const kind = await inspect(rel);
    if (kind === 'link') throw new OutputError(`refusing to write ${JSON.stringify(rel)}: ${rel} is a symbolic link`);
    return kind;
  };
}

/** The inspector for writing: anything but a real folder on the way is refused (thrown). */
export function createSymlinkGuard(root: string): (rel: string) => Promise<PathKind> {
  const inspect = createPathInspector(root);
  return async (rel: string): Promise<PathKind> => {
    const kind = await inspect(rel);
    if (typeof kind === 'object') throw new OutputError(`refusing to write ${JSON.stringify(rel)}: ${kind.notDir} is not a directory`);
    return kind;
  };
}
