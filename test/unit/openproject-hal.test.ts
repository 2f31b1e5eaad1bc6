// HAL boundary: normalisation of work packages, attachments, collections and schemas;
// malformed payloads become PayloadErrors naming the item and the field.
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/errors.js';
import { fieldDefsFromSchema, formatFromSchemaType, idFromHref, normalizeAttachment, normalizeStatus, normalizeWorkPackage, parseCollection, schemaKeyFromHref } from '../../src/openproject/hal.js';
import type { CustomFieldDef } from '../../src/types.js';

// Shapes from the shared reference data, openproject-api/fixtures/derived (custom fields of every kind).
const schema = {
  _type: 'Schema',
  _dependencies: [],
  subject: { type: 'String', name: 'Subject', required: true },
  customField1: { type: 'String', name: 'Slug' },
  customField2: { type: 'Formattable', name: 'Teaser' },
  customField3: { type: 'Integer', name: 'Reading time (min)' },
  customField4: { type: 'Boolean', name: 'Featured' },
  customField5: { type: 'Date', name: 'Publish date' },
  customField6: { type: 'CustomOption', name: 'Category', location: '_links' },
  customField7: { type: '[]CustomOption', name: 'Tags', location: '_links' },
  customField8: { type: 'User', name: 'Curator', location: '_links' },
  customField9: { type: 'Link', name: 'Canonical URL' },
  customField10: { type: 'Float', name: 'Score' },
  customField11: { type: 'Version', name: 'Release' },
  customField12: { type: 'Mystery', name: 'Odd' },
  _links: { self: { href: '/api/v3/work_packages/schemas/11-7' } },
};

function wpJson(extra: Record<string, unknown> = {}, links: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: 'WorkPackage',
    id: 4711,
    lockVersion: 3,
    subject: 'How we ship releases',
    description: { format: 'markdown', raw: 'Intro text.\n\n![hero](/api/v3/attachments/901/content)', html: '<p>Intro</p>' },
    startDate: null,
    dueDate: '2025-03-04',
    customField1: 'how-we-ship-releases',
    customField2: { format: 'markdown', raw: 'A short **teaser**.', html: '<p>…</p>' },
    customField3: 7,
    customField4: true,
    customField5: null,
    customField9: 'https://example.org/blog/how-we-ship',
    customField10: 4.5,
    createdAt: '2025-02-20T10:15:00.000Z',
    updatedAt: '2025-02-27T08:01:12.345123Z',
    ...extra,
    _links: {
      self: { href: '/api/v3/work_packages/4711', title: 'How we ship releases' },
      schema: { href: '/api/v3/work_packages/schemas/11-7' },
      type: { href: '/api/v3/types/7', title: 'Curated Content' },
      status: { href: '/api/v3/statuses/2', title: 'In Progress' },
      project: { href: '/api/v3/projects/11', title: 'Content Hub' },
      author: { href: '/api/v3/users/5', title: 'Jane Doe' },
      assignee: { href: null },
      customField6: { href: '/api/v3/custom_options/31', title: 'Tutorial' },
      customField7: [
        { href: '/api/v3/custom_options/40', title: 'release' },
        { href: '/api/v3/custom_options/41', title: 'process' },
      ],
      customField8: { href: null, title: null },
      ...links,
    },
  };
}

const defs = new Map<number, CustomFieldDef>(fieldDefsFromSchema(schema).map((d) => [d.id, d]));

function payloadError(fn: () => unknown): PayloadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    return e as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

