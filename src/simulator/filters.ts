// The work package query language of OpenProject API v3 (README §1): `filters` JSON,
// `sortBy` JSON and `select`, with the server's semantics — including the default
// "status is open" filter when `filters` is absent. Queries are validated and compiled
// once per request (a bad operator is a 400 even when nothing would match), then run
// as plain predicates over the stored work packages.
import type { InstanceJson, Json, WorkPackageJson } from './types.js';

export class QueryError extends Error {
  constructor(
    readonly identifier: 'InvalidQuery' | 'InvalidSignal',
    message: string,
  ) {
    super(message);
  }
}

export interface Filter {
  name: FilterName;
  operator: string;
  values: string[];
}

type FilterName = 'type' | 'status' | 'project' | 'id' | 'updatedAt' | 'createdAt';

// API names and the server's snake_case aliases (parse_query_params_service.rb converts both).
const FILTER_ALIASES: Record<string, FilterName> = {
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

const DATE_TIME_PAST = ['>t-', '<t-', 't-', 't', 'w', '=d', '<>d'];

const OPERATORS_BY_FILTER: Record<FilterName, ReadonlySet<string>> = {
  status: new Set(['=', '!', 'o', 'c', '*', '!*']),
  type: new Set(['=', '!', '*', '!*']),
  project: new Set(['=', '!', '*', '!*']),
  id: new Set(['=', '!']),
  // DateTimePast (app/models/queries/filters/strategies/date_time_past.rb): these seven and
  // nothing else; `>=`, `<=`, `*`, `!*` are 400 InvalidQuery on a real server.
  updatedAt: new Set(DATE_TIME_PAST),
  createdAt: new Set(DATE_TIME_PAST),
};

/** What this simulator accepted on dates before it mirrored DateTimePast (a test that needs it asks via `lenient`). */
const LENIENT_DATE_OPERATORS = new Set([...DATE_TIME_PAST, '>=', '<=', '*', '!*']);

/** The filter a real server applies when the request has no `filters` parameter at all. */
export const DEFAULT_FILTERS: Filter[] = [{ name: 'status', operator: 'o', values: [] }];

export function parseFilters(raw: string | null, options: { lenientDates?: boolean } = {}): Filter[] {
  if (raw === null) return DEFAULT_FILTERS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new QueryError('InvalidQuery', 'Filters are not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw new QueryError('InvalidQuery', 'Filters must be an array.');
  return parsed.map((entry: unknown) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry) || Object.keys(entry).length !== 1) {
      throw new QueryError('InvalidQuery', 'Each filter must be an object with exactly one key.');
    }
    const [name, spec] = Object.entries(entry as Record<string, unknown>)[0]!;
    const canonical = FILTER_ALIASES[name];
    if (!canonical) throw new QueryError('InvalidQuery', `Filter ${name} does not exist.`);
    const s = (spec ?? {}) as { operator?: unknown; values?: unknown };
    const allowed = options.lenientDates && (canonical === 'updatedAt' || canonical === 'createdAt') ? LENIENT_DATE_OPERATORS : OPERATORS_BY_FILTER[canonical];
    if (typeof s.operator !== 'string' || !allowed.has(s.operator)) {
      throw new QueryError('InvalidQuery', `The operator ${JSON.stringify(s.operator ?? null)} is not valid for filter ${name}.`);
    }
    const values = s.values === undefined || s.values === null ? [] : s.values;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new QueryError('InvalidQuery', `The values of filter ${name} must be an array of strings.`);
    }
    const f: Filter = { name: canonical, operator: s.operator, values: values as string[] };
    validateValues(f, name);
    return f;
  });
}

function validateValues(f: Filter, apiName: string): void {
  const op = f.operator;
  if (op === '=' || op === '!') {
    if (f.values.length === 0) throw new QueryError('InvalidQuery', `Filter ${apiName} needs at least one value.`);
    if (!f.values.every((v) => /^\d+$/.test(v))) throw new QueryError('InvalidQuery', `Filter ${apiName} has invalid values (ids expected).`);
  } else if (op === '>=' || op === '<=' || op === '=d') {
    if (f.values.length !== 1 || Number.isNaN(parseInstant(f.values[0]!))) throw new QueryError('InvalidQuery', `Filter ${apiName} needs one valid date.`);
  } else if (op === '>t-' || op === '<t-' || op === 't-') {
    // Integer strategy (integer.rb): one whole number of days.
    if (f.values.length !== 1 || !/^\d+$/.test(f.values[0]!)) throw new QueryError('InvalidQuery', `Filter ${apiName} needs one whole number of days.`);
  } else if (op === '<>d') {
    if (f.values.length < 1 || f.values.length > 2) throw new QueryError('InvalidQuery', `Filter ${apiName} needs two values (either may be empty).`);
    for (const v of f.values) if (v !== '' && Number.isNaN(parseInstant(v))) throw new QueryError('InvalidQuery', `${JSON.stringify(v)} is not a valid date.`);
  }
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO-8601 date or datetime as MICROseconds since the epoch (NaN when invalid).
 * The corpus mixes 0, 3 and 6 fractional digits; Date.parse would drop the last three,
 * and an incremental filter at a 6-digit watermark must not re-include or skip rows.
 */
export function parseInstant(s: string): number {
  const m = ISO.exec(s.trim());
  if (!m) return NaN;
  const [, date, time, frac, zone] = m;
  const ms = Date.parse(`${date}T${time ?? '00:00:00'}${zone ?? 'Z'}`);
  if (Number.isNaN(ms)) return NaN;
  const micros = Number(((frac ?? '') + '000000').slice(0, 6));
  return ms * 1000 + micros;
}

const isDateOnly = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s.trim());
const DAY_US = 86_400_000_000;

