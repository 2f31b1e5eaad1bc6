// The staging area on a real temp folder: what a download sink and a staged text leave on
// disk, and when. Staged files are moved into place by a rename in apply, so they must be
// complete (and, in a real run, fsynced) when the sink ends.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStaging, HELD_HANDLES, type Staging } from '../../src/output/staging.js';
import { tempDir } from '../helpers/env.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('staging', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function staging(dryRun: boolean): Promise<{ root: string; stage: Staging }> {
    const t = await tempDir();
    const stage = await createStaging(t.dir, dryRun);
    cleanups.push(async () => {
      await stage.dispose();
      await t.cleanup();
    });
    return { root: t.dir, stage };
  }

  it('a small download touches the disk only when the sink ends, then holds exactly its bytes', async () => {
    const { stage } = await staging(false);
    const sink = stage.sink();
    const w = await sink.open();
    await w.write(Buffer.from('hello '));
    await w.write(Buffer.from('world'));
    const { file } = sink.result();
    // The client writes while it still holds a request slot: no file yet, no disk work.
    expect(existsSync(file)).toBe(false);
    await w.end();
    const r = sink.result();
    expect(await readFile(r.file, 'utf8')).toBe('hello world');
    expect(r.sha256).toBe(sha('hello world'));
    expect(r.head.toString()).toBe('hello world');
  });

  it('a retried download (abort, reopen) keeps only the last attempt, even after a large partial write', async () => {
    const { stage } = await staging(false);
    const sink = stage.sink();
    const first = await sink.open();
    const big = Buffer.alloc(600 * 1024, 0x61); // over the write batch: this attempt reached the disk
    await first.write(big);
    expect(existsSync(sink.result().file)).toBe(true);
    await first.abort();
    const second = await sink.open();
    await second.write(Buffer.from('second attempt'));
    await second.end();
    const r = sink.result();
    expect(await readFile(r.file, 'utf8')).toBe('second attempt');
    expect(r.sha256).toBe(sha('second attempt'));
  });

  it('a large download is written in full and only its first MiB is kept in memory', async () => {
    const { stage } = await staging(false);
    const sink = stage.sink();
    const w = await sink.open();
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    for (const p of parts) await w.write(p);
    await w.end();
    const all = Buffer.concat(parts);
    const r = sink.result();
    expect((await readFile(r.file)).equals(all)).toBe(true);
    expect(r.sha256).toBe(sha(all));
    expect(r.head.equals(all.subarray(0, 1 << 20))).toBe(true);
  });

  it('staged texts hold their UTF-8 bytes; a dry run stages outside the output root', async () => {
    const real = await staging(false);
    const text = 'title: Café — ✓\n';
    const s = await real.stage.putText(text);
    expect(await readFile(s.file, 'utf8')).toBe(text);
    expect(s.sha256).toBe(sha(Buffer.from(text, 'utf8')));
    expect(s.file.startsWith(real.root + path.sep)).toBe(true);

    const dry = await staging(true);
    const d = await dry.stage.putText(text);
    expect(d.file.startsWith(dry.root + path.sep)).toBe(false);
    expect(d.file.startsWith(os.tmpdir())).toBe(true);
  });

  it('settle() waits for the background fsyncs; dispose() after a failed run skips those still queued and removes everything', async () => {
    const a = await staging(false);
    const files = await Promise.all(Array.from({ length: 40 }, (_, i) => a.stage.putText(`file ${i}\n`)));
    await a.stage.settle();
    for (const f of files) expect(existsSync(f.file)).toBe(true);

    const b = await staging(false);
    await Promise.all(Array.from({ length: 200 }, (_, i) => b.stage.putText(`file ${i}\n`)));
    await b.stage.dispose();
    expect(existsSync(b.stage.dir)).toBe(false);
  });

  // Open descriptors of this process into a folder (Linux: /proc/self/fd).
  const openInto = async (dir: string): Promise<number> => {
    let n = 0;
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(path.join('/proc/self/fd', fd)).catch(() => '');
      if (target.startsWith(`${dir}/`)) n += 1;
    }
    return n;
  };

  it.runIf(existsSync('/proc/self/fd'))('a finished file keeps its handle for its fsync, at most HELD_HANDLES of them; none is left open after settle() or dispose()', async () => {
    const { stage } = await staging(false);
    const texts = Array.from({ length: 400 }, (_, i) => `page ${i}\n`);
    // All at once: the fsyncs (two at a time) fall behind, as a cold sync's do.
    const staged = await Promise.all(texts.map((t) => stage.putText(t)));
    expect(await openInto(stage.dir)).toBeLessThanOrEqual(HELD_HANDLES + 2);
    await stage.settle();
    expect(await openInto(stage.dir)).toBe(0);
    for (const [i, s] of staged.entries()) expect(await readFile(s.file, 'utf8')).toBe(texts[i]);

    const second = await staging(false);
    await Promise.all(texts.map((t) => second.stage.putText(t)));
    await second.stage.dispose();
    expect(await openInto(second.stage.dir)).toBe(0);
    expect(existsSync(second.stage.dir)).toBe(false);
  });
});
