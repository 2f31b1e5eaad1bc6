// Maps a DATASET.md folder straight through a profile, without HTTP: the same
// normalisation the client applies (src/openproject/hal.ts), names from instance.json,
// bytes probed like the sync engine does. Used by the corpus tests and the benchmarks.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { normalizeAttachment, normalizeWorkPackage } from '../../src/openproject/hal.js';
import { probeImage } from '../../src/mapping/image-probe.js';
import type { Attachment, CustomFieldDef, CustomFieldFormat, Project, ProbedAttachment, Profile, SourceSpec, WorkPackage } from '../../src/types.js';

export interface DirectItem {
  workPackage: WorkPackage;
  project: Project;
  attachments: Attachment[];
  content: Map<number, Buffer>;
}

export function loadDirect(datasetDir: string): DirectItem[] {
  const instance = JSON.parse(readFileSync(path.join(datasetDir, 'instance.json'), 'utf8'));
  const defs = new Map<number, CustomFieldDef>(
    instance.customFields.map((f: { id: number; name: string; fieldFormat: string; multiValue?: boolean }) => [
      f.id,
      { id: f.id, name: f.name, format: f.fieldFormat as CustomFieldFormat, multiValue: !!f.multiValue },
    ]),
  );
  const projects = new Map<number, Project>(instance.projects.map((p: Project) => [p.id, { id: p.id, identifier: p.identifier, name: p.name }]));
  const attachmentsOf = new Map<number, Attachment[]>();
  const content = new Map<number, Buffer>();
  const attDir = path.join(datasetDir, 'attachments');
  for (const f of readdirSync(attDir).filter((f) => f.endsWith('.json'))) {
    const a = normalizeAttachment(JSON.parse(readFileSync(path.join(attDir, f), 'utf8')));
    if (!attachmentsOf.has(a.containerId)) attachmentsOf.set(a.containerId, []);
    attachmentsOf.get(a.containerId)!.push(a);
    content.set(a.id, readFileSync(path.join(attDir, `${a.id}.content`)));
  }
  const items: DirectItem[] = [];
  for (const f of readdirSync(path.join(datasetDir, 'work_packages'))) {
    const wp = normalizeWorkPackage(JSON.parse(readFileSync(path.join(datasetDir, 'work_packages', f), 'utf8')), defs);
    items.push({ workPackage: wp, project: projects.get(wp.project.id)!, attachments: (attachmentsOf.get(wp.id) ?? []).sort((a, b) => a.id - b.id), content });
  }
  return items.sort((a, b) => a.workPackage.id - b.workPackage.id);
}

export function probeFor(profile: Profile, item: DirectItem): ProbedAttachment[] {
  const out: ProbedAttachment[] = [];
  for (const a of item.attachments) {
    const use = profile.attachmentUse(a, item.workPackage);
    if (!use) continue;
    const bytes = item.content.get(a.id)!;
    if (use === 'image') out.push({ attachment: a, use, probe: probeImage(bytes.subarray(0, 1 << 20)) });
    else if (use === 'file') out.push({ attachment: a, use, probe: { kind: 'file' } });
    else {
      try {
        out.push({ attachment: a, use, probe: { kind: 'json', value: JSON.parse(bytes.toString('utf8')) } });
      } catch (e) {
        out.push({ attachment: a, use, probe: { kind: 'json-invalid', error: (e as Error).message } });
      }
    }
  }
  return out;
}

export function sourceFor(sources: SourceSpec[], item: DirectItem): SourceSpec | undefined {
  return sources.find((s) => s.projects.includes(item.project.identifier) && s.types.includes(item.workPackage.type.name));
}