describe('schemas → custom field definitions', () => {
  it('maps every schema type to a format, [] prefix → multi-value', () => {
    expect(fieldDefsFromSchema(schema)).toEqual([
      { id: 1, name: 'Slug', format: 'string', multiValue: false },
      { id: 2, name: 'Teaser', format: 'text', multiValue: false },
      { id: 3, name: 'Reading time (min)', format: 'int', multiValue: false },
      { id: 4, name: 'Featured', format: 'bool', multiValue: false },
      { id: 5, name: 'Publish date', format: 'date', multiValue: false },
      { id: 6, name: 'Category', format: 'list', multiValue: false },
      { id: 7, name: 'Tags', format: 'list', multiValue: true },
      { id: 8, name: 'Curator', format: 'user', multiValue: false },
      { id: 9, name: 'Canonical URL', format: 'link', multiValue: false },
      { id: 10, name: 'Score', format: 'float', multiValue: false },
      { id: 11, name: 'Release', format: 'version', multiValue: false },
      { id: 12, name: 'Odd', format: 'unknown', multiValue: false },
    ]);
    expect(formatFromSchemaType('[]User')).toEqual({ format: 'user', multiValue: true });
    expect(formatFromSchemaType('[]Version')).toEqual({ format: 'version', multiValue: true });
  });
  it('reads the project-type key of schema links', () => {
    expect(schemaKeyFromHref('/api/v3/work_packages/schemas/11-7')).toBe('11-7');
    expect(schemaKeyFromHref('/sub/path/api/v3/work_packages/schemas/2-4')).toBe('2-4');
    expect(schemaKeyFromHref('/api/v3/work_packages/schemas')).toBeNull();
    expect(schemaKeyFromHref(undefined)).toBeNull();
  });
});

