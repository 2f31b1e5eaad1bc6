// The Ledger (src/sync/ledger.ts): the one record of what happened to each work package.
import { describe, expect, it } from 'vitest';
import { stableJson, type Manifest, type ManifestWorkPackage } from '../../src/output/manifest.js';
import { summarizeShard } from '../../src/output/shard-summary.js';
import { indexShardText, patchBytes, type ShardPatch } from '../../src/output/shard-text.js';
import { Ledger } from '../../src/sync/ledger.js';
import { rng } from '../../src/simulator/rng.js';
import { PreviousState } from '../../src/sync/previous-state.js';
import type { SyncEvent } from '../../src/sync/events.js';

const entry = (source: string, files: Record<string, string> = {}): ManifestWorkPackage => ({ source, updatedAt: '2026-01-01T00:00:00Z', lockVersion: 1, files, attachments: {} });
const previous: Manifest = {
  version: 5,
  profile: 'medigy',
  sources: {},
  workPackages: { '1': entry('a', { 'a/1.md': 'h1' }), '2': entry('a', { 'a/2.md': 'h2', 'a/2.png': 'p2' }), '3': entry('b', { 'b/3.md': 'h3' }) },
};

function ledger(): { l: Ledger; events: SyncEvent[] } {
  const events: SyncEvent[] = [];
  return { l: new Ledger(new PreviousState({ manifest: previous, shards: null, summaries: null, load: null, torn: null }), (e) => events.push(e)), events };
}

