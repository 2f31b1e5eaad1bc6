// Custom field values as typed frontmatter: numbers, booleans and dates as YAML types, list
// options by title, users by name. Only the fields the work package carries (the client
// lists the ones of its own schema).
import { MappingError } from '../../errors.js';
import type { CustomFieldEntry, CustomFieldValue, WorkPackage } from '../../types.js';
import { camelCaseFieldName } from '../text/index.js';
import { YamlDate, type YamlValue } from '../yaml/index.js';

function titles(v: CustomFieldValue): YamlValue {
  if (Array.isArray(v)) return v.map((l) => l.title);
  if (v !== null && typeof v === 'object') return v.title;
  return v;
}

export function typedFieldValue(wp: WorkPackage, entry: CustomFieldEntry): YamlValue {
  const { field, value } = entry;
  // A multi-value field is a list whatever it holds: empty, one value or several.
  if (field.multiValue) {
    if (value === null) return [];
    if (!Array.isArray(value)) return [typedFieldValue(wp, { field: { ...field, multiValue: false }, value })];
  }
  if (value === null) return null;
  const bad = (expected: string): MappingError => new MappingError(wp.id, `custom field "${field.name}"`, `expected ${expected}, got ${JSON.stringify(value)}`);
  switch (field.format) {
    case 'int':
    case 'float': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n) || (field.format === 'int' && !Number.isInteger(n))) throw bad(field.format === 'int' ? 'an integer' : 'a number');
      return n;
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1' || value === 't') return true;
      if (value === 'false' || value === '0' || value === 'f') return false;
      throw bad('a boolean');
    case 'date':
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return new YamlDate(value);
      throw bad('a date (YYYY-MM-DD)');
    case 'list':
    case 'user':
    case 'version':
    case 'hierarchy':
    case 'group':
      if (typeof value !== 'object') throw bad('a link (href and title)');
      return titles(value);
    case 'calculated':
      // The server computes it: a number as a YAML number, anything else as its text.
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(value.trim())) return Number(value);
      return typeof value === 'object' ? titles(value) : value;
    default:
      return typeof value === 'object' ? titles(value) : value;
  }
}

export function fieldsOf(wp: WorkPackage): { [key: string]: YamlValue } {
  const fields: { [key: string]: YamlValue } = {};
  for (const entry of wp.customFields) fields[camelCaseFieldName(entry.field.name) || `customField${entry.field.id}`] = typedFieldValue(wp, entry);
  return fields;
}

export function weightOf(wp: WorkPackage, fieldName: string | null): number | null {
  if (fieldName === null) return null;
  const entry = wp.customFields.find((e) => e.field.name === fieldName);
  if (!entry || entry.value === null) return null;
  const v = entry.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new MappingError(wp.id, `custom field "${fieldName}"`, `weight must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

export function tagsOf(wp: WorkPackage, fieldName: string | null): string[] {
  if (fieldName === null) return [];
  const entry = wp.customFields.find((e) => e.field.name === fieldName);
  if (!entry || entry.value === null) return [];
  const v = entry.value;
  let tags: unknown[];
  if (Array.isArray(v)) tags = v.map((l) => l.title);
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        tags = JSON.parse(s) as unknown[];
      } catch (e) {
        throw new MappingError(wp.id, `custom field "${fieldName}"`, `is not a JSON array (${(e as Error).message})`);
      }
      if (!Array.isArray(tags)) throw new MappingError(wp.id, `custom field "${fieldName}"`, 'is not a JSON array');
    } else tags = s.split(',');
  } else if (typeof v === 'object') tags = [v.title];
  else throw new MappingError(wp.id, `custom field "${fieldName}"`, `expected text or a list, got ${JSON.stringify(v)}`);
  const out: string[] = [];
  for (const t of tags) {
    if (typeof t !== 'string') throw new MappingError(wp.id, `custom field "${fieldName}"`, `expected strings, got ${JSON.stringify(t)}`);
    const tag = t.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}
