// sync/facts.ts: where another work package's shown facts come from, and which pages are
// mapped again after the walks (issue 20, defect 10).
import { describe, expect, it } from 'vitest';
import type { ManifestTarget, ManifestWorkPackage } from '../../src/output/manifest.js';
import { FactsBook, PENDING, reconcileFacts, refWithFacts, splitRef, targetsAuditDue, type ReconcileContext } from '../../src/sync/facts.js';
import type { WorkPackage } from '../../src/types.js';

const TYPES = [
  { id: 1, name: 'Task' },
  { id: 2, name: 'Bug' },
];
const STATUSES = [{ id: 1, name: 'New' }];
const row = (id: number, subject: string, type = 1): WorkPackage =>
  ({ id, subject, type: { id: type, name: `link title ${type}` }, status: { id: 1, name: 'New' }, project: { id: 1, name: 'p' } }) as unknown as WorkPackage;
const book = (o: { stored?: Record<string, ManifestTarget | null>; synced?: number[]; auditDue?: boolean } = {}): FactsBook =>
  new FactsBook({ stored: o.stored, storedReadAt: undefined, types: TYPES, statuses: STATUSES, isSynced: (id) => (o.synced ?? []).includes(id), auditDue: o.auditDue ?? false });
const nothing = async function* (): AsyncIterable<WorkPackage[]> {};

describe('refs keys', () => {
  it('carry the source part and the facts digest; a key without facts is as before', () => {
    expect(splitRef(refWithFacts('news@abc', 'd1'))).toEqual({ ref: 'news@abc', digest: 'd1' });
    expect(splitRef(refWithFacts(null, '-'))).toEqual({ ref: null, digest: '-' });
    expect(splitRef('news@abc')).toEqual({ ref: 'news@abc', digest: undefined });
    expect(splitRef(null)).toEqual({ ref: null, digest: undefined });
  });
});

describe('FactsBook', () => {
  it('answers from rows received, with type and status names from the lists read this run', () => {
    const b = book();
    expect(b.answer(5).digest).toBe(PENDING);
    b.saw(row(5, 'Five', 2));
    expect(b.answer(5).facts).toEqual({ subject: 'Five', type: 'Bug', status: 'New' });
  });
  it('uses the stored record of a synced target only while it is synced, of an outside one only until the audit', () => {
    const stored = { '5': { subject: 'Five', type: 1, status: 1 }, '6': { subject: 'Six', type: 2, status: 1, outside: true as const }, '7': null };
    expect(book({ stored, synced: [5] }).answer(5).facts).toEqual({ subject: 'Five', type: 'Task', status: 'New' });
    expect(book({ stored, synced: [] }).answer(5).digest).toBe(PENDING); // left every source: read again
    expect(book({ stored }).answer(6).facts).toEqual({ subject: 'Six', type: 'Bug', status: 'New' });
    expect(book({ stored }).answer(7)).toEqual({ facts: null, digest: '-' });
    expect(book({ stored, synced: [6] }).answer(6).digest).toBe(PENDING); // now synced: its row comes
    expect(book({ stored, auditDue: true }).answer(6).digest).toBe(PENDING);
    expect(book({ stored, auditDue: true }).answer(7).digest).toBe(PENDING);
  });
  it('reads what it does not know in bulk, 100 ids a request; ids not returned are not visible', async () => {
    const b = book();
    const asked: number[][] = [];
    const ids = Array.from({ length: 250 }, (_, i) => i + 1);
    const err = await b.settle(ids, async function* (chunk) {
      asked.push(chunk);
      yield chunk.filter((id) => id % 2 === 0).map((id) => row(id, `S${id}`));
    }, () => false);
    expect(err).toBeNull();
    expect(asked.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(b.answer(2).facts?.subject).toBe('S2');
    expect(b.answer(3).facts).toBeNull();
    const rec = b.record([2, 3], '2026-01-01T00:00:00.000Z');
    expect(rec.targets).toEqual({ '2': { subject: 'S2', type: 1, status: 1, outside: true }, '3': null });
    expect(rec.readAt).toBe('2026-01-01T00:00:00.000Z');
  });
  it('at the audit, ids not visible last time are asked one by one, the others in bulk (a strict id filter refuses a whole chunk for one)', async () => {
    const stored = { '6': { subject: 'Six', type: 2, status: 1, outside: true as const }, '7': null, '8': null };
    const b = book({ stored, auditDue: true });
    const bulk: number[][] = [];
    const one: number[] = [];
    await b.settle([6, 7, 8], async function* (chunk) {
      bulk.push(chunk);
      yield [row(6, 'Six again', 2)];
    }, () => false, async (id) => {
      one.push(id);
      return id === 8 ? row(8, 'Visible now') : null;
    });
    expect(bulk).toEqual([[6]]);
    expect(one.sort()).toEqual([7, 8]);
    expect([b.answer(6).facts?.subject, b.answer(7).facts, b.answer(8).facts?.subject]).toEqual(['Six again', null, 'Visible now']);
  });
  it('audit due: never read, the interval passed, the clock set back, or --full', () => {
    expect(targetsAuditDue(undefined, 0, 10, false)).toBe(true);
    expect(targetsAuditDue('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:05Z'), 10_000, false)).toBe(false);
    expect(targetsAuditDue('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:05Z'), 10_000, true)).toBe(true);
    expect(targetsAuditDue('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:15Z'), 10_000, false)).toBe(true);
    expect(targetsAuditDue('2026-01-02T00:00:00Z', Date.parse('2026-01-01T00:00:00Z'), 10_000, false)).toBe(true);
  });
});

