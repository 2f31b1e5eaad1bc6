// Loading and writing datasets in the DATASET.md folder format.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AttachmentJson, Dataset, InstanceJson, LazyContent, WorkPackageJson } from './types.js';

export async function loadDataset(dir: string): Promise<Dataset> {
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
