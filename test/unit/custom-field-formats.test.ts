// Issue 20: every custom-field format OpenProject renders (custom_field_injector.rb TYPE_MAP)
// is recognised from its schema type and becomes a typed frontmatter value.
import { describe, expect, it } from 'vitest';
import { MappingError } from '../../src/errors.js';
import { formatFromSchemaType } from '../../src/openproject/index.js';
import { typedFieldValue } from '../../src/mapping/profiles/default-fields.js';
import type { CustomFieldEntry, WorkPackage } from '../../src/types.js';

const wp = { id: 7 } as WorkPackage;
const entry = (format: CustomFieldEntry['field']['format'], value: CustomFieldEntry['value'], multiValue = false): CustomFieldEntry => ({ field: { id: 3, name: 'Room', format, multiValue }, value });

describe('custom field formats', () => {
  it.each([
    ['CustomField::Hierarchy::Item', 'hierarchy', false],
    ['[]CustomField::Hierarchy::Item', 'hierarchy', true],
    ['Group', 'group', false],
    ['CalculatedValue', 'calculated', false],
    ['Link', 'link', false],
    ['[]Version', 'version', true],
  ])('reads schema type %s as %s', (type, format, multiValue) => {
    expect(formatFromSchemaType(type)).toEqual({ format, multiValue });
  });
  it('writes hierarchy items and groups by their titles, multi-value fields always as lists', () => {
    expect(typedFieldValue(wp, entry('hierarchy', { href: '/api/v3/custom_field_items/2', title: 'room 1 (R1)' }))).toBe('room 1 (R1)');
    expect(typedFieldValue(wp, entry('hierarchy', [{ href: '/a', title: 'A' }, { href: '/b', title: 'B' }], true))).toEqual(['A', 'B']);
    expect(typedFieldValue(wp, entry('hierarchy', null, true))).toEqual([]);
    expect(typedFieldValue(wp, entry('list', { href: '/a', title: 'Only' }, true))).toEqual(['Only']);
    expect(typedFieldValue(wp, entry('group', { href: '/api/v3/groups/9', title: 'Marketing' }))).toBe('Marketing');
  });
  it('writes calculated values as numbers when they are numbers', () => {
    expect(typedFieldValue(wp, entry('calculated', 1234.5))).toBe(1234.5);
    expect(typedFieldValue(wp, entry('calculated', '42'))).toBe(42);
    expect(typedFieldValue(wp, entry('calculated', 'n/a'))).toBe('n/a');
  });
  it('names the work package and field when a linked format carries a scalar', () => {
    expect(() => typedFieldValue(wp, entry('hierarchy', 'room 1'))).toThrow(MappingError);
    expect(() => typedFieldValue(wp, entry('hierarchy', 'room 1'))).toThrow(/#7.*Room|Room.*#7/);
  });
});
