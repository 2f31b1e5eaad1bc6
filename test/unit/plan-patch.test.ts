// The git patch of a plan, checked against real git: for random old and new trees (text
// with and without final newlines, CRLF, non-ASCII, empty files, binary files, awkward
// names), `git apply` of the patch must turn the old tree into exactly the new one.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { colorize, gitBlobId, renderChange, renderPatchChange, type FileChange } from '../../src/plan/diff.js';
import { tempDir } from '../helpers/env.js';

function run(cwd: string, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

type Tree = Map<string, { bytes: Buffer; binary: boolean }>;

async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [rel, f] of tree) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), f.bytes);
  }
}

async function readTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name === '.git' || e.name === 'changes.patch') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(path.relative(root, p).split(path.sep).join('/'), (await readFile(p)).toString('base64'));
    }
  };
  await walk(root);
  return out;
}

function changesBetween(oldTree: Tree, newTree: Tree): FileChange[] {
  const paths = [...new Set([...oldTree.keys(), ...newTree.keys()])].sort();
  const out: FileChange[] = [];
  for (const p of paths) {
    const a = oldTree.get(p);
    const b = newTree.get(p);
    if (a && b && a.bytes.equals(b.bytes)) continue;
    out.push({ path: p, oldBytes: a?.bytes ?? null, newBytes: b?.bytes ?? null, binary: (a ?? b)!.binary });
  }
  return out;
}

async function applyAndRead(oldTree: Tree, changes: FileChange[]): Promise<Map<string, string>> {
  const { dir, cleanup } = await tempDir('curate-patch-');
  try {
    await run(dir, 'git', ['init', '-q']);
    await writeTree(dir, oldTree);
    const patch = changes.flatMap(renderPatchChange);
    await writeFile(path.join(dir, 'changes.patch'), patch.length ? `${patch.join('\n')}\n` : '');
    if (patch.length) await run(dir, 'git', ['apply', '--binary', 'changes.patch']);
    return await readTree(dir);
  } finally {
    await cleanup();
  }
}

function expectedTree(t: Tree): Map<string, string> {
  return new Map([...t].map(([k, v]) => [k, v.bytes.toString('base64')]));
}

// Names as profiles produce them (slugs, bundles), plus the awkward ones a subject can bring.
const NAMES = ['a.md', 'news/2021/x.md', 'news/2021/x-featuredImage.png', 'b/index.md', 'b/logo.ico', 'é/ü ñ.md', 'with space.md', 'c/d/e/deep.md', 'empty.md', 'data.bin'];
const LINES = ['', 'title: x', '---', 'héllo wörld', 'line with trailing space ', '\ttabbed', 'crlf\r', '+plus', '-minus', ' space first', '\\ backslash', '@@ not a hunk @@', 'a'.repeat(120)];

const textArb = fc
  .tuple(fc.array(fc.constantFrom(...LINES), { maxLength: 14 }), fc.boolean())
  .map(([lines, finalNewline]) => Buffer.from(lines.join('\n') + (finalNewline && lines.length ? '\n' : ''), 'utf8'));
const binArb = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

const treeArb = fc
  .dictionary(fc.constantFrom(...NAMES), fc.tuple(textArb, binArb), { maxKeys: 7 })
  .map((d): Tree => {
    const t: Tree = new Map();
    for (const [name, [text, bin]] of Object.entries(d)) {
      const binary = /\.(png|ico|bin)$/.test(name);
      t.set(name, { bytes: binary ? bin : text, binary });
    }
    return t;
  });

/** A new tree that shares some files with the old one (so updates and unchanged files happen). */
const pairArb = fc.tuple(treeArb, treeArb, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 })).map(([oldTree, fresh, keep]) => {
  const newTree: Tree = new Map();
  [...oldTree.keys()].forEach((k, i) => {
    if (keep[i]) newTree.set(k, oldTree.get(k)!);
  });
  for (const [k, v] of fresh) newTree.set(k, v);
  return { oldTree, newTree };
});

