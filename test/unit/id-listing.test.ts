// listingOf (src/openproject/client.ts): a listing's ids ascend whatever order its pages
// filled the set in; the set itself is handed over only when it already ascends.
import { describe, expect, it } from 'vitest';
import { listingOf } from '../../src/openproject/client.js';

describe('listingOf', () => {
  it('hands over a set that ascends, with its ids in that order', () => {
    const ids = new Set([3, 5, 8, 1000, 1001]);
    const l = listingOf(ids);
    expect(l.ids).toEqual([3, 5, 8, 1000, 1001]);
    expect(l.idSet).toBe(ids);
  });

  it('sorts a set filled out of order (numerically, not as text), and keeps it to itself', () => {
    const l = listingOf(new Set([1001, 3, 200, 5]));
    expect(l.ids).toEqual([3, 5, 200, 1001]);
    expect(l.idSet).toBeUndefined();
  });

  it('an empty listing', () => {
    expect(listingOf(new Set()).ids).toEqual([]);
  });
});
