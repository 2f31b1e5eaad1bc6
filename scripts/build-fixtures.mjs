#!/usr/bin/env node
// Builds fixtures/medigy/{dataset,expected,manifest.json} from ../shared/medigy/train:
// a small subset (~45 work packages) that still covers every project, type, variant,
// attachment kind, status bucket and formatting edge case, so the project's own tests
// run on a fresh clone without ../shared. Deterministic: same train set in, same subset out.
//
//   node scripts/build-fixtures.mjs [TRAIN_DIR]
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const train = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'medigy', 'train'));
const out = path.join(root, 'fixtures', 'medigy');

const manifest = JSON.parse(await readFile(path.join(train, 'manifest.json'), 'utf8'));
const byId = new Map(manifest.map((m) => [m.id, m]));
const wpDir = path.join(train, 'dataset', 'work_packages');
const attDir = path.join(train, 'dataset', 'attachments');

const wps = new Map();
for (const f of await readdir(wpDir)) {
  const wp = JSON.parse(await readFile(path.join(wpDir, f), 'utf8'));
  wps.set(wp.id, wp);
}
const attachmentsOf = new Map();
for (const f of (await readdir(attDir)).filter((f) => f.endsWith('.json'))) {
  const a = JSON.parse(await readFile(path.join(attDir, f), 'utf8'));
  const wpId = Number(a._links.container.href.split('/').pop());
  if (!attachmentsOf.has(wpId)) attachmentsOf.set(wpId, []);
  attachmentsOf.get(wpId).push(a);
}
const weight = (id) => (attachmentsOf.get(id) ?? []).reduce((s, a) => s + a.fileSize, 0);

// Hand-picked edge cases (MAPPING.md names them): invalid images, event anchors,
// leading-space and NBSP excerpts, schemeless/space-prefixed hrefs, nhs.uk, libyaml
// double-quoted folding.
const mustHave = [136, 380, 2151, 679, 3050, 1829, 2958, 3322, 1392, 1401, 1835];
const chosen = new Set(mustHave.filter((id) => byId.has(id)));

// Then the lightest work package of every (project, type) pair, and of every
// attachment kind and status, so every variant is covered without megabytes.
const lightestWhere = (pred) =>
  [...byId.keys()].filter((id) => !chosen.has(id) && pred(id)).sort((a, b) => weight(a) - weight(b) || a - b)[0];
const pairs = new Set(manifest.map((m) => `${m.project}|${m.type}`));
for (const pair of [...pairs].sort()) {
  const id = lightestWhere((i) => `${byId.get(i).project}|${byId.get(i).type}` === pair);
  if (id !== undefined) chosen.add(id);
}
const hasAttachment = (id, pred) => (attachmentsOf.get(id) ?? []).some(pred);
const kinds = [
  (a) => a.fileName === 'Curated_Featured_Image.pdf',
  (a) => a.fileName === 'Lectio_Extension_Curation.json',
  (a) => a.fileName === 'Curated_Featured_Image.gif',
  (a) => a.fileName === 'Curated_Featured_Image.jpeg',
  (a) => a.fileName === 'Curated_Featured_Image.PNG',
  (a) => a.fileName === 'notes.txt',
];
for (const kind of kinds) {
  if (![...chosen].some((id) => hasAttachment(id, kind))) {
    const id = lightestWhere((i) => hasAttachment(i, kind));
    if (id !== undefined) chosen.add(id);
  }
}
for (const status of ['New', 'In progress', 'Published', 'Rejected']) {
  if (![...chosen].some((id) => wps.get(id)._links.status.title === status)) {
    const id = lightestWhere((i) => wps.get(i)._links.status.title === status);
    if (id !== undefined) chosen.add(id);
  }
}
// Events of every bucket (past / upcoming / canceled / no start date).
for (const bucket of ['past', 'upcoming', 'canceled']) {
  const id = lightestWhere((i) => byId.get(i).md.includes(`/content-auto/${bucket}/`));
  if (id !== undefined && ![...chosen].some((c) => byId.get(c).md.includes(`/content-auto/${bucket}/`))) chosen.add(id);
}
// Decoys: work packages of other types, which a correct sync must not write.
const decoys = [...wps.keys()].filter((id) => !byId.has(id)).sort((a, b) => weight(a) - weight(b) || a - b).slice(0, 3);

await rm(out + '/dataset', { recursive: true, force: true });
await rm(out + '/expected', { recursive: true, force: true });
await mkdir(path.join(out, 'dataset', 'work_packages'), { recursive: true });
await mkdir(path.join(out, 'dataset', 'attachments'), { recursive: true });
await cp(path.join(train, 'dataset', 'instance.json'), path.join(out, 'dataset', 'instance.json'));
const ids = [...chosen, ...decoys].sort((a, b) => a - b);
for (const id of ids) {
  await cp(path.join(wpDir, `${id}.json`), path.join(out, 'dataset', 'work_packages', `${id}.json`));
  for (const a of attachmentsOf.get(id) ?? []) {
    for (const ext of ['json', 'content']) {
      await cp(path.join(attDir, `${a.id}.${ext}`), path.join(out, 'dataset', 'attachments', `${a.id}.${ext}`));
    }
  }
}
const subset = manifest.filter((m) => chosen.has(m.id)).sort((a, b) => a.id - b.id);
for (const m of subset) {
  for (const rel of [m.md, ...m.assets]) {
    await mkdir(path.dirname(path.join(out, 'expected', rel)), { recursive: true });
    await cp(path.join(train, 'expected', rel), path.join(out, 'expected', rel));
  }
}
await writeFile(path.join(out, 'manifest.json'), JSON.stringify(subset, null, 2) + '\n');
const bytes = ids.reduce((s, id) => s + weight(id), 0);
console.log(`fixtures: ${subset.length} synced work packages + ${decoys.length} decoys, ${(bytes / 1024).toFixed(0)} KiB of attachments`);
