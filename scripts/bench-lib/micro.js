// Micro-benchmark: mapping + rendering alone (profile.map → markdown text), no HTTP,
// no disk in the timed loop. Inputs are normalised exactly as the client does
// (dist/openproject normalizers) and probed as the sync engine does, once, up front;
// this mirrors test/helpers/medigy-direct.ts (TypeScript, not importable from plain JS).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

export async function runMicro({ root, datasetDir, configPath, minSeconds = 2 }) {
  const { normalizeAttachment, normalizeWorkPackage } = await import(path.join(root, 'dist/openproject/index.js'));
  const { probeImage } = await import(path.join(root, 'dist/mapping/image-probe.js'));
  const { createProfile } = await import(path.join(root, 'dist/mapping/profiles/index.js'));

  const cfg = yaml.load(readFileSync(configPath, 'utf8'));
  const sources = cfg.sources.map((s) => ({ ...s, statuses: s.statuses ?? [], options: s.options ?? {} }));
  const profile = createProfile(cfg.profile.name, cfg.profile.options ?? {});
  const now = new Date('2021-02-19T00:00:00Z');

  const instance = JSON.parse(readFileSync(path.join(datasetDir, 'instance.json'), 'utf8'));
  const defs = new Map(instance.customFields.map((f) => [f.id, { id: f.id, name: f.name, format: f.fieldFormat, multiValue: !!f.multiValue }]));
  const projects = new Map(instance.projects.map((p) => [p.id, { id: p.id, identifier: p.identifier, name: p.name }]));
  const attachmentsOf = new Map();
  const content = new Map();
  const attDir = path.join(datasetDir, 'attachments');
  for (const f of readdirSync(attDir).filter((f) => f.endsWith('.json'))) {
    const a = normalizeAttachment(JSON.parse(readFileSync(path.join(attDir, f), 'utf8')));
    if (!attachmentsOf.has(a.containerId)) attachmentsOf.set(a.containerId, []);
    attachmentsOf.get(a.containerId).push(a);
    content.set(a.id, readFileSync(path.join(attDir, `${a.id}.content`)));
  }
  const inputs = [];
  for (const f of readdirSync(path.join(datasetDir, 'work_packages'))) {
    const wp = normalizeWorkPackage(JSON.parse(readFileSync(path.join(datasetDir, 'work_packages', f), 'utf8')), defs);
    const project = projects.get(wp.project.id);
    const source = sources.find((s) => s.projects.includes(project.identifier) && s.types.includes(wp.type.name));
    if (!source) continue; // decoys: not selected by any source, never mapped by a real sync
    const all = (attachmentsOf.get(wp.id) ?? []).sort((a, b) => a.id - b.id);
    const probed = [];
    for (const a of all) {
      const use = profile.attachmentUse(a, wp);
      if (!use) continue;
      const bytes = content.get(a.id);
      if (use === 'image') probed.push({ attachment: a, use, probe: probeImage(bytes.subarray(0, 1 << 20)) });
      else if (use === 'file') probed.push({ attachment: a, use, probe: { kind: 'file' } });
      else {
        try {
          probed.push({ attachment: a, use, probe: { kind: 'json', value: JSON.parse(bytes.toString('utf8')) } });
        } catch (e) {
          probed.push({ attachment: a, use, probe: { kind: 'json-invalid', error: e.message } });
        }
      }
    }
    inputs.push({ workPackage: wp, project, attachments: probed, allAttachments: all, source, now });
  }
  if (inputs.length === 0) throw new Error(`micro: no mappable work packages in ${datasetDir}`);

  // Warm up (JIT), then loop over the whole set until minSeconds have passed.
  let failures = 0;
  const once = () => {
    let chars = 0;
    for (const input of inputs) {
      try {
        const doc = profile.map(input);
        const md = doc.files[0];
        if (md && md.kind === 'text') chars += md.text.length;
      } catch {
        failures++;
      }
    }
    return chars;
  };
  once();
  failures = 0;
  // Whole passes in rounds of at least 0.5 s: the spread between rounds is reported with
  // the overall rate (this machine's rate for the same code varies by up to ~40 %).
  let docs = 0;
  let sink = 0;
  const rates = [];
  const started = process.hrtime.bigint();
  let seconds = 0;
  while (seconds < minSeconds) {
    const roundStart = process.hrtime.bigint();
    let roundDocs = 0;
    let roundSeconds = 0;
    while (roundSeconds < 0.5) {
      sink += once();
      roundDocs += inputs.length;
      roundSeconds = Number(process.hrtime.bigint() - roundStart) / 1e9;
    }
    docs += roundDocs;
    rates.push(roundDocs / roundSeconds);
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  }
  if (sink === 0) throw new Error('micro: profile.map produced no markdown');
  rates.sort((a, b) => a - b);
  const rounds = { count: rates.length, min: rates[0], median: rates[Math.floor(rates.length / 2)], max: rates[rates.length - 1] };
  return { dataset: datasetDir, documents: inputs.length, mapped: docs, seconds, docsPerSecond: docs / seconds, rounds, failuresPerPass: failures / (docs / inputs.length) };
}