// Run for every work package of every list request: no array per call (the simulator
// shares the bench machine's two cores with the curate process it is measuring).
const linkId = (wp: WorkPackageJson, rel: string): string | null => {
  const l = wp._links[rel] as { href?: Json } | undefined;
  const href = typeof l?.href === 'string' ? l.href : null;
  return href ? href.slice(href.lastIndexOf('/') + 1) : null;
};

/** parseInstant of work package timestamps, remembered: each list request filters every work package. */
const instants = new Map<string, number>();
const instantOf = (s: string): number => {
  let v = instants.get(s);
  if (v === undefined) {
    if (instants.size > 200_000) instants.clear();
    instants.set(s, (v = parseInstant(s)));
  }
  return v;
};

export type Predicate = (wp: WorkPackageJson) => boolean;

export interface CompileContext {
  /** Server clock, for the relative date operators (`>t-`, `t`, `w`, …). @default now */
  now?: Date;
  /**
   * A project id → the ids a `project = id` filter matches: the project and, when the query
   * includes subprojects, its visible descendants. @default the project alone
   */
  projectScope?: (id: string) => readonly string[];
}

/** Filters → one predicate (ANDed). Dates are parsed once here, not per work package. */
export function compileFilters(filters: Filter[], instance: InstanceJson, ctx: CompileContext = {}): Predicate {
  const closed = new Set(instance.statuses.filter((s) => s.isClosed === true).map((s) => String(s.id)));
  const now = (ctx.now ?? new Date()).getTime() * 1000;
  const today = Math.floor(now / DAY_US) * DAY_US;
  const tests = filters.map((f): Predicate => {
    if (f.name === 'updatedAt' || f.name === 'createdAt') {
      const key = f.name;
      const at = (wp: WorkPackageJson): number => (typeof wp[key] === 'string' ? instantOf(wp[key]) : NaN);
      const [a = '', b = ''] = f.values;
      const days = Number(a) * DAY_US;
      // Relative operators count whole days in the server's zone (UTC here), from today's start.
      const within = (from: number, to: number): Predicate => (wp) => {
        const t = at(wp);
        return t >= from && t < to;
      };
      switch (f.operator) {
        case '>t-': // less than n days ago
          return within(today - days, Infinity);
        case '<t-': // more than n days ago
          return within(-Infinity, today - days + DAY_US);
        case 't-': // exactly n days ago
          return within(today - days, today - days + DAY_US);
        case 't':
          return within(today, today + DAY_US);
        case 'w': {
          // This week, Monday first (Setting.start_of_week unset → ISO week).
          const monday = today - ((new Date(today / 1000).getUTCDay() + 6) % 7) * DAY_US;
          return within(monday, monday + 7 * DAY_US);
        }
        case '*':
          return (wp) => !Number.isNaN(at(wp));
        case '!*':
          return (wp) => Number.isNaN(at(wp));
        case '>=': {
          const from = parseInstant(a);
          return (wp) => at(wp) >= from;
        }
        case '<=': {
          // A bare date means "up to the end of that day", like the server's date filters.
          const to = isDateOnly(a) ? parseInstant(a) + DAY_US - 1 : parseInstant(a);
          return (wp) => at(wp) <= to;
        }
        case '=d': {
          const day = parseInstant(a.slice(0, 10));
          return (wp) => {
            const t = at(wp);
            return t >= day && t < day + DAY_US;
          };
        }
        default: {
          // '<>d' (between_date_time.rb): either end may be '' = open-ended.
          const from = a === '' ? -Infinity : parseInstant(a);
          const to = b === '' ? Infinity : isDateOnly(b) ? parseInstant(b) + DAY_US - 1 : parseInstant(b);
          return (wp) => {
            const t = at(wp);
            return t >= from && t <= to;
          };
        }
      }
    }
    const name = f.name;
    if (name === 'project' && ctx.projectScope && (f.operator === '=' || f.operator === '!')) {
      const scope = new Set(f.values.flatMap((v) => ctx.projectScope!(v)));
      const inScope = (wp: WorkPackageJson): boolean => scope.has(linkId(wp, 'project') ?? '');
      return f.operator === '=' ? inScope : (wp) => !inScope(wp);
    }
    const value = name === 'id' ? (wp: WorkPackageJson): string | null => String(wp.id) : (wp: WorkPackageJson): string | null => linkId(wp, name);
    const set = new Set(f.values);
    switch (f.operator) {
      case '=':
        return (wp) => {
          const v = value(wp);
          return v !== null && set.has(v);
        };
      case '!':
        return (wp) => {
          const v = value(wp);
          return v === null || !set.has(v);
        };
      case '*':
        return (wp) => value(wp) !== null;
      case '!*':
        return (wp) => value(wp) === null;
      case 'o':
        return (wp) => !closed.has(value(wp) ?? '');
      default: // 'c'
        return (wp) => closed.has(value(wp) ?? '');
    }
  });
  return (wp) => tests.every((t) => t(wp));
}

