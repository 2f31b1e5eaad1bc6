// The plan's column stores (plan/desired.ts, plan/planned.ts): a file read back is the file
// put in, whatever its sha256 looks like, across growth and in-place filtering; a planned
// list reads, sorts and finds what an array of objects would.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DesiredTable, type DesiredFile } from '../../src/plan/desired.js';
import { filesOf, listOf, planOf, PlannedTable } from '../../src/plan/planned.js';
import { byPath } from '../../src/plan/plan.js';
import { countFiles, countPlan, type NewContent, type PlannedFile } from '../../src/plan/types.js';

const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
// Not a sha256 as hex: upper case, short, empty, a tester's own labels.
const odd = fc.oneof(fc.constantFrom('', 'h1', 'abc'), hex.map((h) => h.toUpperCase()), hex.map((h) => h.slice(1)));
const content: fc.Arbitrary<NewContent | null> = fc.oneof(
  fc.constant(null),
  fc.string({ minLength: 1, maxLength: 6 }).map((name) => ({ kind: 'staged' as const, name })),
  // Staging's own names (a letter and a counter) are kept as numbers: these and their near misses.
  fc
    .oneof(fc.constantFrom('a0', 'a01', 'A1', 'ab1', 'a1.5', 'a4294967295', 'a4294967296', 'a99999999999'), fc.tuple(fc.constantFrom('a', 't'), fc.integer({ min: 1, max: 2 ** 50 })).map(([c, n]) => `${c}${n}`))
    .map((name) => ({ kind: 'staged' as const, name })),
  fc.string({ minLength: 1, maxLength: 12 }).map((from) => ({ kind: 'copy' as const, from })),
);
const desiredFile: fc.Arbitrary<DesiredFile> = fc.record({
  path: fc.string({ minLength: 1, maxLength: 20 }),
  source: fc.constantFrom('s', 't', 'news'),
  workPackageId: fc.integer({ min: 1, max: 2 ** 40 }),
  binary: fc.boolean(),
  sha256: fc.oneof(hex, odd),
  content,
});

describe('DesiredTable', () => {
  it('reads back every file as it was put in, across growth', () => {
    fc.assert(
      fc.property(fc.array(desiredFile, { maxLength: 80 }), (files) => {
        const t = new DesiredTable(2);
        for (const f of files) t.push(f);
        expect(t.length).toBe(files.length);
        expect([...t]).toEqual(files);
      }),
    );
  });

  it('keeps, in place and in order, the rows asked for, with their odd sha256 strings', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(desiredFile, fc.boolean()), { maxLength: 60 }), (rows) => {
        const t = DesiredTable.of(rows.map(([f]) => f));
        t.retain((i) => rows[i]![1]);
        expect([...t]).toEqual(rows.filter(([, keep]) => keep).map(([f]) => f));
        // Rows pushed after a filter land after the kept ones.
        t.push(rows[0]?.[0] ?? { path: 'p', source: 's', workPackageId: 1, binary: false, sha256: 'x', content: null });
        expect(t.at(t.length - 1)).toEqual(rows[0]?.[0] ?? { path: 'p', source: 's', workPackageId: 1, binary: false, sha256: 'x', content: null });
      }),
    );
  });

  it('holds thousands of rows across its sha256 chunks, and filters across them', () => {
    const files: DesiredFile[] = Array.from({ length: 10_000 }, (_, i) => ({
      path: `p/${i}`,
      source: i % 2 ? 's' : 't',
      workPackageId: i + 1,
      binary: i % 3 === 0,
      sha256: i % 7 === 0 ? `odd ${i}` : (i * 2654435761).toString(16).padStart(64, '0').slice(-64),
      content: i % 5 === 0 ? null : { kind: 'staged', name: `a${i + 1}` },
    }));
    const t = new DesiredTable();
    for (const f of files) t.push(f);
    expect([...t]).toEqual(files);
    t.retain((i) => i % 3 !== 1);
    expect([...t]).toEqual(files.filter((_, i) => i % 3 !== 1));
  });

  it('changes a row’s sha256 and content in place, and the object `at` gives is the caller’s own', () => {
    const sha = 'ab'.repeat(32);
    const t = DesiredTable.of([{ path: 'a.png', source: 's', workPackageId: 7, binary: true, sha256: sha, content: null }]);
    const copy = t.at(0);
    copy.sha256 = 'changed';
    expect(t.sha256(0)).toBe(sha);
    expect(t.hasContent(0)).toBe(false);
    t.setContent(0, { kind: 'staged', name: 'a9' });
    t.setSha256(0, 'cd'.repeat(32));
    expect(t.at(0)).toEqual({ path: 'a.png', source: 's', workPackageId: 7, binary: true, sha256: 'cd'.repeat(32), content: { kind: 'staged', name: 'a9' } });
    t.setSha256(0, 'not hex');
    expect(t.sha256(0)).toBe('not hex');
  });
});

