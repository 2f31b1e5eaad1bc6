// The pure planner, table by table: ownership, collisions, hand-written files, journal
// orphans, deletions and the brake.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planSync, previousInScope, type DesiredFile, type PlanInput, type PreviousEntry } from '../../src/plan/plan.js';
import { countPlan } from '../../src/plan/types.js';

const d = (id: number, p: string, sha: string, source = 's'): DesiredFile => ({ path: p, source, workPackageId: id, binary: !p.endsWith('.md'), sha256: sha, content: { kind: 'staged', name: `${id}-${sha}` } });
const prev = (entries: Record<number, Record<string, string>>, source = 's'): Map<number, PreviousEntry> => new Map(Object.entries(entries).map(([id, files]) => [Number(id), { source, files }]));

function plan(over: Partial<PlanInput>): ReturnType<typeof planSync> {
  return planSync({ desired: [], previous: new Map(), keep: new Set(), gone: new Set(), orphans: new Map(), current: new Map(), deleteThreshold: 0.2, allowMassDelete: false, ...over });
}
const actions = (r: ReturnType<typeof planSync>): Record<string, string> => Object.fromEntries(r.plan.files.map((f) => [f.path, f.action]));

describe('planSync', () => {
  it('creates, updates and leaves unchanged by hash; kept files stay untouched', () => {
    const r = plan({
      desired: [d(1, 'a.md', 'A2'), d(2, 'b.md', 'B'), d(3, 'c.md', 'C')],
      previous: prev({ 1: { 'a.md': 'A1' }, 2: { 'b.md': 'B' }, 4: { 'k.md': 'K' } }),
      keep: new Set([4]),
      current: new Map([['a.md', 'A1'], ['b.md', 'B'], ['c.md', null]]),
    });
    expect(actions(r)).toEqual({ 'a.md': 'update', 'b.md': 'unchanged', 'c.md': 'create', 'k.md': 'unchanged' });
    expect(r.failures).toEqual([]);
  });

  it('two work packages on one path: the lower id keeps it whichever changed, the other fails and keeps its other files', () => {
    // #7 is kept (unchanged) and owns x.md; #3, re-mapped, now wants x.md too.
    const r = plan({
      desired: [d(3, 'x.md', 'X3')],
      previous: prev({ 7: { 'x.md': 'X7', 'x7.png': 'P' }, 3: { 'old3.md': 'O' } }),
      keep: new Set([7]),
      current: new Map([['x.md', 'X7'], ['old3.md', 'O']]),
    });
    expect(actions(r)).toEqual({ 'x.md': 'update', 'x7.png': 'unchanged', 'old3.md': 'delete' });
    expect(r.failures.map((f) => f.workPackageId)).toEqual([7]);
    expect(r.released.get(7)).toEqual(['x.md']);
    // And the other way round: the higher id re-mapped onto a kept lower id's path fails.
    const r2 = plan({
      desired: [d(9, 'x.md', 'X9')],
      previous: prev({ 2: { 'x.md': 'X2' }, 9: { 'nine.md': 'N' } }),
      keep: new Set([2]),
      current: new Map([['x.md', 'X2'], ['nine.md', 'N']]),
    });
    expect(actions(r2)).toEqual({ 'x.md': 'unchanged', 'nine.md': 'unchanged' });
    expect(r2.failures.map((f) => f.workPackageId)).toEqual([9]);
    expect(r2.failed.has(9)).toBe(true);
  });

  it('a blocked path (a folder where the file belongs, a file where its folder belongs): the work package that wants it fails naming it; its other files stay; nothing blocked is deleted (issue 19 #8)', () => {
    const r = plan({
      desired: [d(1, 'a/page.md', 'A2'), d(1, 'a/img.png', 'I'), d(2, 'b.md', 'B2')],
      previous: prev({ 1: { 'a/page.md': 'A1', 'a/img.png': 'I' }, 2: { 'b.md': 'B1' }, 3: { 'c/old.md': 'C' } }),
      gone: new Set([3]),
      current: new Map([['a/img.png', 'I'], ['b.md', 'B1']]),
      blocked: new Map([['a/page.md', 'a folder stands there, not a file'], ['c/old.md', 'c is a file where a folder belongs']]),
    });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ workPackageId: 1, source: 's' });
    expect(r.failures[0]!.message).toMatch(/^work package #1 maps to a\/page\.md, but a folder stands there, not a file;/);
    // #1's last good files are kept (its old page path is claimed, not written); #2 updates; #3's blocked path is not deleted.
    expect(actions(r)).toEqual({ 'a/img.png': 'unchanged', 'a/page.md': 'unchanged', 'b.md': 'update' });
  });

  it('collisions are decided the same whatever order the desired files come in', () => {
    const files = [d(5, 'same.md', 'F5'), d(2, 'same.md', 'F2'), d(9, 'same.md', 'F9')];
    const a = plan({ desired: files, current: new Map([['same.md', null]]) });
    const b = plan({ desired: [...files].reverse(), current: new Map([['same.md', null]]) });
    expect(a.plan).toEqual(b.plan);
    expect(a.plan.files[0]).toMatchObject({ workPackageId: 2, action: 'create' });
    expect(a.failures.map((f) => f.workPackageId).sort()).toEqual([5, 9]);
  });

  it('a chain of collisions is decided the same whatever order the desired files come in: the lowest id\'s claims first', () => {
    // #2 wants p and q; #1 wants q; #3 wants p. #2 loses q to #1 and fails, so it writes
    // nothing, and p is #3's. Deciding p first (#3 loses to #2, which then fails anyway)
    // would fail #3 for a path nobody writes: which one came first depended on the order in
    // which the work packages were mapped, that is on the network.
    const files = [d(3, 'p.md', 'P3'), d(2, 'p.md', 'P2'), d(2, 'q.md', 'Q2'), d(1, 'q.md', 'Q1')];
    const orders = [files, [...files].reverse(), [files[1]!, files[0]!, files[3]!, files[2]!]];
    for (const desired of orders) {
      const r = plan({ desired, current: new Map() });
      expect(r.failures.map((f) => f.workPackageId)).toEqual([2]);
      expect(r.plan.files.map((f) => [f.path, f.workPackageId, f.action])).toEqual([['p.md', 3, 'create'], ['q.md', 1, 'create']]);
    }
  });

  it('never overwrites a file no manifest owns, unless it already holds the same bytes or the journal says curate wrote it', () => {
    const hand = plan({ desired: [d(1, 'p.md', 'NEW'), d(1, 'p.png', 'IMG')], current: new Map([['p.md', 'HAND'], ['p.png', null]]) });
    expect(hand.plan.files).toEqual([]);
    expect(hand.failures[0]!.message).toMatch(/p\.md.*does not own/);
    const same = plan({ desired: [d(1, 'p.md', 'NEW')], current: new Map([['p.md', 'NEW']]) });
    expect(actions(same)).toEqual({ 'p.md': 'unchanged' });
    const journaled = plan({ desired: [d(1, 'p.md', 'NEW')], orphans: new Map([['p.md', 'OLDRUN']]), current: new Map([['p.md', 'OLDRUN']]) });
    expect(actions(journaled)).toEqual({ 'p.md': 'update' });
    // A journaled file edited by hand since is not curate's any more.
    const edited = plan({ desired: [d(1, 'p.md', 'NEW')], orphans: new Map([['p.md', 'OLDRUN']]), current: new Map([['p.md', 'EDITED']]) });
    expect(edited.failures).toHaveLength(1);
  });

  it('deletes journal orphans nobody wants, only while they hold the journaled bytes', () => {
    const r = plan({ orphans: new Map([['o1.md', 'A'], ['o2.md', 'B'], ['o3.md', 'C']]), current: new Map([['o1.md', 'A'], ['o2.md', 'changed'], ['o3.md', null]]) });
    expect(actions(r)).toEqual({ 'o1.md': 'delete' });
  });

  it('a targeted run (keepOrphans) deletes no journal orphan, but still writes over one it wants', () => {
    const orphans = new Map([['o1.md', 'A'], ['p.md', 'OLDRUN']]);
    const current = new Map([['o1.md', 'A'], ['p.md', 'OLDRUN']]);
    const r = plan({ desired: [d(1, 'p.md', 'NEW')], orphans, current, keepOrphans: true });
    expect(actions(r)).toEqual({ 'p.md': 'update' });
    expect(r.failures).toEqual([]);
  });

  it('shows a moved markdown as a rename; the brake counts only files of gone work packages', () => {
    const previous = prev(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, { [`old-${i + 1}.md`]: `H${i + 1}` }])));
    const current = new Map<string, string | null>([...previous].map(([id]) => [`old-${id}.md`, `H${id}`]));
    // Every work package renamed: ten deletions, none real.
    const renamed = plan({ desired: [...previous.keys()].map((id) => d(id, `new-${id}.md`, `H${id}`)), previous, current });
    expect(renamed.brake).toBeNull();
    expect(renamed.plan.files.filter((f) => f.renamedFrom)).toHaveLength(10);
    // Three of ten gone: above 20 %.
    const gone = plan({ previous, current, keep: new Set([4, 5, 6, 7, 8, 9, 10]), gone: new Set([1, 2, 3]) });
    expect(gone.realDeletions).toBe(3);
    expect(gone.brake).toMatch(/3 of 10/);
    expect(plan({ previous, current, keep: new Set([4, 5, 6, 7, 8, 9, 10]), gone: new Set([1, 2, 3]), allowMassDelete: true }).brake).toBeNull();
  });

  it('a failed work package keeps its last good files (no deletion), and a file lost on disk of a mapped one is not "deleted"', () => {
    const r = plan({ previous: prev({ 1: { 'a.md': 'A', 'a.png': 'P' } }), keep: new Set([1]), current: new Map() });
    expect(actions(r)).toEqual({ 'a.md': 'unchanged', 'a.png': 'unchanged' });
    const lost = plan({ desired: [d(1, 'a.md', 'A')], previous: prev({ 1: { 'a.md': 'A', 'gone.png': 'G' } }), current: new Map([['a.md', 'A'], ['gone.png', null]]) });
    expect(actions(lost)).toEqual({ 'a.md': 'unchanged' });
  });

  it('refuses to plan a write without bytes (an unchanged attachment that is not on disk must be fetched first)', () => {
    expect(() => plan({ desired: [{ ...d(1, 'a.png', 'P'), content: null }], current: new Map([['a.png', null]]) })).toThrow(/no bytes/);
  });
});

