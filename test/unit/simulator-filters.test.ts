// The simulator's query language, without HTTP: parsing, validation, predicates, sort, select.
import { describe, expect, it } from 'vitest';
import { QueryError, checkFilterValues, compileFilters, parseFilters, parseInstant, parseSelect, parseSortBy, sortWorkPackages } from '../../src/simulator/filters.js';
import type { InstanceJson, WorkPackageJson } from '../../src/simulator/types.js';

const instance: InstanceJson = {
  projects: [],
  types: [],
  statuses: [
    { id: 1, isClosed: false },
    { id: 2, isClosed: true },
  ],
  customFields: [],
  schemas: {},
};

const wp = (id: number, status: number, updatedAt: string, extra: Partial<WorkPackageJson> = {}): WorkPackageJson => ({
  id,
  subject: `S${id}`,
  createdAt: '2020-01-01T00:00:00Z',
  updatedAt,
  _links: { status: { href: `/api/v3/statuses/${status}` }, type: { href: '/api/v3/types/3' }, project: { href: null } },
  ...extra,
});

const run = (filters: unknown, list: WorkPackageJson[]): number[] => {
  const test = compileFilters(parseFilters(JSON.stringify(filters)), instance);
  return list.filter(test).map((w) => w.id);
};

const invalid = (raw: string): QueryError => {
  try {
    parseFilters(raw);
  } catch (e) {
    return e as QueryError;
  }
  throw new Error(`accepted ${raw}`);
};

describe('parseInstant', () => {
  it('keeps microseconds and understands 0/3/6 digits, offsets and bare dates', () => {
    expect(parseInstant('2020-04-06T07:22:06.336551Z') - parseInstant('2020-04-06T07:22:06.336Z')).toBe(551);
    expect(parseInstant('2020-04-06T07:22:06Z')).toBe(Date.parse('2020-04-06T07:22:06Z') * 1000);
    expect(parseInstant('2020-04-06T09:22:06+02:00')).toBe(parseInstant('2020-04-06T07:22:06Z'));
    expect(parseInstant('2020-04-06')).toBe(Date.parse('2020-04-06T00:00:00Z') * 1000);
    expect(parseInstant('yesterday')).toBeNaN();
    expect(parseInstant('2020-13-45T00:00:00Z')).toBeNaN();
  });
});

describe('parseFilters', () => {
  it('absent → status open; [] → nothing', () => {
    expect(parseFilters(null)).toEqual([{ name: 'status', operator: 'o', values: [] }]);
    expect(parseFilters('[]')).toEqual([]);
  });

  it('maps snake_case aliases and rejects what the server rejects', () => {
    expect(parseFilters('[{"type_id":{"operator":"=","values":["3"]}}]')).toEqual([{ name: 'type', operator: '=', values: ['3'] }]);
    for (const raw of ['nope', '{}', '[{"a":1,"b":2}]', '[{"subject":{"operator":"=","values":["x"]}}]', '[{"type":{"operator":"c","values":[]}}]', '[{"type":{"operator":"=","values":[]}}]', '[{"type":{"operator":"=","values":["x"]}}]', '[{"updatedAt":{"operator":">=","values":[]}}]', '[{"updatedAt":{"operator":"<>d","values":["a","b","c"]}}]', '[{"id":{"operator":"*","values":[]}}]']) {
      const e = invalid(raw);
      expect(e).toBeInstanceOf(QueryError);
      expect(e.identifier).toBe('InvalidQuery');
    }
  });
});

describe('compileFilters', () => {
  const list = [wp(1, 1, '2021-01-01T00:00:00.000001Z'), wp(2, 2, '2021-01-01T00:00:00Z'), wp(3, 1, '2021-01-02T12:00:00.5Z'), wp(4, 2, '2021-01-03T00:00:00Z')];

  it('status o / c / = / !', () => {
    expect(run([{ status: { operator: 'o', values: [] } }], list)).toEqual([1, 3]);
    expect(run([{ status: { operator: 'c', values: [] } }], list)).toEqual([2, 4]);
    expect(run([{ status: { operator: '!', values: ['1'] } }], list)).toEqual([2, 4]);
  });

  it('null links: * and !*; ! keeps nulls', () => {
    expect(run([{ project: { operator: '!*', values: [] } }], list)).toEqual([1, 2, 3, 4]);
    expect(run([{ project: { operator: '*', values: [] } }], list)).toEqual([]);
    expect(run([{ project: { operator: '!', values: ['1'] } }], list)).toEqual([1, 2, 3, 4]);
  });

  it('datetime ranges are inclusive, open-ended, microsecond-exact; bare dates cover the whole day', () => {
    expect(run([{ updatedAt: { operator: '<>d', values: ['2021-01-01T00:00:00.000001Z', ''] } }], list)).toEqual([1, 3, 4]);
    expect(run([{ updatedAt: { operator: '<>d', values: ['2021-01-01T00:00:00.000002Z', ''] } }], list)).toEqual([3, 4]);
    expect(run([{ updatedAt: { operator: '<>d', values: ['', '2021-01-02'] } }], list)).toEqual([1, 2, 3]);
    expect(run([{ updatedAt: { operator: '<>d', values: ['', '2021-01-01T00:00:00Z'] } }], list)).toEqual([2]);
    expect(run([{ updatedAt: { operator: '=d', values: ['2021-01-02'] } }], list)).toEqual([3]);
    expect(run([{ updatedAt: { operator: '<>d', values: ['2021-01-02T12:00:00.500Z', ''] } }], list)).toEqual([3, 4]);
  });

  it('updatedAt / createdAt take the DateTimePast operators only (date_time_past.rb); the old >= <= * !* are refused', () => {
    for (const op of ['>=', '<=', '*', '!*']) {
      expect(() => parseFilters(JSON.stringify([{ updatedAt: { operator: op, values: op.length === 2 && op !== '!*' ? ['2021-01-01T00:00:00Z'] : [] } }])), op).toThrow(QueryError);
      expect(() => parseFilters(JSON.stringify([{ createdAt: { operator: op, values: [] } }])), op).toThrow(QueryError);
    }
    // …unless a test asks for the old leniency by name.
    expect(parseFilters('[{"updatedAt":{"operator":">=","values":["2021-01-01T00:00:00Z"]}}]', { lenientDates: true })[0]!.operator).toBe('>=');
    expect(() => parseFilters('[{"updatedAt":{"operator":">t-","values":["x"]}}]')).toThrow(QueryError);
  });

  it('relative days count from the server clock: >t- (less than n days ago), <t-, t-, t, w', () => {
    const now = new Date('2021-01-03T10:00:00Z'); // a Sunday
    const at = (f: unknown): number[] => {
      const test = compileFilters(parseFilters(JSON.stringify([f])), instance, { now });
      return list.filter(test).map((w) => w.id);
    };
    expect(at({ updatedAt: { operator: '>t-', values: ['1'] } })).toEqual(list.filter((w) => w.updatedAt >= '2021-01-02').map((w) => w.id));
    expect(at({ updatedAt: { operator: '<t-', values: ['2'] } })).toEqual(list.filter((w) => w.updatedAt < '2021-01-02').map((w) => w.id));
    expect(at({ updatedAt: { operator: 't-', values: ['1'] } })).toEqual(list.filter((w) => w.updatedAt.startsWith('2021-01-02')).map((w) => w.id));
    expect(at({ updatedAt: { operator: 't', values: [] } })).toEqual(list.filter((w) => w.updatedAt.startsWith('2021-01-03')).map((w) => w.id));
    expect(at({ updatedAt: { operator: 'w', values: [] } })).toEqual(list.filter((w) => w.updatedAt >= '2020-12-28' && w.updatedAt < '2021-01-04').map((w) => w.id));
  });
});

