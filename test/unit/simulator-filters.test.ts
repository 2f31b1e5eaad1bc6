// The simulator's query language, without HTTP: parsing, validation, predicates, sort, select.
import { describe, expect, it } from 'vitest';
import { QueryError, compileFilters, parseFilters, parseInstant, parseSelect, parseSortBy, sortWorkPackages } from '../../src/simulator/filters.js';
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
    expect(run([{ updatedAt: { operator: '<=', values: ['2021-01-01T00:00:00Z'] } }], list)).toEqual([2]);
    expect(run([{ updatedAt: { operator: '=d', values: ['2021-01-02'] } }], list)).toEqual([3]);
    expect(run([{ updatedAt: { operator: '>=', values: ['2021-01-02T12:00:00.500Z'] } }], list)).toEqual([3, 4]);
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