describe('planning only what a run can touch (issue 22)', () => {
  // Whatever the outcomes, collisions, hand-written files and orphans: the plan over the
  // entries in scope is the plan over all of them, less the unchanged files of work
  // packages nothing touched, which it counts instead.
  const PATHS = ['a.md', 'b.md', 'c.md', 'd.png', 'e.md', 'f.png', 'g.md', 'h.md'];
  const world = fc
    .record({
      owner: fc.array(fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }), { minLength: PATHS.length, maxLength: PATHS.length }),
      outcome: fc.array(fc.constantFrom('mapped', 'kept', 'gone', 'failed'), { minLength: 6, maxLength: 6 }),
      wants: fc.array(fc.subarray(PATHS, { maxLength: 3 }), { minLength: 6, maxLength: 6 }),
      disk: fc.array(fc.constantFrom('old', 'new', 'other', null), { minLength: PATHS.length, maxLength: PATHS.length }),
      orphans: fc.subarray(PATHS),
      sources: fc.array(fc.constantFrom('s', 't'), { minLength: 6, maxLength: 6 }),
    })
    .map((w) => {
      const previous = new Map<number, PreviousEntry & { files: Record<string, string> }>();
      PATHS.forEach((p, i) => {
        const id = w.owner[i];
        if (id === undefined) return;
        if (!previous.has(id)) previous.set(id, { source: w.sources[id - 1]!, files: {} });
        previous.get(id)!.files[p] = `old:${p}`;
      });
      const outcome = (id: number): string => w.outcome[id - 1]!;
      const desired = [1, 2, 3, 4, 5, 6].filter((id) => outcome(id) === 'mapped').flatMap((id) => w.wants[id - 1]!.map((p) => d(id, p, `new:${p}`, w.sources[id - 1])));
      const current = new Map(PATHS.map((p, i) => [p, w.disk[i] === null ? null : `${w.disk[i]}:${p}`]));
      const owned = new Set([...previous.values()].flatMap((e) => Object.keys(e.files)));
      const orphans = new Map(w.orphans.filter((p) => !owned.has(p)).map((p) => [p, `other:${p}`]));
      const keeps = (id: number): boolean => outcome(id) === 'kept' || outcome(id) === 'failed';
      const gone = new Set([...previous.keys()].filter((id) => outcome(id) === 'gone'));
      return { previous, desired, current, orphans, keeps, gone };
    });

  it('gives the same changes, failures, releases and brake, and the same counts', () => {
    fc.assert(
      fc.property(world, fc.boolean(), ({ previous, desired, current, orphans, keeps, gone }, strict) => {
        const base = { desired, gone, orphans, current, deleteThreshold: strict ? 0.01 : 0.9, allowMassDelete: false };
        const full = planSync({ ...base, previous, keep: new Set([...previous.keys()].filter(keeps)) });
        const ownerOf = (p: string): number | undefined => [...previous].find(([, e]) => p in e.files)?.[0];
        const scope = previousInScope(previous.entries(), desired.map((f) => f.path), keeps, ownerOf, (id) => previous.get(id));
        const scoped = planSync({ ...base, previous: scope.previous, ownedBefore: scope.ownedBefore, keep: new Set([...scope.previous.keys()].filter(keeps)) });
        const untouched = (f: { action: string; workPackageId: number }): boolean => f.action === 'unchanged' && keeps(f.workPackageId) && !scope.previous.has(f.workPackageId);
        expect(scoped.plan.files).toEqual(full.plan.files.filter((f) => !untouched(f)));
        expect(countPlan(scoped.plan.files, scope.unlisted)).toEqual(countPlan(full.plan.files));
        for (const src of ['s', 't']) expect(countPlan(scoped.plan.files.filter((f) => f.source === src), scope.unlisted, src)).toEqual(countPlan(full.plan.files.filter((f) => f.source === src)));
        expect(scoped.failures).toEqual(full.failures);
        expect(scoped.released).toEqual(full.released);
        expect([scoped.brake, scoped.realDeletions, scoped.ownedBefore]).toEqual([full.brake, full.realDeletions, full.ownedBefore]);
      }),
      { numRuns: 2000 },
    );
  });
});