describe('git patch of a plan', () => {
  it('git apply turns random old trees into exactly the new ones (text, binary, creations, deletions)', async () => {
    await fc.assert(
      fc.asyncProperty(pairArb, async ({ oldTree, newTree }) => {
        const result = await applyAndRead(oldTree, changesBetween(oldTree, newTree));
        expect(result).toEqual(expectedTree(newTree));
      }),
      { numRuns: 40, seed: 4242 },
    );
  }, 60_000);

  it('edge cases one by one: empty files, emptied files, a rename as delete + create, large binaries', async () => {
    const big = Buffer.alloc(200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const cases: Array<[Tree, Tree]> = [
      [new Map(), new Map([['empty.md', { bytes: Buffer.alloc(0), binary: false }]])],
      [new Map([['empty.md', { bytes: Buffer.alloc(0), binary: false }]]), new Map()],
      [new Map([['a.md', { bytes: Buffer.from('x\n'), binary: false }]]), new Map([['a.md', { bytes: Buffer.alloc(0), binary: false }]])],
      [new Map([['a.md', { bytes: Buffer.alloc(0), binary: false }]]), new Map([['a.md', { bytes: Buffer.from('no newline'), binary: false }]])],
      [new Map([['old/name.md', { bytes: Buffer.from('body\n'), binary: false }]]), new Map([['new/name.md', { bytes: Buffer.from('body\n'), binary: false }]])],
      [new Map([['i.png', { bytes: big, binary: true }]]), new Map([['i.png', { bytes: Buffer.concat([big, Buffer.from([1])]), binary: true }]])],
      [new Map([['i.png', { bytes: Buffer.from([1, 2, 3]), binary: true }]]), new Map([['j.png', { bytes: Buffer.alloc(0), binary: true }]])],
    ];
    for (const [oldTree, newTree] of cases) expect(await applyAndRead(oldTree, changesBetween(oldTree, newTree))).toEqual(expectedTree(newTree));
  }, 30_000);

  it('the readable diff matches git diff --no-index for text, and names binaries', async () => {
    const { dir, cleanup } = await tempDir('curate-diff-');
    try {
      const oldText = 'title: a\n\none\ntwo\nthree\nfour\nfive\nsix\nseven\n';
      const newText = 'title: b\n\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight';
      await mkdir(path.join(dir, 'a'));
      await mkdir(path.join(dir, 'b'));
      await writeFile(path.join(dir, 'a', 'f.md'), oldText);
      await writeFile(path.join(dir, 'b', 'f.md'), newText);
      // git diff --no-index exits 1 when files differ; the diff is on stdout either way.
      const gitOut = await new Promise<string>((resolve) => execFile('git', ['diff', '--no-index', '--full-index', 'a/f.md', 'b/f.md'], { cwd: dir }, (_e, stdout) => resolve(stdout)));
      const ours = renderChange({ path: 'f.md', oldBytes: Buffer.from(oldText), newBytes: Buffer.from(newText), binary: false });
      // git --no-index names the two sides a/a/f.md and b/b/f.md; compare from the hunks on.
      // git also appends a "function name" after a hunk header (a heuristic, optional for git apply).
      const hunks = (lines: string[]): string[] => lines.slice(lines.findIndex((l) => l.startsWith('@@'))).map((l) => l.replace(/^(@@ [^@]+ @@).*$/, '$1'));
      expect(hunks(ours)).toEqual(hunks(gitOut.trimEnd().split('\n')));
      expect(ours).toContain(`index ${gitBlobId(Buffer.from(oldText))}..${gitBlobId(Buffer.from(newText))} 100644`);
      const bin = renderChange({ path: 'x.png', oldBytes: null, newBytes: Buffer.from([0]), binary: true });
      expect(bin.at(-1)).toBe('Binary files /dev/null and b/x.png differ');
      expect(bin).toContain('new file mode 100644');
      const gone = renderChange({ path: 'x.md', oldBytes: Buffer.from('a\n'), newBytes: null, binary: false });
      expect(gone).toEqual(['diff --git a/x.md b/x.md', 'deleted file mode 100644', `index ${gitBlobId(Buffer.from('a\n'))}..${'0'.repeat(40)}`, '--- a/x.md', '+++ /dev/null', '@@ -1,1 +0,0 @@', '-a']);
    } finally {
      await cleanup();
    }
  });

  it('colours only the marker lines', () => {
    expect(colorize('+added')).toBe('\x1b[32m+added\x1b[0m');
    expect(colorize('-removed')).toBe('\x1b[31m-removed\x1b[0m');
    expect(colorize('@@ -1 +1 @@')).toBe('\x1b[36m@@ -1 +1 @@\x1b[0m');
    expect(colorize(' context')).toBe(' context');
  });
});
