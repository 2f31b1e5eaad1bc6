// Git-style unified diffs and a `git apply`-able patch (binary files as GIT binary
// patches: zlib-deflated, base85-encoded literals). Pure: callers hand in the bytes.
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { structuredPatch } from 'diff';

export interface FileChange {
  path: string;
  /** null = the file does not exist on that side. */
  oldBytes: Buffer | null;
  newBytes: Buffer | null;
  binary: boolean;
}

const ZERO = '0'.repeat(40);

/** The id git gives a blob: sha1("blob <len>\0" + bytes). */
export function gitBlobId(bytes: Buffer | null): string {
  if (!bytes) return ZERO;
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function header(c: FileChange): string[] {
  const lines = [`diff --git a/${c.path} b/${c.path}`];
  if (!c.oldBytes) lines.push('new file mode 100644');
  if (!c.newBytes) lines.push('deleted file mode 100644');
  lines.push(`index ${gitBlobId(c.oldBytes)}..${gitBlobId(c.newBytes)}${c.oldBytes && c.newBytes ? ' 100644' : ''}`);
  return lines;
}

function textHunks(c: FileChange): string[] {
  const oldText = c.oldBytes ? c.oldBytes.toString('utf8') : '';
  const newText = c.newBytes ? c.newBytes.toString('utf8') : '';
  const p = structuredPatch('a', 'b', oldText, newText, '', '', { context: 3 });
  if (p.hunks.length === 0) return [];
  const out = [`--- ${c.oldBytes ? `a/${c.path}` : '/dev/null'}`, `+++ ${c.newBytes ? `b/${c.path}` : '/dev/null'}`];
  for (const h of p.hunks) {
    // An empty side is "0,0"; git writes the start as 0 there.
    const oldStart = h.oldLines === 0 ? h.oldStart - (h.oldStart > 0 ? 1 : 0) : h.oldStart;
    const newStart = h.newLines === 0 ? h.newStart - (h.newStart > 0 ? 1 : 0) : h.newStart;
    out.push(`@@ -${oldStart},${h.oldLines} +${newStart},${h.newLines} @@`);
    out.push(...h.lines);
  }
  return out;
}

const B85 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~';
const B85_CODES = Buffer.from(B85, 'latin1');

/**
 * git's base85 (for binary patches): 4 bytes → 5 characters, big-endian, the last group
 * padded with zero bytes. Written into one buffer: a patch of a site's images is megabytes
 * of it, and a string built a character at a time was most of a `--patch` run's CPU and
 * garbage (the fault tests render the patch of every attachment 24 times).
 */
export function base85(data: Uint8Array): string {
  const groups = Math.ceil(data.length / 4);
  const out = Buffer.allocUnsafe(groups * 5);
  for (let g = 0; g < groups; g++) {
    const i = g * 4;
    let acc = (data[i] ?? 0) * 0x1000000 + (((data[i + 1] ?? 0) << 16) | ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0));
    for (let k = 4; k >= 0; k--) {
      out[g * 5 + k] = B85_CODES[acc % 85]!;
      acc = Math.floor(acc / 85);
    }
  }
  return out.toString('latin1');
}

/** Bytes per line of a GIT binary patch literal (a multiple of 4: each line is whole base85 groups). */
const LINE_BYTES = 52;

function literal(bytes: Buffer): string[] {
  const z = deflateSync(bytes);
  // Encoded once and cut at line boundaries: the same characters as line by line, since
  // a line's 52 bytes are 13 whole groups.
  const encoded = base85(z);
  const lines = [`literal ${bytes.length}`];
  for (let i = 0; i < z.length; i += LINE_BYTES) {
    const n = Math.min(LINE_BYTES, z.length - i);
    const from = (i / 4) * 5;
    lines.push((n <= 26 ? String.fromCharCode(64 + n) : String.fromCharCode(96 + n - 26)) + encoded.slice(from, from + Math.ceil(n / 4) * 5));
  }
  lines.push('');
  return lines;
}

/** A unified diff for reading (binary files named, not spelled out). */
export function renderChange(c: FileChange): string[] {
  if (c.binary) {
    return [...header(c), `Binary files ${c.oldBytes ? `a/${c.path}` : '/dev/null'} and ${c.newBytes ? `b/${c.path}` : '/dev/null'} differ`];
  }
  return [...header(c), ...textHunks(c)];
}

/** The same change as `git apply` takes it (binary included, with a reverse hunk). */
export function renderPatchChange(c: FileChange): string[] {
  if (!c.binary) return [...header(c), ...textHunks(c)];
  return [...header(c), 'GIT binary patch', ...literal(c.newBytes ?? Buffer.alloc(0)), ...literal(c.oldBytes ?? Buffer.alloc(0))];
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', cyan: '\x1b[36m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function colorize(line: string): string {
  if (line.startsWith('diff --git') || line.startsWith('index ') || line.startsWith('new file') || line.startsWith('deleted file'))
    return `${ANSI.bold}${line}${ANSI.reset}`;
  if (line.startsWith('+++') || line.startsWith('---')) return `${ANSI.bold}${line}${ANSI.reset}`;
  if (line.startsWith('@@')) return `${ANSI.cyan}${line}${ANSI.reset}`;
  if (line.startsWith('+')) return `${ANSI.green}${line}${ANSI.reset}`;
  if (line.startsWith('-')) return `${ANSI.red}${line}${ANSI.reset}`;
  return line;
}