describe('reconcileFacts', () => {
  const entry = (refs: Record<string, string | null>): ManifestWorkPackage => ({ source: 'a', updatedAt: '', lockVersion: 0, files: {}, attachments: {}, refs });
  const ctxOf = (b: FactsBook, pages: Map<number, ManifestWorkPackage>, over: Partial<ReconcileContext> = {}): ReconcileContext & { remapped: number[][]; failed: number[] } => {
    const remapped: number[][] = [];
    const failed: number[] = [];
    return {
      facts: b,
      mapped: () => pages,
      kept: () => [],
      refOf: () => null,
      read: nothing,
      remap: async (ids) => {
        remapped.push(ids);
        // Mapping again records what the book answers now.
        for (const id of ids) pages.set(id, entry(Object.fromEntries(Object.keys(pages.get(id)!.refs!).map((t) => [t, refWithFacts(null, b.answer(Number(t)).digest)]))));
      },
      fail: (id) => failed.push(id),
      isAborted: () => false,
      ...over,
      remapped,
      failed,
    };
  };

  it('maps again a page mapped before its target\'s row arrived, once, and not one that showed the final facts', async () => {
    const b = book({ synced: [5] });
    const early = entry({ '5': refWithFacts(null, b.answer(5).digest) }); // PENDING
    b.saw(row(5, 'Five'));
    const late = entry({ '5': refWithFacts(null, b.answer(5).digest) });
    const ctx = ctxOf(b, new Map([[1, early], [2, late]]));
    expect(await reconcileFacts(ctx)).toBe(1);
    expect(ctx.remapped).toEqual([[1]]);
  });
  it('a target whose read fails: its pages fail as items (retried), nothing is mapped again', async () => {
    const b = book();
    const page = entry({ '9': refWithFacts(null, PENDING) });
    const ctx = ctxOf(b, new Map([[1, page]]), {
      read: async function* (): AsyncIterable<WorkPackage[]> {
        yield await Promise.reject(new Error('503'));
      },
    });
    expect(await reconcileFacts(ctx)).toBe(0);
    expect(ctx.failed).toEqual([1]);
    expect(b.record([9], 'x').targets).toBeUndefined();
  });
});
