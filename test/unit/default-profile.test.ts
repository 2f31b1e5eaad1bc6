// The default profile: options validation, frontmatter keys, paths, attachment selection
// and the rewriting of embedded attachment links to files beside the page.
import { existsSync } from 'node:fs';
import path from 'node:path';
import matter from 'gray-matter';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createDefaultProfile, plainExcerpt, safeFileName } from '../../src/mapping/profiles/default.js';
import type { Attachment, CustomFieldEntry, MapInput, ProbedAttachment, WorkPackage } from '../../src/types.js';
import { loadDirect, probeFor } from '../helpers/medigy-direct.js';

function wp(over: Partial<WorkPackage> = {}): WorkPackage {
  return {
    id: 42,
    lockVersion: 1,
    subject: 'Héllo, World: a test!',
    description: 'Intro **bold** text.\n\n![chart](/api/v3/attachments/7/content)\n\n<img src="https://op.example.com/api/v3/attachments/8/content" alt="x">\n\n[doc](https://op.example.com/sub/api/v3/attachments/9/content) and [other](/api/v3/attachments/999/content)',
    createdAt: '2021-01-02T03:04:05.678Z',
    updatedAt: '2021-02-03T04:05:06Z',
    startDate: null,
    dueDate: null,
    type: { id: 1, name: 'Curated News' },
    status: { id: 2, name: 'Published' },
    project: { id: 3, name: 'News' },
    author: 'Ada Lovelace',
    customFields: [],
    ...over,
  };
}

function att(id: number, fileName: string, contentType = 'image/png'): Attachment {
  return { id, fileName, fileSize: 10, contentType, md5: null, createdAt: '2021-01-01T00:00:00Z', downloadHref: `/api/v3/attachments/${id}/content`, containerId: 42 };
}

const cf = (id: number, name: string, format: CustomFieldEntry['field']['format'], value: CustomFieldEntry['value']): CustomFieldEntry => ({
  field: { id, name, format, multiValue: Array.isArray(value) },
  value,
});

function input(w: WorkPackage, attachments: ProbedAttachment[], path = 'content/news'): MapInput {
  return {
    workPackage: w,
    project: { id: 3, identifier: 'news', name: 'News' },
    attachments,
    allAttachments: attachments.map((a) => a.attachment),
    source: { name: 's', projects: ['news'], types: ['Curated News'], statuses: [], path, options: {} },
    now: new Date('2021-03-01T00:00:00Z'),
  };
}

const img = (a: Attachment, width = 640, height = 480): ProbedAttachment => ({ attachment: a, use: 'image', probe: { kind: 'image', valid: true, format: 'PNG', width, height } });

function frontmatter(text: string): Record<string, unknown> {
  const m = /^---\n([\s\S]*?)\n---(?:\n\n([\s\S]*))?\n?$/.exec(text);
  if (!m) throw new Error(`not a frontmatter file: ${text}`);
  return yaml.load(m[1]!) as Record<string, unknown>;
}

