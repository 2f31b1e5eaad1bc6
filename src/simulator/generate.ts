// Synthetic datasets for benchmarks and big tests: N work packages over the seven
// medigy projects and their types in the proportions of ../shared/medigy/train (decoy
// Bug/Task items included), the same custom fields and schemas, ~1.45 attachments per
// work package (featured images, favicons, curation JSON, a few PDFs and notes), all
// deterministic from the seed. Attachment bytes are made on demand from a small shared
// pool, so 15,000 attachments cost almost no memory; only their md5 is kept, worked out
// when first asked for.
import { createHash } from 'node:crypto';
import { rng } from './rng.js';
import type { AttachmentJson, Dataset, InstanceJson, JsonObject, LazyContent, WorkPackageJson } from './types.js';

const STAMP = '2019-10-01T08:00:00.000Z';
const STAMP2 = '2021-02-01T08:00:00.000Z';

const PROJECTS: [number, string, string][] = [
  [1, 'chronic-care-management', 'Chronic Care Management (CCM)'],
  [2, 'events', 'Events'],
  [3, 'femtech', 'FemTech'],
  [4, 'news', 'News'],
  [5, 'pandemic', 'Pandemic'],
  [6, 'risk-compliance', 'Risk & Compliance'],
  [7, 'security', 'Security'],
];
const TYPES = ['Bug', 'Contributed Content', 'Curated Content', 'Curated Event', 'Curated News', 'Curated Offering', 'Curated Recognition', 'Curated Video', 'Ideas', 'Infographics', 'Recent Updates & Reports', 'Task', 'Vaccine/Drugs in the Pipeline'];
const STATUSES: [string, boolean][] = [
  ['New', false],
  ['In progress', false],
  ['Published', true],
  ['Rejected', true],
];
const FIELDS: [string, string][] = [
  ['Clean URL', 'string'],
  ['Event Cancelled', 'bool'],
  ['Location', 'string'],
  ['Medigy Topics', 'string'],
  ['Online Event', 'bool'],
  ['Short URL', 'link'],
  ['Source URL', 'string'],
  ['Video End Position', 'string'],
  ['Video Recording URL', 'link'],
  ['Video Source', 'string'],
  ['Video Start Position', 'string'],
  ['Video URL', 'link'],
];
const EVENT_FIELDS = [1, 2, 3, 4, 5, 6, 7, 9];
const VIDEO_FIELDS = [1, 4, 6, 7, 8, 10, 11, 12];
// Active custom fields per project-type, as in the train instance.json.
const SCHEMAS: Record<string, number[]> = {
  '1-1': [1, 7], '1-3': [1, 4, 7], '1-5': [1, 4, 7], '1-6': [1, 6, 7], '1-8': VIDEO_FIELDS, '1-10': [1, 7], '1-12': [1, 7],
  '2-1': [1, 7], '2-4': EVENT_FIELDS, '2-12': [1, 7],
  '3-1': [1, 7], '3-2': [1, 4, 7], '3-3': [1, 4, 7], '3-4': EVENT_FIELDS, '3-5': [1, 4, 7], '3-6': [1, 6, 7], '3-7': [1, 6, 7], '3-10': [1, 7], '3-12': [1, 7],
  '4-1': [1, 7], '4-3': [1, 4, 7], '4-12': [1, 7],
  '5-1': [1, 7], '5-5': [1, 4, 7], '5-6': [1, 6, 7], '5-8': [1, 6, 7, 8, 10, 11, 12], '5-9': [], '5-10': [1, 7], '5-11': [], '5-12': [1, 7], '5-13': [],
  '6-1': [1, 7], '6-3': [1, 7], '6-12': [1, 7],
  '7-1': [1, 7], '7-3': [1, 7], '7-12': [1, 7],
};
// Work packages per project-type in the train set (759 + decoys): the generator's proportions.
const WEIGHTS: [string, number][] = [
  ['1-1', 2], ['1-3', 478], ['1-5', 57], ['1-8', 20], ['1-10', 1], ['1-12', 2],
  ['2-1', 6], ['2-4', 42], ['2-12', 1],
  ['3-1', 2], ['3-2', 9], ['3-3', 9], ['3-4', 2], ['3-5', 3], ['3-6', 4], ['3-7', 1], ['3-10', 3], ['3-12', 7],
  ['4-1', 4], ['4-3', 16], ['4-12', 2],
  ['5-1', 4], ['5-5', 73], ['5-6', 7], ['5-8', 1], ['5-9', 1], ['5-10', 5], ['5-11', 11], ['5-12', 2], ['5-13', 10],
  ['6-3', 3], ['6-12', 1],
  ['7-1', 3], ['7-3', 3], ['7-12', 3],
];
const USERS = ['Anugra Babu', 'Daniya Vincent V', 'Mary John', 'Pittosh Poulose', 'Radhika Narayanan', 'Shahid Shah', 'Sonalika Ghosh', 'Vishnupriya T'];
const TOPICS = ['Medigy: Patient Acquisition', 'KLAS: Telehealth', 'KLAS: Patient Engagement', 'Symplur: Virtual Care', 'Medigy: Pandemic', 'HIMSS: Interoperability', 'Symplur: EHR (Electronic Health Record)', 'Medigy: Increase Profitability', 'KLAS: Remote Patient Monitoring'];
const WORDS_A = ['How', 'Why', 'What', 'Five ways', 'The case for', 'Inside', 'Rethinking', 'A guide to', 'Lessons from', 'The future of'];
const WORDS_B = ['telehealth', 'remote patient monitoring', 'AI triage', 'value-based care', 'interoperability', 'cybersecurity', 'women’s health', 'vaccine logistics', 'care coordination', 'digital therapeutics', 'revenue cycle management', 'HIPAA compliance'];
const WORDS_C = ['is changing chronic care', 'cuts readmissions', 'in rural clinics', 'after COVID-19', 'for small practices', '— what CIOs say', 'at scale', 'and the patient experience', 'in 2021', 'beyond the hype'];
const DOMAINS = ['healthcareitnews.com', 'fiercehealthcare.com', 'statnews.com', 'mobihealthnews.com', 'beckershospitalreview.com', 'modernhealthcare.com', 'himss.org', 'klasresearch.com', 'medcitynews.com', 'healthaffairs.org'];