describe('work packages', () => {
  it('normalises fields, keeps timestamps verbatim, resolves custom fields by name in document order', () => {
    const wp = normalizeWorkPackage(wpJson(), defs);
    expect(wp).toMatchObject({
      id: 4711,
      lockVersion: 3,
      subject: 'How we ship releases',
      description: 'Intro text.\n\n![hero](/api/v3/attachments/901/content)',
      createdAt: '2025-02-20T10:15:00.000Z',
      updatedAt: '2025-02-27T08:01:12.345123Z',
      startDate: null,
      dueDate: '2025-03-04',
      type: { id: 7, name: 'Curated Content' },
      status: { id: 2, name: 'In Progress' },
      project: { id: 11, name: 'Content Hub' },
      author: 'Jane Doe',
    });
    expect(wp.customFields.map((c) => [c.field.name, c.value])).toEqual([
      ['Slug', 'how-we-ship-releases'],
      ['Teaser', 'A short **teaser**.'],
      ['Reading time (min)', 7],
      ['Featured', true],
      ['Publish date', null],
      ['Canonical URL', 'https://example.org/blog/how-we-ship'],
      ['Score', 4.5],
      ['Category', { href: '/api/v3/custom_options/31', title: 'Tutorial' }],
      [
        'Tags',
        [
          { href: '/api/v3/custom_options/40', title: 'release' },
          { href: '/api/v3/custom_options/41', title: 'process' },
        ],
      ],
      ['Curator', { href: null, title: null }],
    ]);
  });

  it('lists only the custom-field keys the JSON carries (absent ≠ null), in the JSON key order', () => {
    const json = wpJson();
    for (const k of ['customField1', 'customField2', 'customField3', 'customField4', 'customField9', 'customField10']) delete json[k];
    // Re-added keys land after _links in the document: the order must follow the document.
    delete json.customField5;
    Object.assign(json, { customField3: null, customField5: '2025-01-01' });
    const links = json._links as Record<string, unknown>;
    delete links.customField6;
    delete links.customField7;
    const wp = normalizeWorkPackage(json, defs);
    expect(wp.customFields.map((c) => [c.field.id, c.value])).toEqual([
      [8, { href: null, title: null }],
      [3, null],
      [5, '2025-01-01'],
    ]);
  });

  it('_links custom fields take the place where _links sits (docs examples put _links first)', () => {
    const { _links, ...rest } = wpJson();
    const wp = normalizeWorkPackage({ _links, ...rest }, defs);
    expect(wp.customFields.map((c) => c.field.id)).toEqual([6, 7, 8, 1, 2, 3, 4, 5, 9, 10]);
  });

  it('without a schema, an unresolved field keeps customField<N> as its name; an empty description becomes ""', () => {
    const wp = normalizeWorkPackage(wpJson({ description: null, customField99: 'x' }), null);
    expect(wp.description).toBe('');
    expect(wp.customFields.find((c) => c.field.id === 99)).toEqual({ field: { id: 99, name: 'customField99', format: 'unknown', multiValue: false }, value: 'x' });
    expect(normalizeWorkPackage(wpJson({ description: { format: 'markdown', raw: null } }), defs).description).toBe('');
  });

  it('drops custom fields its own schema does not define (the page-union nulls of other work packages), scalar and linked', () => {
    const json = wpJson({ customField98: null, customField99: 'x' });
    (json._links as Record<string, unknown>).customField97 = { href: null };
    const wp = normalizeWorkPackage(json, defs);
    expect(wp.customFields.map((c) => c.field.id).filter((id) => id >= 97)).toEqual([]);
    // The same work package rendered alone (no foreign fields) normalises to the same value.
    expect(wp).toEqual(normalizeWorkPackage(wpJson(), defs));
  });

  it.each([
    ['_links.type.href as a number', (j: Record<string, unknown>) => ((j._links as Record<string, unknown>).type = { href: 7 }), '_links.type.href', 'expected string, got number'],
    ['missing subject', (j: Record<string, unknown>) => delete j.subject, 'subject', 'expected string, got nothing (missing)'],
    ['subject as a number', (j: Record<string, unknown>) => (j.subject = 42), 'subject', 'expected string, got number'],
    ['id as a string', (j: Record<string, unknown>) => (j.id = '4711'), 'id', 'expected number, got string'],
    ['status link without id', (j: Record<string, unknown>) => ((j._links as Record<string, unknown>).status = { href: '/api/v3/statuses/open' }), '_links.status.href', 'expected a resource link ending in an id'],
    ['int custom field as a string', (j: Record<string, unknown>) => (j.customField3 = 'seven'), 'customField3', 'expected number (custom field "Reading time (min)", int), got string'],
    ['bool custom field as a number', (j: Record<string, unknown>) => (j.customField4 = 1), 'customField4', 'expected boolean'],
    ['Formattable raw as a number', (j: Record<string, unknown>) => (j.customField2 = { raw: 5 }), 'customField2.raw', 'expected string, got number'],
    ['list custom field as a string', (j: Record<string, unknown>) => ((j._links as Record<string, unknown>).customField6 = 'Tutorial'), '_links.customField6', 'expected a link object, got string'],
    ['multi list entry with a numeric title', (j: Record<string, unknown>) => ((j._links as Record<string, unknown>).customField7 = [{ href: null, title: 3 }]), '_links.customField7.0.title', 'expected string, got number'],
    ['a Project instead of a WorkPackage', (j: Record<string, unknown>) => (j._type = 'Project'), '_type', 'expected "WorkPackage"'],
  ])('malformed: %s → PayloadError naming item and field', (_name, mutate, field, detail) => {
    const json = wpJson();
    mutate(json);
    const e = payloadError(() => normalizeWorkPackage(json, defs));
    expect(e.item).toMatch(/^work package #(4711|\?)$/);
    expect(e.field).toBe(field);
    expect(e.message).toContain(`field "${field}" ${detail}`);
  });

  it('the message reads like the issue asks', () => {
    const json = wpJson({ id: 42 });
    (json._links as Record<string, unknown>).type = { href: 7 };
    expect(() => normalizeWorkPackage(json, defs)).toThrow('work package #42: field "_links.type.href" expected string, got number');
  });
});

describe('attachments', () => {
  const base = {
    _type: 'Attachment',
    id: 901,
    fileName: 'hero.png',
    fileSize: 24,
    contentType: 'image/png',
    digest: { algorithm: 'md5', hash: '64C26A8403CD796EA4CF913CDA2EE4A9' },
    createdAt: '2014-05-21T08:51:20.396Z',
    _links: {
      container: { href: '/api/v3/work_packages/4711' },
      staticDownloadLocation: { href: '/api/v3/attachments/901/content' },
      downloadLocation: { href: 'https://s3.example.com/bucket/901?X-Amz-Signature=abc' },
    },
  };
  it('md5 from digest (lower-cased), staticDownloadLocation (never the expiring signed downloadLocation), container from its link, status', () => {
    expect(normalizeAttachment(base)).toEqual({
      id: 901,
      fileName: 'hero.png',
      fileSize: 24,
      contentType: 'image/png',
      md5: '64c26a8403cd796ea4cf913cda2ee4a9',
      createdAt: '2014-05-21T08:51:20.396Z',
      downloadHref: '/api/v3/attachments/901/content',
      containerId: 4711,
      status: 'uploaded',
    });
    expect(normalizeAttachment({ ...base, status: 'quarantined' }).status).toBe('quarantined');
    expect(() => normalizeAttachment({ ...base, status: 'melted' })).toThrow(/attachment #901: field "status"/);
  });
  it('staticDownloadLocation alone; no md5 for other algorithms or a null hash; the docs typo `filesize`', () => {
    const { fileSize: _drop, ...noSize } = base;
    const a = normalizeAttachment({ ...noSize, filesize: 3, digest: { algorithm: 'sha1', hash: 'ab' }, _links: { staticDownloadLocation: { href: '/api/v3/attachments/901/content' } } }, 17);
    expect(a).toMatchObject({ fileSize: 3, md5: null, downloadHref: '/api/v3/attachments/901/content', containerId: 17 });
    expect(normalizeAttachment({ ...base, digest: { algorithm: 'md5', hash: null } }).md5).toBeNull();
  });
  it('malformed → PayloadError', () => {
    expect(() => normalizeAttachment({ ...base, fileSize: '24' })).toThrow('attachment #901: field "fileSize" expected number, got string');
    expect(() => normalizeAttachment({ ...base, fileName: '' })).toThrow(/attachment #901: field "fileName"/);
    const { fileSize: _drop, ...noSize } = base;
    expect(() => normalizeAttachment(noSize)).toThrow('attachment #901: field "fileSize" expected number, got nothing (missing)');
  });
});

describe('collections and references', () => {
  it('reads total, pageSize, elements, embedded schemas and nextByOffset', () => {
    const c = parseCollection(
      {
        _type: 'WorkPackageCollection',
        total: 234,
        count: 1,
        pageSize: 30,
        offset: 1,
        _embedded: { elements: [{ id: 1 }], schemas: { _type: 'Collection', _embedded: { elements: [schema] } } },
        _links: { nextByOffset: { href: '/api/v3/work_packages?offset=2&pageSize=30' } },
      },
      'page 1',
    );
    expect(c).toEqual({ total: 234, pageSize: 30, elements: [{ id: 1 }], schemas: [schema], next: '/api/v3/work_packages?offset=2&pageSize=30' });
    expect(() => parseCollection({ total: 1, _embedded: {} }, 'work package list page 2')).toThrow('work package list page 2: field "_embedded.elements" expected array, got nothing (missing)');
    expect(() => parseCollection({ total: 1, _embedded: { elements: { id: 1 } } }, 'page 3')).toThrow('page 3: field "_embedded.elements" expected array, got object');
    // The page's own array, not a copy (a page of 1,000 ids is read once).
    const page = { total: 2, _embedded: { elements: [{ id: 1 }, { id: 2 }] } };
    expect(parseCollection(page, 'page 1').elements).toBe(page._embedded.elements);
    expect(() => parseCollection('<html>', 'type list')).toThrow(/type list: field "\(root\)" expected object, got string/);
  });
  it('statuses carry isClosed; ids come from hrefs', () => {
    expect(normalizeStatus({ _type: 'Status', id: 12, name: 'Closed', isClosed: true })).toEqual({ id: 12, name: 'Closed', isClosed: true });
    expect(() => normalizeStatus({ id: 12 })).toThrow('status #12: field "name" expected string, got nothing (missing)');
    expect(idFromHref('/api/v3/users/14', 'x', 'f')).toBe(14);
    expect(idFromHref('api/v3/users/14', 'x', 'f')).toBe(14); // the docs example's relative href
    expect(() => idFromHref(null, 'work package #1', '_links.project.href')).toThrow('work package #1: field "_links.project.href"');
  });
});
