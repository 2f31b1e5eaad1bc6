// Membership as the listings fill it: each source's ids are added as its listing arrives,
// in whatever order the listings finish, and an overlap still names its sources in config
// order (the first is the one its item error is recorded under).
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/sync/ledger.js';
import { Membership } from '../../src/sync/membership.js';
import { PreviousState } from '../../src/sync/previous-state.js';

const ORDER = ['a', 'b', 'c', 'd'];

/** Every order of the items (4! = 24 for the sources here). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('Membership', () => {
  const listings: Record<string, number[]> = { a: [1, 2, 3], b: [3, 4], c: [3, 4, 5], d: [6] };

  it('lists an overlap in config order whatever order the sources are added in', () => {
    for (const order of permutations(ORDER)) {
      const m = new Membership(undefined, ORDER);
      for (const name of order) m.add(name, listings[name]!);
      expect(m.sourcesOf(3), order.join('')).toEqual(['a', 'b', 'c']);
      expect(m.sourcesOf(4), order.join('')).toEqual(['b', 'c']);
      expect(m.sourceOf(3)).toBeUndefined();
      expect(m.sourceOf(5)).toBe('c');
      expect(m.size).toBe(6);
    }
  });

  it('records each overlap under its first source in config order', () => {
    const m = new Membership(undefined, ORDER);
    for (const name of ['c', 'b', 'd', 'a']) m.add(name, listings[name]!);
    const ledger = new Ledger(new PreviousState(null), () => undefined);
    const overlapping = m.recordOverlaps(ledger);
    expect([...overlapping].sort()).toEqual([3, 4]);
    expect(ledger.errors.map((e) => [e.workPackageId, e.source, e.kind])).toEqual([
      [3, 'a', 'overlap'],
      [4, 'b', 'overlap'],
    ]);
    expect(ledger.errors[0]!.message).toContain('sources "a" and "b" and "c"');
  });

  it('puts a source the order does not name after those it names', () => {
    const m = new Membership(undefined, ['a', 'b']);
    m.add('x', [1]);
    m.add('b', [1]);
    m.add('a', [1]);
    expect(m.sourcesOf(1)).toEqual(['a', 'b', 'x']);
  });
});
