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

/**
 * Refuse to write through a symlink: every existing component between the root and
 * the file must be a real directory (a link inside the root could point anywhere).
 */
export async function assertNoSymlinkParents(root: string, rel: string): Promise<void> {
  const segs = rel.split('/');
  let cur = path.resolve(root);
  for (let i = 0; i < segs.length; i++) {
    cur = path.join(cur, segs[i]!);
    let st;
    try {
      st = await lstat(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (st.isSymbolicLink()) throw new OutputError(`refusing to write ${JSON.stringify(rel)}: ${path.relative(root, cur)} is a symbolic link`);
    if (i < segs.length - 1 && !st.isDirectory()) throw new OutputError(`refusing to write ${JSON.stringify(rel)}: ${path.relative(root, cur)} is not a directory`);
  }
}
