// The work package query language of OpenProject API v3 (README §1): `filters` JSON,
// `sortBy` JSON and `select`, with the server's semantics — including the default
// "status is open" filter when `filters` is absent.
import type { InstanceJson, Json, WorkPackageJson } from './types.js';

export class QueryError extends Error {
  constructor(
    readonly identifier: 'InvalidQuery' | 'InvalidSignal',
    message: string,
  ) {
    super(message);
  }
}

interface Filter {
  name: string;
  operator: string;
  values: string[];
}

const linkId = (wp: WorkPackageJson, rel: string): string | null => {
  const l = wp._links[rel] as { href?: Json } | undefined;
  const href = typeof l?.href === 'string' ? l.href : null;
  return href ? (href.split('/').pop() ?? null) : null;
};

const FILTER_ALIASES: Record<string, string> = {
  type: 'type',
  type_id: 'type',
  status: 'status',
  status_id: 'status',
  project: 'project',
  project_id: 'project',
  id: 'id',
  updatedAt: 'updatedAt',
  updated_at: 'updatedAt',
  createdAt: 'createdAt',
  created_at: 'createdAt',
};

const OPERATORS = new Set(['=', '!', 'o', 'c', '*', '!*', '>=', '<=', '<>d', '=d']);

export function parseFilters(raw: string | null): Filter[] {
  if (raw === null) return [{ name: 'status', operator: 'o', values: [] }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new QueryError('InvalidQuery', 'Filters are not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw new QueryError('InvalidQuery', 'Filters must be an array.');
  return parsed.map((entry: unknown) => {
    if (!entry || typeof entry !== 'object' || Object.keys(entry).length !== 1) throw new QueryError('InvalidQuery', 'Each filter must be an object with one key.');
    const [name, spec] = Object.entries(entry as Record<string, unknown>)[0]!;
    const canonical = FILTER_ALIASES[name];
    if (!canonical) throw new QueryError('InvalidQuery', `Filter ${name} does not exist.`);
    const s = spec as { operator?: unknown; values?: unknown };
    if (typeof s?.operator !== 'string' || !OPERATORS.has(s.operator)) throw new QueryError('InvalidQuery', `The operator of filter ${name} is not valid.`);
    const values = s.values === undefined ? [] : s.values;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new QueryError('InvalidQuery', `The values of filter ${name} must be an array of strings.`);
    return { name: canonical, operator: s.operator, values: values as string[] };
  });
}

function parseTime(s: string): number {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new QueryError('InvalidQuery', `${JSON.stringify(s)} is not a valid date.`);
  return t;
}

export function matches(wp: WorkPackageJson, filters: Filter[], instance: InstanceJson): boolean {
  return filters.every((f) => {
    if (f.name === 'updatedAt' || f.name === 'createdAt') {
      const t = Date.parse(String(wp[f.name]));
      if (f.operator === '<>d') {
        const [from = '', to = ''] = f.values;
        return (from === '' || t >= parseTime(from)) && (to === '' || t <= parseTime(to));
      }
      if (f.operator === '>=') return t >= parseTime(f.values[0] ?? '');
      if (f.operator === '<=') return t <= parseTime(f.values[0] ?? '');
      if (f.operator === '=d') return String(wp[f.name]).slice(0, 10) === (f.values[0] ?? '').slice(0, 10);
      if (f.operator === '*') return true;
      throw new QueryError('InvalidQuery', `Operator ${f.operator} is not valid for ${f.name}.`);
    }
    const value = f.name === 'id' ? String(wp.id) : linkId(wp, f.name);
    switch (f.operator) {
      case '=':
        return value !== null && f.values.includes(value);
      case '!':
        return value === null || !f.values.includes(value);
      case '*':
        return value !== null;
      case '!*':
        return value === null;
      case 'o':
      case 'c': {
        if (f.name !== 'status') throw new QueryError('InvalidQuery', `Operator ${f.operator} is only valid for status.`);
        const status = instance.statuses.find((s) => String(s.id) === value);
        const closed = status?.isClosed === true;
        return f.operator === 'c' ? closed : !closed;
      }
      default:
        throw new QueryError('InvalidQuery', `Operator ${f.operator} is not valid for ${f.name}.`);
    }
  });
}

type SortKey = 'id' | 'updatedAt' | 'createdAt' | 'subject';

export function parseSortBy(raw: string | null): [SortKey, 'asc' | 'desc'][] {
  if (raw === null) return [['id', 'asc']];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new QueryError('InvalidQuery', 'sortBy is not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw new QueryError('InvalidQuery', 'sortBy must be an array.');
  return parsed.map((p: unknown) => {
    if (!Array.isArray(p) || p.length !== 2) throw new QueryError('InvalidQuery', 'sortBy entries are [attribute, direction] pairs.');
    const [key, dir] = p as [string, string];
    if (!['id', 'updatedAt', 'createdAt', 'subject'].includes(key)) throw new QueryError('InvalidQuery', `Cannot sort by ${key}.`);
    if (dir !== 'asc' && dir !== 'desc') throw new QueryError('InvalidQuery', `Sort direction ${dir} is not valid.`);
    return [key as SortKey, dir];
  });
}

export function sortWorkPackages(list: WorkPackageJson[], order: [SortKey, 'asc' | 'desc'][]): WorkPackageJson[] {
  return list.sort((a, b) => {
    for (const [key, dir] of order) {
      const x = key === 'id' ? a.id : String(a[key]);
      const y = key === 'id' ? b.id : String(b[key]);
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return a.id - b.id;
  });
}

const SELECTABLE = new Set([
  '*',
  'total',
  'count',
  'pageSize',
  'offset',
  'self',
  'elements',
  'elements/*',
  'elements/id',
  'elements/subject',
  'elements/startDate',
  'elements/dueDate',
  'elements/date',
  'elements/self',
  'elements/project',
  'elements/author',
  'elements/assignee',
  'elements/responsible',
]);

/** `select=total,elements/id` → the set of selected keys; unsupported keys → InvalidSignal. */
export function parseSelect(raw: string | null): Set<string> | null {
  if (raw === null) return null;
  const keys = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = keys.filter((k) => !SELECTABLE.has(k));
  if (bad.length) throw new QueryError('InvalidSignal', `The select parameter contains unsupported values: ${bad.join(', ')}.`);
  return new Set(keys);
}