/** Convenience for one-off checks (tests): does `wp` match `filters`? */
export function matches(wp: WorkPackageJson, filters: Filter[], instance: InstanceJson): boolean {
  return compileFilters(filters, instance)(wp);
}

export type SortKey = 'id' | 'updatedAt' | 'createdAt' | 'subject';
export type SortOrder = [SortKey, 'asc' | 'desc'][];

export const DEFAULT_SORT: SortOrder = [['id', 'asc']];

export function parseSortBy(raw: string | null): SortOrder {
  if (raw === null || raw === '') return DEFAULT_SORT;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new QueryError('InvalidQuery', 'sortBy is not valid JSON.');
  }
  if (!Array.isArray(parsed)) throw new QueryError('InvalidQuery', 'sortBy must be an array.');
  return parsed.map((p: unknown) => {
    if (!Array.isArray(p) || p.length !== 2) throw new QueryError('InvalidQuery', 'sortBy entries are [attribute, direction] pairs.');
    const [key, dir] = p as [unknown, unknown];
    if (key !== 'id' && key !== 'updatedAt' && key !== 'createdAt' && key !== 'subject') throw new QueryError('InvalidQuery', `Cannot sort by ${String(key)}.`);
    if (dir !== 'asc' && dir !== 'desc') throw new QueryError('InvalidQuery', `Sort direction ${String(dir)} is not valid.`);
    return [key, dir];
  });
}

export const isDefaultSort = (order: SortOrder): boolean => order.length === 1 && order[0]![0] === 'id' && order[0]![1] === 'asc';

/** Sorts in place; ties (and the end of every order) broken by id asc, so pages are stable. */
export function sortWorkPackages(list: WorkPackageJson[], order: SortOrder): WorkPackageJson[] {
  const keyOf = (wp: WorkPackageJson, key: SortKey): number | string => {
    if (key === 'id') return wp.id;
    if (key === 'subject') return typeof wp.subject === 'string' ? wp.subject.toLowerCase() : '';
    const t = typeof wp[key] === 'string' ? parseInstant(wp[key]) : NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  const keyed = list.map((wp) => ({ wp, keys: order.map(([k]) => keyOf(wp, k)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < order.length; i++) {
      const x = a.keys[i]!;
      const y = b.keys[i]!;
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return order[i]![1] === 'asc' ? c : -c;
    }
    return a.wp.id - b.wp.id;
  });
  for (let i = 0; i < keyed.length; i++) list[i] = keyed[i]!.wp;
  return list;
}

// What the SQL representer can render (work_package_sql_representer.rb); custom fields,
// updatedAt and description are not among them.
const SELECTABLE = new Set([
  '*',
  'total',
  'count',
  'pageSize',
  'offset',
  'self',
  'jumpTo',
  'changeSize',
  'previousByOffset',
  'nextByOffset',
  'elements',
  'elements/*',
  'elements/_type',
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
  const keys = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = keys.filter((k) => !SELECTABLE.has(k));
  if (bad.length) throw new QueryError('InvalidSignal', `The select parameter contains unsupported values: ${bad.join(', ')}.`);
  return new Set(keys);
}

/** What the requesting user may name in a filter: the server's `allowed_values` per filter. */
export interface AllowedValues {
  workPackage(id: number): boolean;
  project(id: string): boolean;
  type(id: string): boolean;
  status(id: string): boolean;
}

const FILTER_LABEL: Partial<Record<FilterName, string>> = { id: 'ID', project: 'Project', type: 'Type', status: 'Status' };

/**
 * A value the user may not name makes the whole query invalid (400 InvalidQuery), never an
 * empty or partial answer: `id` validates through HugeList
 * (app/models/queries/filters/strategies/huge_list.rb: `allowed_and_desired_values.sort !=
 * unique_values.sort` → `errors.add(:values, :inclusion)`), `project` / `type` / `status`
 * through List (strategies/list.rb `non_valid_values?`; project_filter.rb allows only
 * `Project.visible.active`, so an archived project is refused too).
 */
export function checkFilterValues(filters: Filter[], allowed: AllowedValues): void {
  for (const f of filters) {
    if (f.operator !== '=' && f.operator !== '!') continue;
    const ok =
      f.name === 'id'
        ? (v: string): boolean => allowed.workPackage(Number(v))
        : f.name === 'project' || f.name === 'type' || f.name === 'status'
          ? (v: string): boolean => allowed[f.name as 'project' | 'type' | 'status'](v)
          : null;
    if (ok && !f.values.every(ok)) throw new QueryError('InvalidQuery', `${FILTER_LABEL[f.name]} filter has invalid values.`);
  }
}