describe('default profile options', () => {
  it.each([
    [{ publishedStatuses: 'Published' }, 'profile.options.publishedStatuses:'],
    [{ bundle: 'yes' }, 'profile.options.bundle:'],
    [{ customFieldsKey: 'title' }, 'profile.options.customFieldsKey: collides'],
    [{ customFieldsKey: 'has space' }, 'profile.options.customFieldsKey: expected an identifier'],
    [{ unknown: 1 }, 'profile.options:'],
    [{ descriptionLength: 5 }, 'profile.options.descriptionLength:'],
  ])('rejects %j', (opts, problem) => {
    try {
      createDefaultProfile(opts);
      expect.unreachable('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.join('\n')).toContain(problem);
    }
  });
  it('accepts no options at all', () => {
    expect(createDefaultProfile(undefined).name).toBe('default');
    expect(createDefaultProfile({}).name).toBe('default');
  });
});

describe('default profile attachmentUse', () => {
  const profile = createDefaultProfile({});
  const w = wp();
  it.each([
    [att(7, 'chart.png'), 'image'],
    [att(8, 'photo.jpg', 'image/jpeg'), 'image'],
    [att(9, 'doc.pdf', 'application/pdf'), 'file'],
    [att(10, 'Curated_Featured_Image.jpg', 'image/jpeg'), 'image'],
    [att(11, 'notes.txt', 'text/plain'), null],
  ])('%o → %s', (a, use) => {
    expect(profile.attachmentUse(a, w)).toBe(use);
  });
  it('selects no featured image when the option is null', () => {
    expect(createDefaultProfile({ featuredImage: null }).attachmentUse(att(10, 'Curated_Featured_Image.jpg'), w)).toBeNull();
  });
});

describe('default profile map', () => {
  const attachments = [
    img(att(7, 'chart.png')),
    img(att(8, 'my photo.jpg', 'image/jpeg')),
    { attachment: att(9, 'doc.pdf', 'application/pdf'), use: 'file' as const, probe: { kind: 'file' as const } },
    img(att(10, 'Curated_Featured_Image.png'), 1200, 630),
    { attachment: att(11, 'Curated_Featured_Image.gif'), use: 'image' as const, probe: { kind: 'image' as const, valid: false as const } },
  ];

  it('writes a bundle keyed by id, converted body, files beside it', () => {
    const w = wp({ customFields: [cf(1, 'Tags', 'string', '["covid", "policy", "covid"]'), cf(2, 'Clean URL', 'link', 'https://x.example/a'), cf(3, 'Online Event', 'bool', true), cf(4, 'Audience', 'list', [{ href: '/x', title: 'Doctors' }])] });
    const doc = createDefaultProfile({}).map(input(w, attachments));
    expect(doc.workPackageId).toBe(42);
    expect(doc.markdownPath).toBe('content/news/42/index.md');
    expect(doc.files.map((f) => f.path)).toEqual([
      'content/news/42/index.md',
      'content/news/42/7-chart.png',
      'content/news/42/8-my-photo.jpg',
      'content/news/42/9-doc.pdf',
      'content/news/42/10-Curated_Featured_Image.png',
    ]);
    expect(doc.files.slice(1).map((f) => (f.kind === 'attachment' ? f.attachmentId : null))).toEqual([7, 8, 9, 10]);
    const md = doc.files[0]!;
    if (md.kind !== 'text') throw new Error('markdown first');
    const fm = frontmatter(md.text);
    expect(fm).toEqual({
      title: 'Héllo, World: a test!',
      date: '2021-01-02T03:04:05.678Z',
      lastmod: '2021-02-03T04:05:06Z',
      slug: 'hello-world-a-test-42',
      summary: 'Intro bold text. doc and other',
      description: 'Intro bold text. doc and other',
      draft: false,
      tags: ['covid', 'policy'],
      aliases: ['42'],
      images: ['10-Curated_Featured_Image.png'],
      featuredImage: { src: '10-Curated_Featured_Image.png', alt: 'Héllo, World: a test!', width: 1200, height: 630 },
      openproject: {
        id: 42,
        type: 'Curated News',
        status: 'Published',
        project: 'news',
        author: 'Ada Lovelace',
        fields: { tags: '["covid", "policy", "covid"]', cleanUrl: 'https://x.example/a', onlineEvent: true, audience: ['Doctors'] },
      },
    });
    const body = md.text.split('\n---\n\n')[1]!;
    expect(body).toContain('{{< figure src=`7-chart.png` alt=`chart` width=`640` height=`480` >}}');
    expect(body).toContain('{{< figure src=`8-my-photo.jpg` alt=`x` width=`640` height=`480` >}}');
    expect(body).toContain('[doc](9-doc.pdf)');
    // an attachment of another work package cannot be shown: its link stays as written
    expect(body).toContain('[other](/api/v3/attachments/999/content)');
    expect(body).not.toContain('op.example.com');
    expect(body).not.toMatch(/<img|<\/?[a-z]+[ >]/);
  });

  it('writes a flat page with bundle: false', () => {
    const doc = createDefaultProfile({ bundle: false }).map(input(wp(), attachments.slice(0, 1), 'content/news/'));
    expect(doc.files.map((f) => f.path)).toEqual(['content/news/42.md', 'content/news/42-7-chart.png']);
    const md = doc.files[0]!;
    expect(md.kind === 'text' && md.text.includes('src=`42-7-chart.png`')).toBe(true);
  });

  it.each([
    ['Published', {}, false],
    ['Closed', {}, false],
    ['New', {}, true],
    ['In progress', { publishedStatuses: ['In progress'] }, false],
  ])('status %s with %j → draft %s', (status, opts, draft) => {
    const doc = createDefaultProfile(opts).map(input(wp({ status: { id: 9, name: status } }), []));
    const md = doc.files[0]!;
    expect(md.kind === 'text' && frontmatter(md.text).draft).toBe(draft);
  });

  it.each([
    ['comma list', 'a, b ,, c', ['a', 'b', 'c']],
    ['JSON array', '["x", "y"]', ['x', 'y']],
    ['null', null, []],
  ])('reads tags from a %s', (_n, value, tags) => {
    const doc = createDefaultProfile({ tagsField: 'Topics' }).map(input(wp({ customFields: [cf(1, 'Topics', 'text', value)] }), []));
    const md = doc.files[0]!;
    expect(md.kind === 'text' && frontmatter(md.text).tags).toEqual(tags);
  });

  it('names the work package and field on a broken tags value', () => {
    const profile = createDefaultProfile({ tagsField: 'Topics' });
    expect(() => profile.map(input(wp({ customFields: [cf(1, 'Topics', 'text', '[broken')] }), []))).toThrow(/work package #42: custom field "Topics"/);
  });

  it('uses the id alone as slug when the subject has no letters, and handles an empty description', () => {
    const doc = createDefaultProfile({ customFieldsKey: 'op' }).map(input(wp({ subject: '🙂', description: '' }), [], ''));
    expect(doc.markdownPath).toBe('42/index.md');
    const md = doc.files[0]!;
    if (md.kind !== 'text') throw new Error('markdown first');
    expect(md.text.endsWith('---\n')).toBe(true);
    const fm = frontmatter(md.text);
    expect(fm.slug).toBe('42');
    expect(fm.aliases).toEqual([]);
    expect(fm.summary).toBe('');
    expect(fm.op).toMatchObject({ id: 42 });
    expect(fm.images).toBeUndefined();
  });
});

describe('default profile helpers', () => {
  it.each([
    ['my photo (1).JPG', 'my-photo-1-.JPG'],
    ['../../etc/passwd', 'etc-passwd'],
    ['.hidden', 'hidden'],
    ['日本.png', 'png'],
    ['', 'file'],
  ])('safeFileName(%j) = %j', (name, safe) => {
    expect(safeFileName(name)).toBe(safe);
  });
  it('plainExcerpt strips markdown and cuts at a word boundary', () => {
    expect(plainExcerpt('# Title\n\nSome *text* with a [link](http://x) and `code` &amp; <b>html</b>.', 160)).toBe('Title Some text with a link and code & html .');
    const long = plainExcerpt('word '.repeat(100), 160);
    expect(long.length).toBeLessThanOrEqual(160);
    expect(long.endsWith('word …')).toBe(true);
  });
});

describe('default profile on the fixture dataset', () => {
  const dataset = path.resolve(import.meta.dirname, '../../fixtures/medigy/dataset');
  it.skipIf(!existsSync(dataset))('maps every work package to a file gray-matter reads back', () => {
    const profile = createDefaultProfile({ tagsField: 'Medigy Topics' });
    const items = loadDirect(dataset);
    expect(items.length).toBeGreaterThan(0);
    let withImage = 0;
    for (const item of items) {
      const doc = profile.map({
        workPackage: item.workPackage,
        project: item.project,
        attachments: probeFor(profile, item),
        allAttachments: item.attachments,
        source: { name: 's', projects: [item.project.identifier], types: [item.workPackage.type.name], statuses: [], path: `content/${item.project.identifier}`, options: {} },
        now: new Date('2021-02-19T00:00:00Z'),
      });
      const md = doc.files[0]!;
      if (md.kind !== 'text') throw new Error('markdown first');
      const parsed = matter(md.text, {});
      expect(parsed.data.title).toBe(item.workPackage.subject);
      expect(parsed.data.openproject.id).toBe(item.workPackage.id);
      expect(Array.isArray(parsed.data.tags)).toBe(true);
      if (parsed.data.featuredImage) {
        withImage++;
        expect(doc.files.some((f) => f.path.endsWith(`/${parsed.data.featuredImage.src}`))).toBe(true);
      }
      expect(new Set(doc.files.map((f) => f.path)).size).toBe(doc.files.length);
    }
    expect(withImage).toBeGreaterThan(0);
  });
});

describe('default profile: paths, links, aliases (issue 14)', () => {
  const sources = {
    docs: { name: 'docs', projects: ['docs'], types: ['Page'], statuses: [], path: 'docs', options: {} },
    blog: { name: 'blog', projects: ['blog'], types: ['News'], statuses: [], path: 'Blog/My Posts', options: {} },
  };
  const withContext = (w: WorkPackage, synced: Record<number, keyof typeof sources>, memory?: unknown, path = 'docs'): MapInput => {
    const asked: number[] = [];
    const i = input(w, [], path);
    i.context = {
      sourceOf: (id) => {
        asked.push(id);
        const s = synced[id];
        return s ? sources[s] : undefined;
      },
      memory,
    };
    return i;
  };
  const fmOf = (doc: { files: { kind: string; text?: string }[] }): Record<string, unknown> => frontmatter(doc.files[0]!.text!);
  const bodyOf = (doc: { files: { kind: string; text?: string }[] }): string => (doc.files[0]!.text!.split('\n---\n\n')[1] ?? '').replace(/\n$/, '');

  it('shows ##N / ###N as OpenProject\'s static rendering does, from the engine\'s facts, and lists the ids asked', () => {
    // static_macro_label.rb: `[status ]type #N: subject`; a target the key cannot see: the bare `#N`, not linked.
    const w = wp({ description: 'See ##8, ###9 and ##11.' });
    const i = withContext(w, { 8: 'blog' });
    const asked: number[] = [];
    i.context!.workPackageFacts = (id) => {
      asked.push(id);
      return id === 11 ? null : { subject: `Subject ${id}`, type: 'Task', status: 'New' };
    };
    const doc = createDefaultProfile({ openprojectUrl: 'https://op.example.com' }).map(i);
    expect(bodyOf(doc)).toBe('See [Task #8: Subject 8](../../blog/my-posts/8/), [New Task #9: Subject 9](https://op.example.com/work_packages/9) and #11.');
    expect(asked).toEqual([8, 9, 11]);
    expect(doc.references).toEqual([8, 9, 11]);
  });

  it('gives equal subjects and subjects without letters their own stable paths and URLs', () => {
    const p = createDefaultProfile({});
    const docs = [wp({ id: 1, subject: 'Same' }), wp({ id: 2, subject: 'Same' }), wp({ id: 3, subject: 'same!' }), wp({ id: 4, subject: '🙂' }), wp({ id: 5, subject: '!!!' })].map((w) => p.map(input(w, [], 'docs')));
    expect(docs.map((d) => d.markdownPath)).toEqual(['docs/1/index.md', 'docs/2/index.md', 'docs/3/index.md', 'docs/4/index.md', 'docs/5/index.md']);
    expect(docs.map((d) => fmOf(d).slug)).toEqual(['same-1', 'same-2', 'same-3', '4', '5']);
    // The output of one work package does not depend on any other (mapped alone, same bytes).
    expect(p.map(input(wp({ id: 2, subject: 'Same' }), [], 'docs'))).toEqual(docs[1]);
  });

  it('cuts very long subjects at a word in the slug, keeping the id', () => {
    const slug = fmOf(createDefaultProfile({}).map(input(wp({ subject: 'word '.repeat(40) }), []))).slug as string;
    expect(slug.length).toBeLessThanOrEqual(84);
    expect(slug).toMatch(/^word(-word)+-42$/);
  });

  it('links references to synced work packages by their stable URL, others to OpenProject or as text, and lists every id asked', () => {
    const w = wp({ description: 'See #7, ##8 and ###9; <mention class="mention" data-id="10" data-type="work_package" data-text="#10">#10</mention>; [doc](/work_packages/7/activity)' });
    const doc = createDefaultProfile({ openprojectUrl: 'https://op.example.com/sub/' }).map(withContext(w, { 7: 'docs', 8: 'blog' }));
    const body = bodyOf(doc);
    expect(body).toContain('[#7](../7/)');
    expect(body).toContain('[#8](../../blog/my-posts/8/)');
    expect(body).toContain('[#9](https://op.example.com/sub/work_packages/9)');
    expect(body).toContain('[#10](https://op.example.com/sub/work_packages/10)');
    expect(body).toContain('[doc](../7/)');
    expect(doc.references).toEqual([7, 8, 9, 10]);
    expect((fmOf(doc).openproject as { url: string }).url).toBe('https://op.example.com/sub/work_packages/42');
    const text = createDefaultProfile({ workPackageLinks: 'text', openprojectUrl: 'https://op.example.com' }).map(withContext(w, {}));
    expect(bodyOf(text)).toContain('See #7, #8 and #9');
    // Without a context (outside a sync) nothing is synced; without openprojectUrl references stay text.
    expect(bodyOf(createDefaultProfile({}).map(input(w, [])))).toContain('See #7, #8 and #9');
  });

  it('links from a nested source folder up to another source', () => {
    const doc = createDefaultProfile({}).map(withContext(wp({ description: '#7' }), { 7: 'docs' }, undefined, 'Blog/My Posts'));
    expect(bodyOf(doc)).toBe('[#7](../../../docs/7/)');
  });

  it('remembers where the page has been and keeps those URLs as aliases after a rename or a folder move', () => {
    const p = createDefaultProfile({});
    const first = p.map(withContext(wp({ subject: 'Old title' }), {}));
    expect(first.memory).toEqual({ locations: ['docs/old-title-42'] });
    expect(fmOf(first).aliases).toEqual(['42']);
    const renamed = p.map(withContext(wp({ subject: 'New title' }), {}, first.memory));
    expect(fmOf(renamed).aliases).toEqual(['42', 'old-title-42']);
    expect(renamed.memory).toEqual({ locations: ['docs/old-title-42', 'docs/new-title-42'] });
    const moved = p.map(withContext(wp({ subject: 'New title' }), {}, renamed.memory, 'Blog/My Posts'));
    expect(fmOf(moved).aliases).toEqual(['42', '../../docs/old-title-42', '../../docs/new-title-42']);
    // Unchanged input, same memory: same output (no churn on every run).
    expect(p.map(withContext(wp({ subject: 'New title' }), {}, renamed.memory))).toEqual(renamed);
    // Memory of another shape (an older profile) is ignored, not trusted.
    expect(fmOf(p.map(withContext(wp({ subject: 'New title' }), {}, { locations: ['../../etc', 5] }))).aliases).toEqual(['42']);
  });

  it('writes custom fields typed: numbers, booleans, dates as YAML types, lists by title, users by name; weight from a field', () => {
    const w = wp({
      customFields: [
        cf(1, 'Reading Minutes', 'int', 7),
        cf(2, 'Score', 'float', 4.5),
        cf(3, 'Featured', 'bool', false),
        cf(4, 'Launch Date', 'date', '2024-05-01'),
        cf(5, 'Audience', 'list', [{ href: '/a', title: 'Developers' }, { href: '/b', title: 'Operators' }]),
        cf(6, 'Owner', 'user', { href: '/api/v3/users/5', title: 'Jane Doe' }),
        cf(7, 'Position', 'int', 3),
        cf(8, 'Empty', 'string', null),
      ],
    });
    const doc = createDefaultProfile({ weightField: 'Position' }).map(input(w, []));
    const text = doc.files[0]!.kind === 'text' ? doc.files[0]!.text : '';
    expect(text).toContain('launchDate: 2024-05-01\n'); // unquoted: a YAML date
    const fm = fmOf(doc);
    expect(fm.weight).toBe(3);
    expect((fm.openproject as { fields: unknown }).fields).toEqual({ readingMinutes: 7, score: 4.5, featured: false, launchDate: new Date('2024-05-01T00:00:00Z'), audience: ['Developers', 'Operators'], owner: 'Jane Doe', position: 3, empty: null });
    expect(() => createDefaultProfile({}).map(input(wp({ customFields: [cf(1, 'Launch Date', 'date', 'soon')] }), []))).toThrow(/work package #42: custom field "Launch Date".*a date/);
    expect(() => createDefaultProfile({ weightField: 'Position' }).map(input(wp({ customFields: [cf(7, 'Position', 'string', 'first')] }), []))).toThrow(/custom field "Position".*integer/);
  });

  it('html: keep writes the description as authored, attachment references pointing beside the page', () => {
    const w = wp({ description: '<figure class="image"><img src="/openproject/api/v3/attachments/7/content"></figure> <img src="chart.png"> <mention class="mention" data-id="5" data-type="user" data-text="@Jane">@Jane</mention> #7' });
    const doc = createDefaultProfile({ html: 'keep' }).map(input(w, [img(att(7, 'chart.png'))]));
    expect(bodyOf(doc)).toBe('<figure class="image"><img src="7-chart.png"></figure> <img src="7-chart.png"> <mention class="mention" data-id="5" data-type="user" data-text="@Jane">@Jane</mention> #7');
    expect(fmOf(doc).summary).toBe('@Jane #7');
  });

  it('selects attachments referenced by file name, and shows the newest of two with the same name', () => {
    const p = createDefaultProfile({});
    const w = wp({ description: '<img src="Shot.png">' });
    const a = { ...att(20, 'shot.png'), createdAt: '2024-01-01T00:00:00Z' };
    const b = { ...att(21, 'SHOT.png'), createdAt: '2024-02-01T00:00:00Z' };
    expect(p.attachmentUse(a, w)).toBe('image');
    expect(p.attachmentUse(b, w)).toBe('image');
    expect(p.attachmentUse(att(22, 'other.png'), w)).toBeNull();
    const doc = p.map(input(w, [img(a), img(b)]));
    expect(bodyOf(doc)).toBe('{{< figure src=`21-SHOT.png` width=`640` height=`480` >}}');
  });

  it('carries a version that changes with the output', () => {
    expect(createDefaultProfile({}).version).toBe('5');
  });
});
