// The pure planner, table by table: ownership, collisions, hand-written files, journal
// orphans, deletions and the brake.
import { describe, expect, it } from 'vitest';
import { planSync, type DesiredFile, type PlanInput, type PreviousEntry } from '../../src/plan/plan.js';

const d = (id: number, p: string, sha: string, source = 's'): DesiredFile => ({ path: p, source, workPackageId: id, binary: !p.endsWith('.md'), sha256: sha, content: { kind: 'staged', file: `/staging/${id}-${sha}` } });
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