describe('Ledger', () => {
  it('retry and holds answer, after any sequence of outcomes, what every outcome says (random sequences)', () => {
    const random = rng(20261206);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let round = 0; round < 300; round++) {
      const { l } = ledger();
      const ids = [1, 2, 3, 4, 5];
      /** Whether the mapping that counts (the last one not after a failure) was rechecked since (its row changed meanwhile). */
      const recheck = new Map<number, boolean>();
      for (let step = 0; step < 12; step++) {
        const id = pick(ids);
        const source = pick(['a', 'b']);
        const op = pick(['mapped', 'recheck', 'kept', 'gone', 'failed', 'deferred'] as const);
        if (op === 'mapped') {
          if (l.outcome(id)?.kind !== 'failed') recheck.set(id, false);
          l.mapped(source, id, entry(source));
        } else if (op === 'recheck') {
          if (l.outcome(id)?.kind === 'mapped') recheck.set(id, true);
          l.recheck(id);
        }
        else if (op === 'kept' && id <= 3) l.kept(source, id);
        else if (op === 'gone') l.gone(source, id);
        else if (op === 'failed') l.failed({ kind: 'mapping', source, workPackageId: id, message: 'bad' });
        else if (op === 'deferred') l.deferred(source, id);
      }
      for (const source of ['a', 'b']) {
        const outcomes = ids.map((id) => [id, l.outcome(id)] as const).filter(([, o]) => o?.source === source);
        const retried = ([id, o]: (typeof outcomes)[number]): boolean =>
          o!.kind === 'failed' || o!.kind === 'deferred' || (o!.kind === 'mapped' && recheck.get(id) === true);
        expect(l.retry(source)).toEqual(outcomes.filter(retried).map(([id]) => id));
        expect(l.holds(source)).toBe(outcomes.some(([, o]) => o!.kind === 'failed'));
      }
    }
  });

  it('a shard kept whole: each work package kept, one event naming those it decided, none already decided', () => {
    const { l, events } = ledger();
    l.failed({ kind: 'mapping', source: 'a', workPackageId: 2, message: 'bad' });
    events.length = 0;
    l.keptShard('a', 0, [1, 2]);
    expect(l.outcome(1)).toEqual({ kind: 'kept', source: 'a' });
    expect(l.outcome(2)?.kind).toBe('failed');
    expect(events).toEqual([{ type: 'keptShard', source: 'a', shard: 0, ids: [1] }]);
    // Nothing left to decide: no event.
    l.keptShard('a', 0, [1, 2]);
    expect(events).toHaveLength(1);
    // Only what the previous state owns can be kept.
    expect(() => l.keptShard('a', 0, [4])).toThrow(/#4 cannot be kept/);
    // Nor another source's (#3 is b's), and nothing is kept then.
    expect(() => l.keptShard('a', 0, [1, 3])).toThrow(/#3 cannot be kept by "a"/);
    expect(l.outcome(3)).toBeUndefined();
  });

  it('a failure sticks for the run: a later mapped or deferred outcome does not replace it', () => {
    const { l } = ledger();
    l.failed({ kind: 'mapping', source: 'a', workPackageId: 1, message: 'bad' });
    l.mapped('a', 1, entry('a'));
    l.deferred('a', 1);
    expect(l.outcome(1)?.kind).toBe('failed');
    expect(l.retry('a')).toEqual([1]);
    expect(l.holds('a')).toBe(true);
    expect(l.holds('b')).toBe(false);
  });

  it('a failure replaces any earlier outcome (a plan-time collision after mapping)', () => {
    const { l } = ledger();
    l.mapped('a', 2, entry('a'));
    l.failed({ kind: 'collision', source: 'a', workPackageId: 2, message: 'collides' });
    expect(l.outcome(2)?.kind).toBe('failed');
  });

  it('a failure naming no work package holds its source (an element without an id)', () => {
    const { l } = ledger();
    l.failed({ kind: 'payload', source: 'b', message: 'element without id' });
    expect(l.holds('b')).toBe(true);
    expect(l.retry('b')).toEqual([]);
    expect(l.counts().failed).toBe(1);
  });

  it('only a work package with a previous entry can be kept; the first outcome of kept/gone wins', () => {
    const { l } = ledger();
    expect(() => l.kept('a', 99)).toThrow(/no previous entry/);
    l.kept('a', 1);
    l.gone('a', 1);
    expect(l.outcome(1)?.kind).toBe('kept');
  });

  it('deferred is retried but does not hold the watermark and is not an error', () => {
    const { l } = ledger();
    l.deferred('a', 2);
    expect(l.retry('a')).toEqual([2]);
    expect(l.holds('a')).toBe(false);
    expect(l.errors).toEqual([]);
    expect(l.counts()).toMatchObject({ deferred: 1, failed: 0 });
  });

  it('the next manifest: gone entries leave, mapped ones replace, the rest stay, released paths are removed', async () => {
    const { l } = ledger();
    l.gone('b', 3);
    const mapped = entry('a', { 'a/1-new.md': 'n1' });
    l.mapped('a', 1, mapped);
    const next = l.nextEntries(new Map([[2, ['a/2.png']]]));
    expect([...next.dirty]).toEqual([0]);
    expect(next.shards).toEqual([0]);
    expect(await next.entriesOf(0)).toEqual({ '1': mapped, '2': { ...previous.workPackages['2']!, files: { 'a/2.md': 'h2' } } });
  });

  it('nothing recorded: the next manifest is the previous one, unchanged', async () => {
    const { l } = ledger();
    const next = l.nextEntries(new Map());
    expect(next.dirty.size).toBe(0);
    expect(await next.entriesOf(0)).toEqual(previous.workPackages);
  });

  it('counts and events follow the outcomes', () => {
    const { l, events } = ledger();
    l.listed = 3;
    l.mapped('a', 1, entry('a'));
    l.kept('a', 2);
    l.failed({ kind: 'overlap', source: 'b', workPackageId: 3, message: 'two sources' });
    expect(l.counts()).toEqual({ listed: 3, mapped: 1, skipped: 1, failed: 1, deferred: 0 });
    expect(events.map((e) => e.type)).toEqual(['workPackage', 'workPackage', 'itemError']);
    expect(l.ids('mapped')).toEqual(new Set([1]));
  });

  it('an entry mapped and then failed (a collision at plan time) is not the next one: the previous entry stays', async () => {
    const { l } = ledger();
    l.mapped('a', 1, entry('a', { 'a/1-new.md': 'n1' }));
    l.failed({ kind: 'collision', source: 'a', workPackageId: 1, message: 'collides' });
    expect(await l.nextEntries(new Map()).entriesOf(0)).toEqual(previous.workPackages);
    expect([...l.nextOwnedIds(new Set())].sort()).toEqual([1, 2, 3]);
  });

  it('a page mapped twice records its last entry; a file re-downloaded with other bytes is amended in it', async () => {
    const { l } = ledger();
    const first = entry('a', { 'a/1.md': 'x' });
    l.mapped('a', 1, first);
    // The mapper's object is not the one recorded: a change to it after mapping is not seen.
    first.files['a/1.md'] = 'changed after';
    l.mapped('a', 1, entry('a', { 'a/1.md': 'y', 'a/1.png': 'p' }));
    l.amend(1, 'a/1.png', 'p2');
    l.amend(2, 'a/2.md', 'never'); // not mapped: nothing to amend
    const got = (await l.nextEntries(new Map()).entriesOf(0)) as Record<string, ManifestWorkPackage>;
    expect(got['1']!.files).toEqual({ 'a/1.md': 'y', 'a/1.png': 'p2' });
    expect(got['2']).toEqual(previous.workPackages['2']);
  });

  it('mapped entries land in the shard of their id, beside previous ones; only pages with references are listed for facts', async () => {
    const { l } = ledger();
    l.mapped('a', 1001, { ...entry('a', { 'a/1001.md': 'z' }), refs: { '7': 's:f#d' } });
    l.mapped('a', 1002, entry('a', { 'a/1002.md': 'w' }));
    const next = l.nextEntries(new Map());
    expect(next.shards).toEqual([0, 1]);
    expect([...next.dirty]).toEqual([1]);
    expect(Object.keys(await next.entriesOf(1))).toEqual(['1001', '1002']);
    expect([next.fresh(0), next.fresh(1)]).toEqual([0, 2]);
    expect(await next.entriesOf(0)).toEqual(previous.workPackages);
    expect([...l.mappedRefs()]).toEqual([[1001, { refs: { '7': 's:f#d' } }]]);
  });

  it('a shard read as ASCII text is written again by splicing its bytes, to the bytes of the merged entries', async () => {
    const text = stableJson(previous.workPackages);
    const prev = new PreviousState({
      manifest: { ...previous, workPackages: {} },
      shards: new Map([[0, 'd0']]),
      summaries: new Map([[0, summarizeShard(previous.workPackages, text.length)]]),
      load: () => Promise.reject(new Error('read as text only')),
      loadText: async () => ({ index: indexShardText(text)!, reread: () => text, rereadBytes: () => Buffer.from(text), check: () => undefined }),
      torn: null,
    });
    await prev.loadFor([2]);
    const l = new Ledger(prev, () => undefined);
    const mapped = entry('a', { 'a/2-renamed.md': 'h9' });
    l.mapped('a', 2, mapped);
    const next = l.nextEntries(new Map());
    const patch = (await next.entriesOf(0)) as ShardPatch;
    expect(patch.baseBytes?.toString()).toBe(text);
    expect(Buffer.concat(patchBytes(patch, patch.baseBytes!)).toString()).toBe(stableJson({ ...previous.workPackages, '2': mapped }));
    expect(next.writeOrder([0])).toEqual([0]);
  });
});
