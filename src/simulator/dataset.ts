// Loading and writing datasets in the DATASET.md folder format.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AttachmentJson, Dataset, InstanceJson, LazyContent, WorkPackageJson } from './types.js';

/**
 * Datasets read in this process, by folder: a test process starts hundreds of simulators on
 * the same fixture folder, and reading and parsing it (~100 files) each time cost more than a
 * copy. Each entry is kept with a fingerprint of its files (name, size, mtime), taken before
 * reading, and used only while the fingerprint is unchanged; every caller gets its own deep
 * copy (buffers included), so nothing one simulator changes reaches another.
 */
const loaded = new Map<string, { fingerprint: string; dataset: Promise<Dataset> }>();

function fingerprint(dir: string): string {
  const parts: string[] = [];
  for (const sub of ['', 'work_packages', 'attachments']) {
    const d = path.join(dir, sub);
    for (const name of readdirSync(d).sort()) {
      const s = statSync(path.join(d, name));
      if (s.isFile()) parts.push(`${sub}/${name}:${s.size}:${s.mtimeMs}:${s.ino}`);
    }
  }
  return parts.join('\n');
}

function copyDataset(ds: Dataset): Dataset {
  return {
    instance: structuredClone(ds.instance),
    workPackages: new Map([...ds.workPackages].map(([id, wp]) => [id, structuredClone(wp)])),
    attachments: new Map([...ds.attachments].map(([id, a]) => [id, { meta: structuredClone(a.meta), content: Buffer.isBuffer(a.content) ? Buffer.from(a.content) : a.content }])),
  };
}

export async function loadDataset(dir: string): Promise<Dataset> {
  const key = path.resolve(dir);
  const print = fingerprint(key);
  let hit = loaded.get(key);
  if (hit?.fingerprint !== print) {
    hit = { fingerprint: print, dataset: readDataset(key) };
    loaded.set(key, hit);
    hit.dataset.catch(() => loaded.delete(key));
  }
  return copyDataset(await hit.dataset);
}

async function readDataset(dir: string): Promise<Dataset> {
  const instance = JSON.parse(await readFile(path.join(dir, 'instance.json'), 'utf8')) as InstanceJson;
  const workPackages = new Map<number, WorkPackageJson>();
  for (const f of (await readdir(path.join(dir, 'work_packages'))).filter((f) => f.endsWith('.json'))) {
    const wp = JSON.parse(await readFile(path.join(dir, 'work_packages', f), 'utf8')) as WorkPackageJson;
    workPackages.set(wp.id, wp);
  }
  const attachments: Dataset['attachments'] = new Map();
  const attDir = path.join(dir, 'attachments');
  for (const f of (await readdir(attDir)).filter((f) => f.endsWith('.json'))) {
    const meta = JSON.parse(await readFile(path.join(attDir, f), 'utf8')) as AttachmentJson;
    attachments.set(meta.id, { meta, content: await readFile(path.join(attDir, `${meta.id}.content`)) });
  }
  return { instance, workPackages, attachments };
}

export function contentBytes(content: Buffer | LazyContent): Buffer {
  return Buffer.isBuffer(content) ? content : content.read();
}

export function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

export async function writeDataset(ds: Dataset, dir: string): Promise<void> {
  await mkdir(path.join(dir, 'work_packages'), { recursive: true });
  await mkdir(path.join(dir, 'attachments'), { recursive: true });
  await writeFile(path.join(dir, 'instance.json'), JSON.stringify(ds.instance, null, 2));
  for (const wp of ds.workPackages.values()) await writeFile(path.join(dir, 'work_packages', `${wp.id}.json`), JSON.stringify(wp, null, 2));
  for (const { meta, content } of ds.attachments.values()) {
    await writeFile(path.join(dir, 'attachments', `${meta.id}.json`), JSON.stringify(meta, null, 2));
    await writeFile(path.join(dir, 'attachments', `${meta.id}.content`), contentBytes(content));
  }
}
