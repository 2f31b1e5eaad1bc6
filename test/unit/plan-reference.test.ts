// The planner over column tables (src/plan/plan.ts: rows sorted by path instead of a map of
// every path, paths kept as folder and name) plans exactly as the planner it replaced
// (test/helpers/reference-planner.ts): generated worlds with nested folders and paths that
// order around '/', collisions, kept and failed work packages, paths owned twice (a
// hand-edited state), blocked paths, orphans and a work package wanting one path twice.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { planSync, type DesiredFile, type PreviousEntry } from '../../src/plan/plan.js';
import { planSync as oldPlan } from '../helpers/reference-planner.js';

const PATHS = ['a.md', 'a/b.md', 'a/b/c.png', 'a-b/c.md', 'a/b.png', 'a b/x.md', 'b.md', 'a/c.md', 'é/a.md', 'a/b/d/e.md'];
const d = (id: number, p: string, sha: string, source = 's'): DesiredFile => ({ path: p, source, workPackageId: id, binary: !p.endsWith('.md'), sha256: sha, content: { kind: 'staged', name: `a${id}` } });
const world = fc
  .record({
    owner: fc.array(fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }), { minLength: PATHS.length, maxLength: PATHS.length }),
    owner2: fc.array(fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined, freq: 2 }), { minLength: PATHS.length, maxLength: PATHS.length }),
    outcome: fc.array(fc.constantFrom('mapped', 'kept', 'gone', 'failed'), { minLength: 7, maxLength: 7 }),
    wants: fc.array(fc.subarray(PATHS, { maxLength: 4 }), { minLength: 7, maxLength: 7 }),
    dup: fc.boolean(),
    disk: fc.array(fc.constantFrom('old', 'new', 'other', null), { minLength: PATHS.length, maxLength: PATHS.length }),
    blocked: fc.subarray(PATHS, { maxLength: 2 }),
    orphans: fc.subarray(PATHS),
    sources: fc.array(fc.constantFrom('s', 't'), { minLength: 7, maxLength: 7 }),
    order: fc.array(fc.integer(), { minLength: 7, maxLength: 7 }),
  })
  .map((w) => {
    const previous = new Map<number, PreviousEntry>();
    PATHS.forEach((p, i) => {
      const id2 = w.owner2[i];
      if (id2 !== undefined) {
        if (!previous.has(id2)) previous.set(id2, { source: w.sources[id2 - 1]!, files: {} });
        (previous.get(id2)!.files as Record<string, string>)[p] = `old2:${p}`;
      }
      const id = w.owner[i];
      if (id === undefined) return;
      if (!previous.has(id)) previous.set(id, { source: w.sources[id - 1]!, files: {} });
      (previous.get(id)!.files as Record<string, string>)[p] = `old:${p}`;
    });
    const outcome = (id: number): string => w.outcome[id - 1]!;
    const ids = [1, 2, 3, 4, 5, 6, 7].sort((x, y) => w.order[x - 1]! - w.order[y - 1]!);
    const desired = ids.filter((id) => outcome(id) === 'mapped').flatMap((id) => w.wants[id - 1]!.map((p) => d(id, p, `new:${p}`, w.sources[id - 1])));
    if (w.dup && desired.length) desired.push({ ...desired[0]!, sha256: 'dup' });
    const current = new Map(PATHS.map((p, i) => [p, w.disk[i] === null ? null : `${w.disk[i]}:${p}`]));
    const owned = new Set([...previous.values()].flatMap((e) => Object.keys(e.files)));
    const orphans = new Map(w.orphans.filter((p) => !owned.has(p)).map((p) => [p, `other:${p}`]));
    const keep = new Set([...previous.keys()].filter((id) => outcome(id) === 'kept' || outcome(id) === 'failed'));
    const gone = new Set([...previous.keys()].filter((id) => outcome(id) === 'gone'));
    const blocked = new Map(w.blocked.map((p) => [p, 'a folder stands there']));
    return { previous, desired, current, orphans, keep, gone, blocked, deleteThreshold: 0.3, allowMassDelete: false };
  });

it('plans the files, failures, releases, counts and brake the reference planner plans', () => {
  fc.assert(
    fc.property(world, (input) => {
      const a = oldPlan(input as never);
      const b = planSync(input);
      expect(b.plan.files).toEqual(a.plan.files);
      expect(b.failures).toEqual(a.failures);
      expect([...b.failed]).toEqual([...a.failed]);
      expect([...b.released]).toEqual([...a.released]);
      expect([b.realDeletions, b.ownedBefore, b.brake]).toEqual([a.realDeletions, a.ownedBefore, a.brake]);
    }),
    { numRuns: 3000 },
  );
});
