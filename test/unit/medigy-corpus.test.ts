// The medigy profile alone (no HTTP): every work package of the dataset mapped and
// compared with the legacy files byte for byte, per variant.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMedigyProfile } from '../../src/mapping/profiles/medigy.js';
import { FIXTURES, HAS_SHARED, LEGACY_NOW, SHARED_TRAIN, medigyConfig } from '../helpers/env.js';
import { loadDirect, probeFor, sourceFor } from '../helpers/medigy-direct.js';

interface Entry {
  id: number;
  variant: string;
  type: string;
  md: string;
  assets: string[];
}

async function matchRate(train: string): Promise<{ byVariant: Record<string, { ok: number; total: number }>; failures: string[]; decoys: number }> {
  const { sources, options } = await medigyConfig();
  const profile = createMedigyProfile(options);
  const manifest = new Map((JSON.parse(readFileSync(path.join(train, 'manifest.json'), 'utf8')) as Entry[]).map((m) => [m.id, m]));
  const byVariant: Record<string, { ok: number; total: number }> = {};
  const failures: string[] = [];
  let decoys = 0;
  for (const item of loadDirect(path.join(train, 'dataset'))) {
    const source = sourceFor(sources, item);
    const want = manifest.get(item.workPackage.id);
    if (!source) {
      if (want) failures.push(`#${item.workPackage.id}: no source selects it`);
      else decoys++;
      continue;
    }
    if (!want) {
      failures.push(`#${item.workPackage.id}: selected but not in the corpus`);
      continue;
    }
    const v = (byVariant[want.variant] ??= { ok: 0, total: 0 });
    v.total++;
    const doc = profile.map({ workPackage: item.workPackage, project: item.project, attachments: probeFor(profile, item), allAttachments: item.attachments, source, now: LEGACY_NOW });
    const md = doc.files[0]!;
    const assets = doc.files.slice(1).map((f) => f.path).sort();
    const expected = readFileSync(path.join(train, 'expected', want.md), 'utf8');
    const sameAssets = JSON.stringify(assets) === JSON.stringify([...want.assets].sort());
    const assetBytes = doc.files.slice(1).every((f) => f.kind === 'attachment' && item.content.get(f.attachmentId)!.equals(readFileSync(path.join(train, 'expected', f.path))));
    if (md.kind === 'text' && md.path === want.md && md.text === expected && sameAssets && assetBytes) v.ok++;
    else failures.push(`#${item.workPackage.id} ${want.md}`);
  }
  return { byVariant, failures, decoys };
}

describe('medigy profile reproduces the legacy corpus', () => {
  it('fixtures subset: every file byte for byte, decoys left out', async () => {
    const r = await matchRate(FIXTURES);
    expect(r.failures).toEqual([]);
    expect(r.decoys).toBe(3);
    expect(Object.keys(r.byVariant).sort()).toEqual(['community', 'events', 'news']);
  });
  it.skipIf(!HAS_SHARED)('shared train set: every file byte for byte', async () => {
    const r = await matchRate(SHARED_TRAIN);
    console.log('medigy match rate per variant:', JSON.stringify(r.byVariant));
    expect(r.failures).toEqual([]);
    expect(Object.values(r.byVariant).reduce((n, v) => n + v.ok, 0)).toBe(759);
  });
});