describe('DesiredTable paths', () => {
  // Paths over a few characters that order around '/' ('-' and ' ' before it, 'a' after),
  // so that folders nest, share prefixes and sit beside files of their parent.
  const pathArb = fc.array(fc.constantFrom('a', 'b', '/', '-', ' ', 'é'), { minLength: 1, maxLength: 7 }).map((c) => c.join(''));

  it('orders rows as their paths compare, whatever the folders, and reads each path back', () => {
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 40 }), (paths) => {
        const t = DesiredTable.of(paths.map((p, i) => ({ path: p, source: 's', workPackageId: i + 1, binary: false, sha256: 'x', content: null })));
        const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
        paths.forEach((p, i) => expect(t.path(i)).toBe(p));
        for (let i = 0; i < paths.length; i++)
          for (let j = 0; j < paths.length; j++) expect(Math.sign(t.comparePaths(i, j)), `${paths[i]} vs ${paths[j]}`).toBe(cmp(paths[i]!, paths[j]!));
      }),
      { numRuns: 300 },
    );
  });
});

describe('PlannedTable', () => {
  it('lists, counts and finds the files as an array of the same objects sorted by path would', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(desiredFile, fc.constantFrom('create', 'update', 'unchanged'), fc.option(hex, { nil: null }), fc.boolean()), {
          selector: ([f]) => f.path,
          maxLength: 40,
        }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 10 }),
        (rows, deleted) => {
          const desired = DesiredTable.of(rows.map(([f]) => ({ ...f, content: f.content ?? { kind: 'staged', name: 'n' } })));
          const table = new PlannedTable(desired);
          const expected: PlannedFile[] = [];
          rows.forEach(([f, action, old], i) => {
            table.addDesired(i, action as 'create' | 'update' | 'unchanged', old);
            const c = f.content ?? { kind: 'staged' as const, name: 'n' };
            expected.push({ path: f.path, action, source: f.source, workPackageId: f.workPackageId, sha256: f.sha256, oldSha256: old, binary: f.binary, ...(action === 'unchanged' ? {} : { content: c }) } as PlannedFile);
          });
          for (const p of deleted.filter((p) => !rows.some(([f]) => f.path === p))) {
            const del: PlannedFile = { path: p, action: 'delete', source: 's', workPackageId: 3, sha256: null, oldSha256: 'x', binary: true };
            table.addOther(del);
            expected.push({ ...del });
          }
          rows.forEach(([, action, , renamed], i) => {
            if (action === 'create' && renamed) {
              table.setRenamedFrom(i, `old/${i}.md`);
              expected[i]!.renamedFrom = `old/${i}.md`;
            }
          });
          table.sort();
          expected.sort(byPath);
          expect([...table]).toEqual(expected);
          const plan = planOf(table, { s: 2 });
          expect(plan.files).toEqual(expected);
          expect(filesOf(plan)).toBe(table);
          for (const src of [undefined, 's', 't', 'news']) expect(countFiles(table, { s: 2 }, src)).toEqual(countPlan(src === undefined ? expected : expected.filter((f) => f.source === src), { s: 2 }, src));
          expected.forEach((f, i) => {
            expect(table.indexOf(f.path)).toBe(i);
            expect(table.sha256(i)).toBe(f.sha256);
            expect(table.content(i)).toEqual(f.content);
          });
          expect(table.indexOf('\u{10FFFF}not there')).toBe(-1);
          expect([...listOf(expected)]).toEqual(expected);
        },
      ),
    );
  });
});