type Kind = 'png' | 'jpeg' | 'ico' | 'pdf' | 'json' | 'text';

// ---------------------------------------------------------------------------
// bytes

const POOL_SIZE = 1 << 18;

/** 256 KiB of seeded noise: the filler every synthetic file is cut from. */
function makePool(seed: number): Buffer {
  const b = Buffer.alloc(POOL_SIZE);
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < POOL_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

function u32be(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A valid header (so image probes find format and size) carrying the attachment id, so every file's md5 differs. */
function header(kind: Kind, id: number, w: number, h: number): Buffer {
  const tag = Buffer.from(`curate-sim:${id};`);
  switch (kind) {
    case 'png':
      return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([...u32be(w), ...u32be(h), 8, 2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, tag.length]), Buffer.from('tEXt'), tag]);
    case 'jpeg':
      return Buffer.concat([
        Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
        Buffer.from([0xff, 0xfe, 0, tag.length + 2]),
        tag,
        Buffer.from([0xff, 0xc0, 0, 17, 8, (h >> 8) & 0xff, h & 0xff, (w >> 8) & 0xff, w & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]),
      ]);
    case 'ico':
      return Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0, w & 0xff, h & 0xff, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 22, 0, 0, 0]), tag]);
    case 'pdf':
      return Buffer.from(`%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n% ${tag.toString()}\n`, 'latin1');
    default:
      return tag;
  }
}

function curationJson(id: number, url: string, title: string): Buffer {
  const meta = (prefix: string, pairs: [string, string][]): { name: string; content: { name: string; content: string }[] } => ({
    name: prefix,
    content: pairs.map(([name, content]) => ({ name, content })),
  });
  return Buffer.from(
    JSON.stringify([
      meta('openGraphMetaData', [
        ['og:description', `${title}. A synthetic summary written for benchmark item ${id}, long enough to look like a real Open Graph description.`],
        ['og:image', `${url}/images/featured-${id}.jpg`],
        ['og:image:height', '628'],
        ['og:image:width', '1200'],
        ['og:locale', 'en_US'],
        ['og:site_name', new URL(url).hostname],
        ['og:title', title],
        ['og:type', 'article'],
        ['og:url', url],
      ]),
      meta('twitterMetaData', [
        ['twitter:card', 'summary_large_image'],
        ['twitter:description', `${title} — synthetic.`],
        ['twitter:title', title],
      ]),
      meta('htmlMetaData', [
        ['description', `Synthetic description of ${title}`],
        ['keywords', 'health, technology, curation'],
        ['viewport', 'width=device-width, initial-scale=1'],
      ]),
    ]),
  );
}

function lazyContent(kind: Kind, id: number, size: number, pool: Buffer, fixed?: Buffer): LazyContent {
  const start = (Math.imul(id, 2654435761) >>> 0) % POOL_SIZE;
  const chunks = (): Buffer[] => {
    if (fixed) return [fixed];
    const head = header(kind, id, 400 + (id % 800), 200 + (id % 500));
    const out = [head];
    let left = Math.max(0, size - head.length);
    let at = start;
    while (left > 0) {
      const n = Math.min(left, POOL_SIZE - at);
      out.push(pool.subarray(at, at + n));
      left -= n;
      at = 0;
    }
    return out;
  };
  let total = 0;
  for (const c of chunks()) total += c.length;
  // The md5 is worked out the first time something asks (the attachment's metadata is served
  // or compared): most attachments of a big dataset are never listed by a test.
  let md5: string | undefined;
  return {
    size: total,
    get md5(): string {
      if (md5 === undefined) {
        const hash = createHash('md5');
        for (const c of chunks()) hash.update(c);
        md5 = hash.digest('hex');
      }
      return md5;
    },
    read: () => Buffer.concat(chunks(), total),
  };
}

