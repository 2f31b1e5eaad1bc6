// Issue 20: attribute macros (matchers/attribute_macros.rb) and link syntaxes through the
// default profile: the page shows values of the mapped work package, never the macro.
import { describe, expect, it } from 'vitest';
import { createDefaultProfile } from '../../src/mapping/profiles/default.js';
import type { Attachment, MapInput, WorkPackage } from '../../src/types.js';

const wp = (description: string): WorkPackage => ({
  id: 42,
  lockVersion: 1,
  subject: 'Launch plan',
  description,
  createdAt: '2024-01-02T03:04:05Z',
  updatedAt: '2024-01-03T03:04:05Z',
  startDate: '2024-02-01',
  dueDate: null,
  type: { id: 1, name: 'Task' },
  status: { id: 2, name: 'In progress' },
  project: { id: 3, name: 'Demo project' },
  author: 'Jane Doe',
  customFields: [{ field: { id: 8, name: 'Launch Date', format: 'date', multiValue: false }, value: '2024-07-01' }],
});

const att: Attachment = { id: 9, fileName: 'file.zip', fileSize: 3, contentType: 'application/zip', md5: null, createdAt: '2024-01-01T00:00:00Z', downloadHref: '/api/v3/attachments/9/content', containerId: 42 };

function body(description: string, withFile = false, workPackageFacts?: (id: number) => { subject: string; type: string; status: string } | null): string {
  const profile = createDefaultProfile({ openprojectUrl: 'https://op.example' });
  const w = wp(description);
  const input: MapInput = {
    workPackage: w,
    project: { id: 3, identifier: 'demo', name: 'Demo project' },
    attachments: withFile ? [{ attachment: att, use: 'file', probe: { kind: 'file' } }] : [],
    allAttachments: [att],
    source: { name: 's', projects: ['demo'], types: ['Task'], statuses: [], path: 'docs', options: {} },
    now: new Date('2024-03-01T00:00:00Z'),
    ...(workPackageFacts ? { context: { sourceOf: () => undefined, memory: undefined, workPackageFacts } } : {}),
  };
  const text = (profile.map(input).files[0] as { text: string }).text;
  return text.slice(text.indexOf('\n---\n\n') + 6);
}

describe('default profile: attribute macros and link syntaxes', () => {
  it('shows the mapped work package\'s values and labels', () => {
    expect(body('workPackageValue:subject, workPackageValue:status, workPackageValue:"Launch Date", workPackageValue:42:type, workPackageLabel:startDate, projectValue:name')).toBe(
      'Launch plan, In progress, 2024-07-01, Task, Start date, Demo project\n',
    );
  });
  it('names another work package\'s attribute, linked to it, instead of the macro', () => {
    expect(body('workPackageValue:1234:subject')).toBe('[Subject of #1234](https://op.example/work_packages/1234)\n');
  });
  it('shows another work package\'s subject, type and status when the engine knows them (and asks, so a rename re-maps the page)', () => {
    const asked: number[] = [];
    const facts = { subject: 'Cats V Dogs', type: 'Task', status: 'New' };
    const text = body('workPackageValue:12:subject / workPackageValue:"12":type / workPackageValue:12:status / workPackageValue:12:startDate', false, (id) => {
      asked.push(id);
      return id === 12 ? facts : null;
    });
    expect(text).toBe('Cats V Dogs / Task / New / [Start date of #12](https://op.example/work_packages/12)\n');
    expect(asked).toContain(12);
    // Not visible or not known: named, as before.
    expect(body('workPackageValue:13:subject', false, () => null)).toBe('[Subject of #13](https://op.example/work_packages/13)\n');
  });
  it('downloads and links attachment:file.zip of the work package itself', () => {
    const profile = createDefaultProfile({ openprojectUrl: 'https://op.example' });
    expect(profile.attachmentUse(att, wp('see attachment:file.zip'))).toBe('file');
    expect(profile.attachmentUse(att, wp('no reference'))).toBeNull();
    expect(body('see attachment:file.zip', true)).toBe('see [file.zip](9-file.zip)\n');
  });
  it('declares the custom fields its config names (for visibility warnings), not the defaults', () => {
    expect(createDefaultProfile({}).configuredFields?.()).toEqual([]);
    expect(createDefaultProfile({ tagsField: 'Tags', weightField: 'Position' }).configuredFields?.()).toEqual([
      { name: 'Tags', option: 'profile.options.tagsField' },
      { name: 'Position', option: 'profile.options.weightField' },
    ]);
    expect(createDefaultProfile({ tagsField: null }).configuredFields?.()).toEqual([]);
  });
});
