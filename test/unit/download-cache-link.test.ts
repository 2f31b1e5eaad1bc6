// The download cache (src/cli/download-cache.ts) keeps a verified download by linking the
// engine's staged file, not by writing a second copy of every chunk as it streams.
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync, type Dirent } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { namesIn, withDownloadCache } from '../../src/cli/download-cache.js';
import type { OpenProjectClient } from '../../src/openproject/types.js';
import { createStaging } from '../../src/output/staging.js';
import type { Attachment } from '../../src/types.js';
import { TEST_TMP } from '../helpers/env.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const bytes = Buffer.from('the bytes of attachment 7, in two chunks');
const attachment = { id: 7, containerId: 70, fileName: 'a.png', fileSize: bytes.length, md5: createHash('md5').update(bytes).digest('hex') } as Attachment;

/** A client whose download writes the bytes in two chunks, counting how many times it is asked. */
function fakeClient(): { client: OpenProjectClient; downloads: () => number } {
  const md5Of = (a: Attachment): string => a.md5!;
  let n = 0;
  const client = {
    baseUrl: 'http://127.0.0.1:1',
    async downloadAttachment(_a, sink) {
      n += 1;
      const w = await sink.open();
      await w.write(bytes.subarray(0, 10));
      await w.write(bytes.subarray(10));
      await w.end();
      return { bytes: bytes.length, md5: md5Of(_a) };
    },
  } as Partial<OpenProjectClient> as OpenProjectClient;
  return { client, downloads: () => n };
}

describe('download cache', () => {
  it("keeps a download as a link to the staged file (same inode), and serves it to the next run's staging", async () => {
    const base = await mkdtemp(path.join(TEST_TMP, 'curate-dlcache-'));
    dirs.push(base);
    const cacheDir = path.join(base, 'cache');
    const staging = await createStaging(path.join(base, 'out'), false);
    const { client, downloads } = fakeClient();
    const cache = withDownloadCache(client, cacheDir);
    const sink = staging.sink();
    await cache.client.downloadAttachment(attachment, sink);
    const staged = sink.result().file;
    const [folder] = await readdir(cacheDir);
    const entries = (await readdir(path.join(cacheDir, folder!))).filter((n) => !n.startsWith('.tmp-'));
    expect(entries).toHaveLength(1);
    const entry = path.join(cacheDir, folder!, entries[0]!);
    expect((await stat(entry)).ino).toBe((await stat(staged)).ino);
    expect(cache.stats()).toEqual({ hits: 0, stored: 1 });
    await staging.dispose();

    // The next run (its staging gone): served from the cache, no download.
    const next = await createStaging(path.join(base, 'out'), false);
    const again = next.sink();
    await cache.client.downloadAttachment(attachment, again);
    expect(downloads()).toBe(1);
    expect(await readFile(again.result().file)).toEqual(bytes);
    await next.dispose();
  });

  it('finish: a run that applied removes the entries it used, except those of failed work packages; stale ones go, fresh unused ones stay', async () => {
    const base = await mkdtemp(path.join(TEST_TMP, 'curate-dlcache-'));
    dirs.push(base);
    const cacheDir = path.join(base, 'cache');
    // Three attachments of three work packages (one of which fails), all with these bytes.
    const of = (id: number, wp: number): Attachment => ({ ...attachment, id, containerId: wp });
    const list = [of(7, 70), of(8, 80), of(9, 90)];
    const { client } = fakeClient();
    const names = async (): Promise<string[]> => {
      const [folder] = await readdir(cacheDir);
      return (await readdir(path.join(cacheDir, folder!))).filter((n) => !n.startsWith('.tmp-')).sort();
    };
    const fill = async (): Promise<ReturnType<typeof withDownloadCache>> => {
      const cache = withDownloadCache(client, cacheDir);
      const staging = await createStaging(path.join(base, 'out'), false);
      for (const a of list) await cache.client.downloadAttachment(a, staging.sink());
      await staging.dispose();
      return cache;
    };
    const cache = await fill();
    const [folder] = await readdir(cacheDir);
    // Entries of another run: one fresh, one a week old; named like entries of ids 1 and 2.
    const other = path.join(cacheDir, folder!, `1-${attachment.md5}-${bytes.length}`);
    const old = path.join(cacheDir, folder!, `2-${attachment.md5}-${bytes.length}`);
    await writeFile(other, bytes);
    await writeFile(old, bytes);
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    await utimes(old, weekAgo, weekAgo);

    // A dry run (nothing applied) removes only what is stale.
    await cache.finish({ applied: false, failedWorkPackages: new Set() });
    expect(await names()).toEqual([path.basename(other), ...list.map((a) => `${a.id}-${attachment.md5}-${bytes.length}`)].sort());

    // The real run: work package 80 failed, so its attachment's entry stays for the next run.
    const real = await fill();
    await real.finish({ applied: true, failedWorkPackages: new Set([80]) });
    expect(await names()).toEqual([path.basename(other), `8-${attachment.md5}-${bytes.length}`].sort());
  });

  it('finish reads a large cache a batch at a time, removing as it goes: every stale entry goes, every fresh one stays', async () => {
    const base = await mkdtemp(path.join(TEST_TMP, 'curate-dlcache-'));
    dirs.push(base);
    const cacheDir = path.join(base, 'cache');
    const { client } = fakeClient();
    const cache = withDownloadCache(client, cacheDir);
    const staging = await createStaging(path.join(base, 'out'), false);
    await cache.client.downloadAttachment(attachment, staging.sink());
    await staging.dispose();
    const [folder] = await readdir(cacheDir);
    const inFolder = (n: string): string => path.join(cacheDir, folder!, n);
    // More than one of the listing's batches (1,024 names each), stale and fresh entries interleaved.
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    const fresh: string[] = [`${attachment.id}-${attachment.md5}-${bytes.length}`];
    for (let i = 0; i < 1100; i++) {
      const name = `${1000 + i}-${attachment.md5}-1`;
      writeFileSync(inFolder(name), 'x');
      if (i % 7 === 0) fresh.push(name);
      else utimesSync(inFolder(name), weekAgo, weekAgo);
    }
    await cache.finish({ applied: false, failedWorkPackages: new Set() });
    expect((await readdir(path.join(cacheDir, folder!))).filter((n) => !n.startsWith('.tmp-')).sort()).toEqual(fresh.sort());
  });

  it('a cache folder that fails while it is read ends the list there (cleaning up never fails a run)', () => {
    const entries = ['a', 'b'];
    const dir = {
      readSync: () => {
        const name = entries.shift();
        if (name === undefined) throw Object.assign(new Error('EIO: i/o error, scandir'), { code: 'EIO' });
        return { name } as Dirent;
      },
    };
    expect([...namesIn(dir)]).toEqual(['a', 'b']);
  });
});