// ---------------------------------------------------------------------------
// dataset

function pickWeighted<T>(random: () => number, items: [T, number][], sum: number): T {
  let r = random() * sum;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** An ISO instant with 6 fractional digits, like the legacy corpus (createdAt/updatedAt). */
function micros(ms: number, random: () => number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${String(Math.floor(random() * 1e6)).padStart(6, '0')}Z`;
}

export function generateDataset(opts: { workPackages: number; seed?: number }): Dataset {
  if (!Number.isInteger(opts.workPackages) || opts.workPackages < 0) throw new Error('generateDataset: workPackages must be a non-negative integer');
  const seed = opts.seed ?? 42;
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const pool = makePool(seed);

  const link = (href: string, title: string): JsonObject => ({ href, title });
  const instance: InstanceJson = {
    format: 'openproject-snapshot/1',
    projects: PROJECTS.map(([id, identifier, name]) => ({ _type: 'Project', id, identifier, name, active: true, public: true, createdAt: STAMP, updatedAt: STAMP2, _links: { self: link(`/api/v3/projects/${id}`, name) } })),
    types: TYPES.map((name, i) => ({ _type: 'Type', id: i + 1, name, color: '#1A67A3', position: i + 1, isDefault: name === 'Task', isMilestone: false, createdAt: STAMP, updatedAt: STAMP2, _links: { self: link(`/api/v3/types/${i + 1}`, name) } })),
    statuses: STATUSES.map(([name, isClosed], i) => ({ _type: 'Status', id: i + 1, name, isClosed, isDefault: i === 0, isReadonly: false, position: i + 1, _links: { self: link(`/api/v3/statuses/${i + 1}`, name) } })),
    users: USERS.map((name, i) => ({ _type: 'User', id: i + 1, name, _links: { self: link(`/api/v3/users/${i + 1}`, name) } })),
    customFields: FIELDS.map(([name, fieldFormat], i) => ({ id: i + 1, name, fieldFormat })),
    schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([k, v]) => [k, [...v]])),
  };
  const weightSum = WEIGHTS.reduce((s, [, w]) => s + w, 0);

  const workPackages = new Map<number, WorkPackageJson>();
  const attachments: Dataset['attachments'] = new Map();
  let attId = 100_000;
  const addAttachment = (wp: WorkPackageJson, author: JsonObject, fileName: string, contentType: string, content: LazyContent, createdAt: string): void => {
    const id = attId++;
    const meta: AttachmentJson = {
      _type: 'Attachment',
      id,
      fileName,
      fileSize: content.size,
      contentType,
      // An enumerable getter: JSON.stringify, structuredClone and comparisons read it like a value.
      digest: {
        algorithm: 'md5',
        get hash(): string {
          return content.md5;
        },
      },
      description: { format: 'plain', raw: '', html: '' },
      status: 'uploaded',
      createdAt,
      _links: {
        self: link(`/api/v3/attachments/${id}`, fileName),
        author,
        container: link(`/api/v3/work_packages/${wp.id}`, String(wp.subject)),
        staticDownloadLocation: { href: `/api/v3/attachments/${id}/content` },
        downloadLocation: { href: `/api/v3/attachments/${id}/content` },
      },
    };
    attachments.set(id, { meta, content });
  };
  const logUniform = (lo: number, hi: number): number => Math.round(lo * Math.pow(hi / lo, random()));

  const from = Date.UTC(2019, 9, 1);
  const to = Date.UTC(2021, 1, 18);
  for (let n = 0; n < opts.workPackages; n++) {
    const id = 1000 + n;
    const key = pickWeighted(random, WEIGHTS, weightSum);
    const [pid, tid] = key.split('-').map(Number) as [number, number];
    const project = PROJECTS[pid - 1]!;
    const typeName = TYPES[tid - 1]!;
    const statusId = pickWeighted(random, [[1, 68], [2, 9], [3, 21], [4, 2]], 100);
    const userId = 1 + Math.floor(random() * USERS.length);
    const author = link(`/api/v3/users/${userId}`, USERS[userId - 1]!);
    const createdMs = from + Math.floor(random() * (to - from - 40 * 86_400_000));
    const createdAt = micros(createdMs, random);
    const updatedAt = random() < 0.6 ? createdAt : micros(createdMs + Math.floor(random() * 30 * 86_400_000), random);
    const domain = pick(DOMAINS);
    const subject = `${pick(WORDS_A)} ${pick(WORDS_B)} ${pick(WORDS_C)}${n % 50 === 7 ? ' (update)' : ''} #${id}`;
    const url = `https://www.${domain}/${subject.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    const raw = `${subject} — a synthetic item for benchmarks. `.repeat(1 + Math.floor(random() * 6)) + `\n\n[Read on ${domain}](${url})`;
    const isEvent = tid === 4;
    const wp: Record<string, unknown> = {
      _type: 'WorkPackage',
      id,
      lockVersion: Math.floor(random() * 3),
      subject,
      description: { format: 'markdown', raw, html: `<p>${raw.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n\n/g, '</p><p>')}</p>` },
      scheduleManually: false,
      startDate: isEvent ? new Date(createdMs + 20 * 86_400_000).toISOString().slice(0, 10) : null,
      dueDate: isEvent ? new Date(createdMs + 22 * 86_400_000).toISOString().slice(0, 10) : null,
      createdAt,
      updatedAt,
    };
    for (const cf of SCHEMAS[key] ?? []) {
      let v: unknown;
      switch (cf) {
        case 1:
        case 7:
          v = url;
          break;
        case 2:
          v = random() < 0.1;
          break;
        case 5:
          v = random() < 0.5;
          break;
        case 3:
          v = random() < 0.7 ? `${pick(['Boston', 'Chicago', 'Austin', 'Orlando', 'San Diego'])} Convention Center` : null;
          break;
        case 4:
          // About a third have no topics; a few omit the key altogether (absent ≠ null, MAPPING.md §5.4).
          if (random() < 0.04) continue;
          v = random() < 0.33 ? null : JSON.stringify(TOPICS.filter(() => random() < 0.3).slice(0, 4));
          break;
        case 10:
          v = random() < 0.5 ? 'YouTube' : null;
          break;
        case 8:
        case 11:
          v = random() < 0.3 ? `00:0${Math.floor(random() * 10)}:00` : null;
          break;
        case 12:
          v = random() < 0.5 ? `https://www.youtube.com/watch?v=sim${id}` : null;
          break;
        default: // 6, 9: links that are almost always empty
          v = random() < 0.1 ? `https://bit.ly/sim${id}` : null;
      }
      wp[`customField${cf}`] = v;
    }
    wp._links = {
      self: link(`/api/v3/work_packages/${id}`, subject),
      schema: { href: `/api/v3/work_packages/schemas/${key}` },
      type: link(`/api/v3/types/${tid}`, typeName),
      status: link(`/api/v3/statuses/${statusId}`, STATUSES[statusId - 1]![0]),
      project: link(`/api/v3/projects/${pid}`, project[2]),
      author,
      assignee: { href: null },
      responsible: { href: null },
      attachments: { href: `/api/v3/work_packages/${id}/attachments` },
    };
    const full = wp as WorkPackageJson;
    workPackages.set(id, full);

    // Proportions of the train set: featured image ~0.93 (jpg > png, 1% PDF), favicon,
    // curation JSON ~0.2 each, curator notes ~0.1 → ~1.45 per work package.
    const attAt = micros(createdMs + 60_000, random);
    if (random() < 0.93) {
      const r = random();
      if (r < 0.012) addAttachment(full, author, 'Curated_Featured_Image.pdf', 'application/pdf', lazyContent('pdf', attId, logUniform(80_000, 140_000), pool), attAt);
      else if (r < 0.6) addAttachment(full, author, 'Curated_Featured_Image.jpg', 'image/jpeg', lazyContent('jpeg', attId, logUniform(20_000, 200_000), pool), attAt);
      else {
        // A quarter of the train set's .png featured images are JPEG bytes (and say so).
        const jpeg = random() < 0.25;
        addAttachment(full, author, 'Curated_Featured_Image.png', jpeg ? 'image/jpeg' : 'image/png', lazyContent(jpeg ? 'jpeg' : 'png', attId, logUniform(20_000, 200_000), pool), attAt);
      }
    }
    if (random() < 0.2) {
      const ico = random() < 0.4;
      addAttachment(full, author, 'Curated_Source_FavIcon.png', ico ? 'image/vnd.microsoft.icon' : 'image/png', lazyContent(ico ? 'ico' : 'png', attId, logUniform(1_000, 5_000), pool), attAt);
    }
    if (random() < 0.2) addAttachment(full, author, 'Lectio_Extension_Curation.json', 'application/json', lazyContent('json', attId, 0, pool, curationJson(id, url, subject)), attAt);
    if (random() < 0.1) addAttachment(full, author, 'notes.txt', 'text/plain', lazyContent('text', attId, 0, pool, Buffer.from(`Curator notes for #${id}: checked the source on ${attAt.slice(0, 10)}.\n`)), attAt);
  }
  return { instance, workPackages, attachments };
}
