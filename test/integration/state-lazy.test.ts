// The state read lazily (src/sync/previous-state.ts): an ordinary run keeps a whole shard it
// does not read when the shard's summary proves each entry unchanged. Each case changes on
// the server something a page in such a shard only shows (another work package's subject,
// the path of the source a link points to, `now` passing an event's date, its author's
// name) and checks that the incremental tree equals a fresh sync's, through the simulator
// on 127.0.0.1 and the real engine. The page is 2958, in shard 2 (ids 2000–2999), which no
// changes walk of these runs reads (checked first); the fixture is fixtures/medigy/dataset.
import { describe, expect, it } from 'vitest';
import { createProfile } from '../../src/mapping/profiles/index.js';
import { shardOf } from '../../src/output/manifest.js';
import { renameUser } from '../../src/simulator/hooks.js';
import type { Simulator } from '../../src/simulator/index.js';
import type { SyncOptions, SyncReport } from '../../src/sync/index.js';
import type { SourceSpec } from '../../src/types.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { DEFAULT_PROFILE_SOURCES } from '../helpers/model-world.js';
import { readStateJson, shardsNoWalkReads } from '../helpers/state.js';
import { describeAs, expectFreshTree, HOUR, retitle, withClockedSim } from '../helpers/clocked-sim.js';
import { medigySync } from '../helpers/sync-harness.js';

type Extra = Partial<SyncOptions>;
/** The page under test: a chronic-care-management work package in shard 2. */
const PAGE = 2958;
/** A later edit of the same source in shard 4, so its watermark passes the page's own edit. */
const LATER = 4177;
/** A target in the same source, shard 3; and a news work package (another source), shard 3. */
const TARGET = 3843;
const NEWS = 3145;

const defaultProfile = (sources: SourceSpec[] = DEFAULT_PROFILE_SOURCES): Extra => ({ sources: structuredClone(sources), profile: createProfile('default', { openprojectUrl: 'https://op.example' }) });

async function syncOk(sim: Simulator, dir: string, extra: Extra): Promise<SyncReport> {
  const r = await medigySync(sim, dir, extra);
  expect(r.errors).toEqual([]);
  return r;
}

/** The page's shard is one the next ordinary run's walks will not read. */
async function expectPageUnread(dir: string): Promise<void> {
  expect((await shardsNoWalkReads(dir)).get(shardOf(PAGE)), `shard ${shardOf(PAGE)} is read by no walk`).toContain(PAGE);
}

const expectFresh = (sim: Simulator, dir: string, extra: Extra): Promise<void> => expectFreshTree(dir, (fresh) => medigySync(sim, fresh, { ...extra, client: createFakeClient(sim.dataset) }));

/**
 * In the second round, the decisive run also edits another work package of the page's
 * shard, so the run reads the shard (as text, output/shard-text.ts) and decides the page
 * from the shard's summary without parsing it: it must follow what it shows all the same.
 */
const SIBLING_ROUNDS = [
  ['a shard the run does not read', false],
  ['a shard read as text for another row', true],
] as const;

describe.each(SIBLING_ROUNDS)('a page in %s still follows what it shows', (_, sibling) => {
  /** An edit of another work package in the page's shard (second round only). */
  async function touchShard(sim: Simulator, dir: string, clock: { tick(ms?: number): void }): Promise<void> {
    if (!sibling) return;
    const ids = Object.keys((await readStateJson(dir)).workPackages).map(Number);
    const other = ids.find((id) => shardOf(id) === shardOf(PAGE) && id !== PAGE && id !== 2797);
    expect(other, 'another synced work package in the page\'s shard').toBeDefined();
    clock.tick();
    retitle(sim, other!, 'A sibling edit');
    clock.tick();
  }

  it('the subject of a work package it shows with ##N (facts): renamed, the page is mapped again', async () => {
    await withClockedSim(async (sim, dir, clock) => {
      const extra = defaultProfile();
      describeAs(sim, PAGE, `See ##${TARGET}.`);
      clock.tick();
      retitle(sim, LATER, 'A later edit');
      clock.tick();
      await syncOk(sim, dir, extra);
      await expectPageUnread(dir);
      clock.tick();
      retitle(sim, TARGET, 'A renamed target');
      await touchShard(sim, dir, clock);
      clock.tick();
      await syncOk(sim, dir, extra);
      await expectFresh(sim, dir, extra);
    });
  });

  it('the source of a work package it links to (#N): that source\'s path changed, the link follows', async () => {
    await withClockedSim(async (sim, dir, clock) => {
      describeAs(sim, PAGE, `See #${NEWS}.`);
      clock.tick();
      retitle(sim, LATER, 'A later edit');
      clock.tick();
      await syncOk(sim, dir, defaultProfile());
      await expectPageUnread(dir);
      const moved = defaultProfile(DEFAULT_PROFILE_SOURCES.map((s) => (s.name === 'news' ? { ...s, path: 'briefs' } : s)));
      await touchShard(sim, dir, clock);
      await syncOk(sim, dir, moved);
      await expectFresh(sim, dir, moved);
    });
  });

  it('`now` passing the end of an upcoming event: its page moves to the past events (medigy)', async () => {
    await withClockedSim(async (sim, dir, clock) => {
      const EVENT = 2797;
      expect(shardOf(EVENT)).toBe(shardOf(PAGE));
      await syncOk(sim, dir, {});
      await expectPageUnread(dir);
      const entry = (await readStateJson(dir)).workPackages[String(EVENT)]!;
      expect(Object.keys(entry.files).some((p) => p.includes('/upcoming/'))).toBe(true);
      expect(entry.validUntil).toBeDefined();
      const later = { now: new Date(Date.parse(entry.validUntil!) + 24 * HOUR) };
      await touchShard(sim, dir, clock);
      await syncOk(sim, dir, later);
      expect(Object.keys((await readStateJson(dir)).workPackages[String(EVENT)]!.files).some((p) => p.includes('/past/'))).toBe(true);
      await expectFresh(sim, dir, later);
    });
  });

  it('its author renamed (medigy shows the author): the page is mapped again', async () => {
    await withClockedSim(async (sim, dir, clock) => {
      await syncOk(sim, dir, {});
      await expectPageUnread(dir);
      const author = Number(String((sim.dataset.workPackages.get(PAGE)!._links.author as { href: string }).href).split('/').pop());
      clock.tick();
      expect(renameUser(sim, author, 'Dr. Renamed Author')).toBeGreaterThan(0);
      await touchShard(sim, dir, clock);
      clock.tick();
      await syncOk(sim, dir, {});
      await expectFresh(sim, dir, {});
    });
  });
});