describe('sort and select', () => {
  it('sorts by several keys with id as the final tie-break', () => {
    const list = [wp(3, 1, '2021-01-01T00:00:00Z'), wp(1, 1, '2021-01-01T00:00:00.5Z'), wp(2, 1, '2021-01-01T00:00:00Z')];
    expect(sortWorkPackages([...list], parseSortBy('[["updatedAt","asc"]]')).map((w) => w.id)).toEqual([2, 3, 1]);
    expect(sortWorkPackages([...list], parseSortBy('[["updatedAt","desc"],["id","desc"]]')).map((w) => w.id)).toEqual([1, 3, 2]);
    expect(parseSortBy(null)).toEqual([['id', 'asc']]);
    expect(() => parseSortBy('[["id","up"]]')).toThrow(QueryError);
    expect(() => parseSortBy('[["customField1","asc"]]')).toThrow(QueryError);
  });

  it('select accepts the SQL-renderable keys only', () => {
    expect([...parseSelect('total,elements/id')!]).toEqual(['total', 'elements/id']);
    expect(parseSelect(null)).toBeNull();
    try {
      parseSelect('total,elements/updatedAt');
      throw new Error('accepted');
    } catch (e) {
      expect((e as QueryError).identifier).toBe('InvalidSignal');
      expect((e as Error).message).toContain('elements/updatedAt');
    }
  });
});

describe('strict filter values (huge_list.rb, list.rb)', () => {
  const allowed = { workPackage: (id: number) => id === 1 || id === 2, project: (id: string) => id === '5', type: (id: string) => id === '3', status: (id: string) => id === '1' };
  it('an id, project, type or status the user may not name is 400 InvalidQuery for the whole query', () => {
    expect(() => checkFilterValues(parseFilters('[{"id":{"operator":"=","values":["1","2"]}}]'), allowed)).not.toThrow();
    for (const raw of ['[{"id":{"operator":"=","values":["1","99"]}}]', '[{"id":{"operator":"!","values":["99"]}}]', '[{"project":{"operator":"=","values":["6"]}}]', '[{"type":{"operator":"=","values":["4"]}}]', '[{"status":{"operator":"=","values":["1","2"]}}]']) {
      let err: unknown = null;
      try {
        checkFilterValues(parseFilters(raw), allowed);
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(QueryError);
      expect((err as QueryError).identifier).toBe('InvalidQuery');
    }
    // Operators without values (o, c, *) have nothing to validate.
    expect(() => checkFilterValues(parseFilters('[{"status":{"operator":"c","values":[]}}]'), allowed)).not.toThrow();
  });

  it('a project filter matches the projects its scope names (the project and, with subprojects, its descendants)', () => {
    const inProject = (id: number, p: number): WorkPackageJson => wp(id, 1, '2021-01-01T00:00:00Z', { _links: { status: { href: '/api/v3/statuses/1' }, project: { href: `/api/v3/projects/${p}` } } });
    const list = [inProject(1, 5), inProject(2, 6), inProject(3, 7)];
    const scope = (id: string): string[] => (id === '5' ? ['5', '6'] : [id]);
    const test = compileFilters(parseFilters('[{"project":{"operator":"=","values":["5"]}}]'), instance, { projectScope: scope });
    expect(list.filter(test).map((w) => w.id)).toEqual([1, 2]);
    const not = compileFilters(parseFilters('[{"project":{"operator":"!","values":["5"]}}]'), instance, { projectScope: scope });
    expect(list.filter(not).map((w) => w.id)).toEqual([3]);
  });
});
