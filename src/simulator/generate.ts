// Synthetic datasets for benchmarks: N work packages over the medigy projects and
// types, attachments in the proportions of ../shared/medigy/train (about 1.5 per work
// package: featured images, favicons, a few PDFs and metadata JSON), bytes of realistic
// sizes made on demand from the seed so that 15,000 attachments cost no memory.
import { createHash } from 'node:crypto';
import { rng } from './rng.js';
import type { AttachmentJson, Dataset, InstanceJson, JsonObject, LazyContent, WorkPackageJson } from './types.js';

const PROJECTS = [
  [1, 'chronic-care-management', 'Chronic Care Management (CCM)'],
  [2, 'events', 'Events'],
  [3, 'pandemic', 'Pandemic Community'],
  [4, 'news', 'News'],
  [5, 'risk-compliance', 'Risk & Compliance'],
  [6, 'femtech', 'FemTech'],
  [7, 'security', 'Security'],
] as const;
const TYPES = ['Bug', 'Contributed Content', 'Curated Content', 'Curated Event', 'Curated News', 'Curated Offering', 'Curated Recognition', 'Curated Video', 'Ideas', 'Infographics', 'Recent Updates & Reports', 'Task', 'Vaccine/Drugs in the Pipeline'];
const FIELDS = ['Clean URL', 'Event Cancelled', 'Location', 'Medigy Topics', 'Online Event', 'Short URL', 'Source URL', 'Video End Position', 'Video Recording URL', 'Video Source', 'Video Start Position', 'Video URL'];
const FORMATS = ['string', 'bool', 'string', 'string', 'bool', 'link', 'string', 'string', 'link', 'string', 'string', 'link'];

/** A valid PNG/JPEG/ICO header followed by deterministic filler, `size` bytes long. */
function makeBytes(kind: 'png' | 'jpeg' | 'ico' | 'pdf' | 'json', size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  let head: Buffer;
  if (kind === 'png') {
    head = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([0, 0, 4, 0, 0, 0, 2, 0, 8, 2, 0, 0, 0])]);
  } else if (kind === 'jpeg') {
    head = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xc0, 0, 17, 8, 2, 0x76, 4, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  } else if (kind === 'ico') {
    head = Buffer.from([0, 0, 1, 0, 1, 0, 32, 32, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 22, 0, 0, 0]);
  } else if (kind === 'pdf') {
    head = Buffer.from('%PDF-1.4\n');
  } else {
    const json = JSON.stringify([
      { name: 'openGraphMetaData', content: [{ name: 'og:title', content: `Title ${seed}` }, { name: 'og:type', content: 'article' }] },
      { name: 'twitterMetaData', content: [{ name: 'twitter:card', content: 'summary' }] },
      { name: 'htmlMetaData', content: [] },
    ]);
    return Buffer.from(json);
  }
  head.copy(b, 0);
  return b;
}

function lazy(kind: 'png' | 'jpeg' | 'ico' | 'pdf' | 'json', size: number, seed: number): LazyContent {
  const bytes = makeBytes(kind, size, seed);
  const md5 = createHash('md5').update(bytes).digest('hex');
  return { size: bytes.length, md5, read: () => makeBytes(kind, size, seed) };
}

