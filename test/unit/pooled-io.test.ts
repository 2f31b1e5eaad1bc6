// Files read, written and hashed through reused buffers (src/output/pooled-io.ts): the same
// bytes and text as node's own readFile/writeFile, under concurrency too, and no new
// buffer per file.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendText, pooledBuffers, readText, readTextSync, sha256OfFile, writeText } from '../../src/output/pooled-io.js';
import { tempDir } from '../helpers/env.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const STEP = 256 << 10;
/** Text of about `chars` characters: ASCII, two-, three- and four-byte characters, so buffer boundaries fall inside characters. */
const textOf = (chars: number, seed: number): string => {
  const parts = ['a', 'é', '€', '𝄞', '\n', 'z', '{"id":1}'];
  const unit = Array.from({ length: 97 }, (_, i) => parts[(i * 7 + seed) % parts.length]).join('');
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
};

describe('pooled file reads and writes', () => {
  it('readText and readTextSync give what readFile gives, at sizes around the buffer steps', async () => {
    for (const chars of [0, 1, 1000, STEP - 3, STEP, STEP + 1, 3 * STEP + 5]) {
      const file = path.join(dir, `r-${chars}.txt`);
      await writeFile(file, textOf(chars, chars));
      const expected = await readFile(file, 'utf8');
      expect(await readText(file)).toBe(expected);
      expect(readTextSync(file)).toBe(expected);
    }
  });

  it('a file larger than the pool is read whole', async () => {
    const file = path.join(dir, 'big.txt');
    await writeFile(file, textOf(9 << 20, 3));
    expect(await readText(file)).toBe(await readFile(file, 'utf8'));
  });

  it('twenty reads at once each get their own file (a buffer is not handed out twice)', async () => {
    const files = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const file = path.join(dir, `c-${i}.txt`);
        await writeFile(file, `${i}:` + textOf(50_000 + i * 977, i));
        return file;
      }),
    );
    const texts = await Promise.all(files.map((f) => readText(f)));
    for (const [i, f] of files.entries()) expect(texts[i]).toBe(await readFile(f, 'utf8'));
    const hashes = await Promise.all(files.map((f) => sha256OfFile(f)));
    for (const [i, f] of files.entries()) expect(hashes[i]).toBe(createHash('sha256').update(await readFile(f)).digest('hex'));
  });

  it('writeText and appendText write the bytes Buffer.from gives, a lone surrogate included', async () => {
    const text = textOf(STEP + 11, 1) + '\ud800' + 'end';
    const file = path.join(dir, 'w.txt');
    const fh = await open(file, 'wx');
    try {
      await writeText(fh, text);
    } finally {
      await fh.close();
    }
    expect((await readFile(file)).equals(Buffer.from(text, 'utf8'))).toBe(true);
    const more = await open(file, 'a');
    try {
      await appendText(more, '€ more');
    } finally {
      await more.close();
    }
    expect((await readFile(file)).equals(Buffer.from(text + '€ more', 'utf8'))).toBe(true);
  });

  it('sha256OfFile matches the hash of readFile at sizes around its chunk, and rejects as readFile does', async () => {
    for (const bytes of [0, 1, STEP - 1, STEP, STEP + 1, 3 * STEP + 5]) {
      const file = path.join(dir, `h-${bytes}.bin`);
      const data = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) & 0xff;
      await writeFile(file, data);
      expect(await sha256OfFile(file)).toBe(createHash('sha256').update(data).digest('hex'));
    }
    await expect(sha256OfFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(path.join(dir, 'a-folder'));
    await expect(sha256OfFile(path.join(dir, 'a-folder'))).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('reading fifty shard-sized files one after another allocates no buffer per file', async () => {
    const files: string[] = [];
    for (let i = 0; i < 50; i++) {
      const file = path.join(dir, `s-${i}.json`);
      await writeFile(file, textOf(500_000, i));
      files.push(file);
    }
    await readText(files[0]!); // the pool's first buffer
    const before = process.memoryUsage().arrayBuffers;
    let chars = 0;
    for (const f of files) chars += (await readText(f)).length;
    for (const f of files) chars += readTextSync(f).length;
    for (const f of files) await sha256OfFile(f);
    expect(chars).toBe(100 * 500_000);
    // 150 reads of ~0.6 MB: without reuse ~90 MB of buffers until a collection frees them.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
    expect(pooledBuffers()).toBeGreaterThan(0);
  });
});