export function generateDataset(opts: { workPackages: number; seed?: number }): Dataset {
  const random = rng(opts.seed ?? 42);
  const stamp = '2021-02-01T08:00:00.000Z';
  const instance: InstanceJson = {
    format: 'openproject-snapshot/1',
    projects: PROJECTS.map(([id, identifier, name]) => ({ _type: 'Project', id, identifier, name, active: true, public: true, createdAt: stamp, updatedAt: stamp, _links: { self: { href: `/api/v3/projects/${id}`, title: name } } })),
    types: TYPES.map((name, i) => ({ _type: 'Type', id: i + 1, name, color: '#000000', position: i + 1, isDefault: name === 'Task', isMilestone: false, createdAt: stamp, updatedAt: stamp, _links: { self: { href: `/api/v3/types/${i + 1}`, title: name } } })),
    statuses: [
      ['New', false],
      ['In progress', false],
      ['Published', true],
      ['Rejected', true],
    ].map(([name, isClosed], i) => ({ _type: 'Status', id: i + 1, name: name as string, isClosed: isClosed as boolean, isDefault: i === 0, isReadonly: false, position: i + 1, _links: { self: { href: `/api/v3/statuses/${i + 1}`, title: name as string } } })),
    users: [{ _type: 'User', id: 1, name: 'Curator', _links: { self: { href: '/api/v3/users/1', title: 'Curator' } } }],
    customFields: FIELDS.map((name, i) => ({ id: i + 1, name, fieldFormat: FORMATS[i]! })),
    schemas: {},
  };
  const communityTypes = [3, 5, 8, 9, 11, 13, 6, 10, 2, 4, 7];
  for (const [pid] of PROJECTS) for (const t of [...communityTypes, 1, 12]) instance.schemas[`${pid}-${t}`] = t === 4 ? [1, 2, 3, 4, 5, 6, 7, 9] : [1, 4, 7];

  const workPackages = new Map<number, WorkPackageJson>();
  const attachments: Dataset['attachments'] = new Map();
  let attId = 100000;
  const addAttachment = (wpId: number, fileName: string, contentType: string, content: LazyContent): void => {
    const id = attId++;
    const meta: AttachmentJson = {
      _type: 'Attachment', id, fileName, fileSize: content.size, contentType,
      digest: { algorithm: 'md5', hash: content.md5 },
      description: { format: 'plain', raw: '', html: '' }, status: 'uploaded', createdAt: stamp,
      _links: {
        self: { href: `/api/v3/attachments/${id}`, title: fileName },
        author: { href: '/api/v3/users/1', title: 'Curator' },
        container: { href: `/api/v3/work_packages/${wpId}` },
        staticDownloadLocation: { href: `/api/v3/attachments/${id}/content` },
        downloadLocation: { href: `/api/v3/attachments/${id}/content` },
      },
    };
    attachments.set(id, { meta, content });
  };

  for (let n = 0; n < opts.workPackages; n++) {
    const id = 1000 + n;
    const r = random();
    // About 2% decoys (Task/Bug) that a sync must leave out.
    const decoy = r < 0.02;
    const [pid, ident, pname] = PROJECTS[decoy ? 0 : Math.floor(random() * PROJECTS.length)]!;
    const typeId = decoy ? 12 : ident === 'events' ? 4 : ident === 'news' ? 3 : communityTypes[Math.floor(random() * communityTypes.length)]!;
    const typeName = TYPES[typeId - 1]!;
    const created = new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 3e10)).toISOString();
    const url = `https://www.example${n % 97}.com/articles/${id}`;
    const wp: WorkPackageJson = {
      _type: 'WorkPackage', id, lockVersion: 1,
      subject: `Synthetic curated item ${id} about ${['telehealth', 'AI', 'security', 'pandemic'][n % 4]}`,
      description: { format: 'markdown', raw: `Body of item ${id}. `.repeat(20), html: '' },
      scheduleManually: false,
      startDate: typeId === 4 ? '2021-03-01' : null,
      dueDate: typeId === 4 ? '2021-03-02' : null,
      createdAt: created, updatedAt: created,
      customField1: url,
      ...(typeId === 4 ? { customField2: false } : { customField4: '["Topic A","Topic B"]' }),
      customField7: url,
      _links: {
        self: { href: `/api/v3/work_packages/${id}`, title: `item ${id}` },
        schema: { href: `/api/v3/work_packages/schemas/${pid}-${typeId}` },
        type: { href: `/api/v3/types/${typeId}`, title: typeName },
        status: { href: `/api/v3/statuses/${1 + Math.floor(random() * 3)}`, title: 'New' },
        project: { href: `/api/v3/projects/${pid}`, title: pname },
        author: { href: '/api/v3/users/1', title: 'Curator' },
        attachments: { href: `/api/v3/work_packages/${id}/attachments` },
      },
    };
    const statusId = Number(String((wp._links.status as JsonObject).href).split('/').pop());
    (wp._links.status as JsonObject).title = instance.statuses[statusId - 1]!.name as string;
    workPackages.set(id, wp);
    // Proportions of the train set: ~0.9 featured image, ~0.2 favicon, ~0.2 JSON, ~0.015 PDF.
    if (random() < 0.9) {
      const png = random() < 0.4;
      addAttachment(id, png ? 'Curated_Featured_Image.png' : 'Curated_Featured_Image.jpg', png ? 'image/png' : 'image/jpeg', lazy(png ? 'png' : 'jpeg', 20_000 + Math.floor(random() * 120_000), id));
    }
    if (random() < 0.2) addAttachment(id, 'Curated_Source_FavIcon.png', 'image/png', lazy('ico', 1_000 + Math.floor(random() * 4_000), id + 7));
    if (random() < 0.2) addAttachment(id, 'Lectio_Extension_Curation.json', 'application/json', lazy('json', 0, id + 13));
    if (random() < 0.015) addAttachment(id, 'Curated_Featured_Image.pdf', 'application/pdf', lazy('pdf', 100_000, id + 17));
  }
  return { instance, workPackages, attachments };
}
