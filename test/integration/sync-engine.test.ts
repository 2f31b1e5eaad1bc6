// Issue 4: plan, then apply. Incremental syncs, pruning, renames, the safety brake,
// the dry run and its patch, the lock, and SIGKILL in each phase of a run.
import { spawn } from 'node:child_process';
import { existsSync, statSync, watch } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetyError } from '../../src/errors.js';
import { requestHooks } from '../../src/simulator/hooks.js';
import type { Simulator, WorkPackageJson } from '../../src/simulator/index.js';
import { writeJournal } from '../../src/output/journal.js';
import { renderPatch, type SyncEvent } from '../../src/sync/index.js';
import { BIN, diffTrees, FIXTURE_EXPECTED, git, MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';
import { readStateJson } from '../helpers/state.js';

const SOURCES = 7;
const same = { missing: [], extra: [], different: [] };

async function mtimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const rel of (await treeHashes(dir, { includeState: true })).keys()) out.set(rel, (await stat(path.join(dir, rel))).mtimeMs);
  return out;
}

/** The journal's inode (a new one each time a run writes it: temp file and rename), or null. */
const journalIno = (dir: string): number | null => {
  try {
    return statSync(path.join(dir, '.curate', 'journal.json')).ino;
  } catch {
    return null;
  }
};

/** A community Curated Content work package of the biggest community (so deleting it never empties a source). */
function communityWorkPackage(sim: Simulator): WorkPackageJson {
  const all = [...sim.dataset.workPackages.values()].sort((a, b) => a.id - b.id);
  const project = (wp: WorkPackageJson): string => String((wp._links.project as { title?: string }).title);
  const counts = new Map<string, number>();
  for (const wp of all) counts.set(project(wp), (counts.get(project(wp)) ?? 0) + 1);
  const biggest = [...counts.entries()].filter(([p]) => p !== 'News' && p !== 'Events').sort((a, b) => b[1] - a[1])[0]![0];
  return all.find((wp) => project(wp) === biggest && (wp._links.type as { title?: string }).title === 'Curated Content')!;
}

/** Attachments a profile reads as JSON are downloaded whenever their work package changed. */
function jsonAttachments(sim: Simulator, wpId: number): number {
  return [...sim.dataset.attachments.values()].filter((a) => (a.meta._links as { container: { href: string } }).container.href.endsWith(`/${wpId}`) && a.meta.fileName === 'Lectio_Extension_Curation.json').length;
}

describe('incremental sync', () => {
  it('a second sync with no change writes nothing and asks only the id listing plus one changes query per source', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const first = await medigySync(sim, dir);
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
      expect(first.counts.total.create).toBe((await treeHashes(FIXTURE_EXPECTED)).size);
      const before = await mtimes(dir);
      sim.resetCounts();
      const second = await medigySync(sim, dir);
      expect(second.counts.total).toMatchObject({ create: 0, update: 0, delete: 0 });
      expect(second.touchedFiles).toEqual([]);
      expect(await mtimes(dir)).toEqual(before);
      const c = sim.counts();
      // projects + types + statuses + the sources' schemas in one request (renamed custom
      // fields), then per source: one id listing (with author names) and one changes query.
      expect(c.byRoute).toEqual({ projects: 1, types: 1, statuses: 1, schemas: 1, work_packages: 2 * SOURCES });
      expect(sim.log().filter((l) => l.route === 'work_packages' && l.path.includes('elements%2Fauthor')).length).toBe(SOURCES);
      expect(sim.log().filter((l) => l.route === 'work_packages' && l.path.includes('select=')).length).toBe(SOURCES);
      expect(sim.log().filter((l) => l.route === 'work_packages' && l.path.includes('updatedAt')).length).toBe(SOURCES);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('after one work package changes, its file changes and no other', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const before = await treeHashes(dir);
      const wp = communityWorkPackage(sim);
      sim.updateWorkPackage(wp.id, (w) => {
        (w.description as { raw: string }).raw += '\n\nOne more paragraph.';
      });
      sim.resetCounts();
      const r = await medigySync(sim, dir);
      const after = await treeHashes(dir);
      const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatch(/\.md$/);
      expect(r.counts.total).toMatchObject({ create: 0, update: 1, delete: 0 });
      // Unchanged images were not downloaded again (only metadata JSON, which feeds the frontmatter).
      expect(sim.counts().byRoute.content ?? 0).toBe(jsonAttachments(sim, wp.id));
      expect(sim.counts().byRoute.attachments).toBe(1);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('after one work package is deleted, exactly its files go; hand-written files stay', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const handWritten = path.join(dir, 'communities-of-practice', 'femtech', '_index.md');
      await writeFile(handWritten, '---\ntitle: FemTech\n---\nWritten by hand.\n');
      const manifest = (await readStateJson(dir));
      const wp = communityWorkPackage(sim);
      const owned = Object.keys(manifest.workPackages[String(wp.id)]!.files).sort();
      expect(owned.length).toBeGreaterThan(1);
      const before = await treeHashes(dir);
      sim.deleteWorkPackage(wp.id);
      // The run says what it is about to delete while those files are still there (--summary
      // reads the deleted pages' titles then); a dry run deletes nothing and says nothing.
      const announced: { paths: string[]; present: boolean[] }[] = [];
      const onEvent = (e: SyncEvent): void => {
        if (e.type === 'deleting') announced.push({ paths: [...e.paths], present: e.paths.map((p) => existsSync(path.join(dir, p))) });
      };
      await (await medigySync(sim, dir, { dryRun: true, onEvent })).dispose();
      expect(announced).toEqual([]);
      const r = await medigySync(sim, dir, { onEvent });
      expect(announced).toEqual([{ paths: owned, present: owned.map(() => true) }]);
      const after = await treeHashes(dir);
      expect([...before.keys()].filter((k) => !after.has(k)).sort()).toEqual(owned);
      expect([...after.keys()].filter((k) => !before.has(k))).toEqual([]);
      expect(r.counts.total.delete).toBe(owned.length);
      expect(await readFile(handWritten, 'utf8')).toContain('Written by hand.');
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a renamed work package (new file name) removes the old file in the same run, shown as a rename', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const wp = communityWorkPackage(sim);
      sim.updateWorkPackage(wp.id, (w) => {
        w.subject = `${String(w.subject)} (updated)`; // community file names derive from the subject
      });
      const r = await medigySync(sim, dir);
      const renamed = r.plan.files.filter((f) => f.renamedFrom);
      expect(renamed).toHaveLength(1);
      expect(await stat(path.join(dir, renamed[0]!.renamedFrom!)).catch(() => null)).toBeNull();
      expect((await stat(path.join(dir, renamed[0]!.path))).isFile()).toBe(true);
      expect(r.counts.total.delete).toBe(r.counts.total.create);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it("a renamed page's unchanged attachment is moved from its old path (same inode), not copied, and its bytes stay", async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      // A community page (file names derive from the subject) with an attachment beside its markdown.
      const state = await readStateJson(dir);
      const project = (wp: WorkPackageJson): string => String((wp._links.project as { title?: string }).title);
      const biggest = project(communityWorkPackage(sim));
      const community = new Set([...sim.dataset.workPackages.values()].filter((wp) => project(wp) === biggest).map((wp) => wp.id));
      const [id, entry] = Object.entries(state.workPackages).find(([k, e]) => community.has(Number(k)) && Object.keys(e.files).some((p) => !p.endsWith('.md')))!;
      const oldAttachment = Object.keys(entry.files).find((p) => !p.endsWith('.md'))!;
      const before = await stat(path.join(dir, oldAttachment));
      const bytes = await readFile(path.join(dir, oldAttachment));
      sim.updateWorkPackage(Number(id), (w) => {
        w.subject = `${String(w.subject)} (moved)`;
      });
      const r = await medigySync(sim, dir);
      // The plan names the old path, which it deletes, as the bytes' source; apply moves them.
      const moved = r.plan.files.find((f) => f.content?.kind === 'copy' && f.content.from === oldAttachment)!;
      expect(moved.action).toBe('create');
      expect(r.plan.files.find((f) => f.path === oldAttachment)?.action).toBe('delete');
      const after = await stat(path.join(dir, moved.path));
      expect(after.ino).toBe(before.ino);
      expect(await readFile(path.join(dir, moved.path))).toEqual(bytes);
      expect(await stat(path.join(dir, oldAttachment)).catch(() => null)).toBeNull();
      expect(r.errors).toEqual([]);
      // Nothing left to do: the state owns the new path with those bytes.
      const again = await medigySync(sim, dir);
      expect(again.counts.total).toMatchObject({ create: 0, update: 0, delete: 0 });

      // Stopped right after such a move (the old path gone, the state not yet written), then
      // the rename undone on the server: the next run puts the old path back, and the site
      // equals a fresh sync's, state included. Once for each of the two moves back and forth.
      for (const subject of [`${String(sim.dataset.workPackages.get(Number(id))!.subject)} (again)`, String(sim.dataset.workPackages.get(Number(id))!.subject)]) {
        const current = Object.keys((await readStateJson(dir)).workPackages[id]!.files).find((p) => !p.endsWith('.md'))!;
        const subjectBefore = String(sim.dataset.workPackages.get(Number(id))!.subject);
        sim.updateWorkPackage(Number(id), (w) => {
          w.subject = subject;
        });
        const ac = new AbortController();
        let movedAway = false;
        await expect(
          medigySync(sim, dir, {
            signal: ac.signal,
            onEvent: (e: SyncEvent) => {
              if (e.type === 'write' && e.action === 'create' && !e.path.endsWith('.md') && !existsSync(path.join(dir, current))) {
                movedAway = true;
                ac.abort(new Error('stopped after the move'));
              }
            },
          }),
        ).rejects.toThrow();
        expect(movedAway).toBe(true);
        expect(existsSync(path.join(dir, current))).toBe(false);
        sim.updateWorkPackage(Number(id), (w) => {
          w.subject = subjectBefore;
        });
        const back = await medigySync(sim, dir);
        expect(back.errors).toEqual([]);
        const fresh = await tempDir();
        try {
          await medigySync(sim, fresh.dir);
          expect(diffTrees(await treeHashes(dir), await treeHashes(fresh.dir))).toEqual(same);
          expect((await readStateJson(dir)).workPackages).toEqual((await readStateJson(fresh.dir)).workPackages);
        } finally {
          await fresh.cleanup();
        }
        expect(existsSync(path.join(dir, current))).toBe(true);
        sim.updateWorkPackage(Number(id), (w) => {
          w.subject = subject;
        });
        await medigySync(sim, dir);
      }
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('a work package moved to another type leaves the query (found by the id listing) and its files go', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const wp = communityWorkPackage(sim);
      // Re-typed without touching updatedAt: only the id listing can notice.
      (sim.dataset.workPackages.get(wp.id)!._links as Record<string, unknown>).type = { href: '/api/v3/types/12', title: 'Task' };
      const r = await medigySync(sim, dir);
      expect(r.counts.total.delete).toBeGreaterThan(0);
      const manifest = (await readStateJson(dir));
      expect(manifest.workPackages[String(wp.id)]).toBeUndefined();
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});

describe('safety brake', () => {
  it('refuses to delete more than the threshold, and everything when the server returns nothing, unless allowed', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const before = await treeHashes(dir);
      const community = [...sim.dataset.workPackages.values()].filter((wp) => String((wp._links.project as { title?: string }).title) !== 'News' && String((wp._links.project as { title?: string }).title) !== 'Events');
      for (const wp of community.slice(0, Math.ceil(community.length * 0.5))) sim.deleteWorkPackage(wp.id);
      await expect(medigySync(sim, dir)).rejects.toThrow(SafetyError);
      expect(await treeHashes(dir)).toEqual(before);
      const ok = await medigySync(sim, dir, { allowMassDelete: true });
      expect(ok.counts.total.delete).toBeGreaterThan(0);

      for (const wp of [...sim.dataset.workPackages.values()]) if (String((wp._links.project as { title?: string }).title) === 'News') sim.deleteWorkPackage(wp.id);
      await expect(medigySync(sim, dir, { deleteThreshold: 1 })).rejects.toThrow(/source "news": the server returned no work packages/);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});

describe('dry run and patch', () => {
  it('writes nothing: no file, no state, no lock, no staging', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const root = path.join(dir, 'content');
      const dry = await medigySync(sim, root, { dryRun: true });
      expect(dry.counts.total.create).toBeGreaterThan(40);
      await dry.dispose();
      expect(await readdir(dir)).toEqual([]);
      await medigySync(sim, root);
      const before = await mtimes(root);
      sim.updateWorkPackage(communityWorkPackage(sim).id, (w) => {
        w.subject = 'Changed for the dry run';
      });
      const dry2 = await medigySync(sim, root, { dryRun: true });
      await dry2.dispose();
      expect(await mtimes(root)).toEqual(before);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('the dry-run patch, applied with git apply to the old tree, gives exactly the tree the real sync writes', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const other = await tempDir();
    try {
      await medigySync(sim, dir);
      await git(dir, ['init', '-q']);
      await git(dir, ['add', '-A']);
      await git(dir, ['commit', '-qm', 'old tree']);
      // Changes of every kind: edit, rename, delete, new work package with images, binary change.
      const wps = [...sim.dataset.workPackages.values()].sort((a, b) => a.id - b.id);
      const community = communityWorkPackage(sim);
      sim.updateWorkPackage(community.id, (w) => {
        w.subject = 'Renamed by the editor';
      });
      const news = wps.filter((wp) => (wp._links.project as { title?: string }).title === 'News');
      sim.updateWorkPackage(news[0]!.id, (w) => {
        (w.description as { raw: string }).raw = 'New body\nwith two lines';
      });
      sim.deleteWorkPackage(news[1]!.id);
      const withImage = [...sim.dataset.attachments.values()].find((a) => /^Curated_Featured_Image\.(png|jpg)$/.test(String(a.meta.fileName)))!;
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000308020000001234abcd', 'hex');
      const containerId = Number((withImage.meta._links as { container: { href: string } }).container.href.split('/').pop());
      sim.deleteAttachment(withImage.meta.id);
      sim.addAttachment(containerId, { fileName: String(withImage.meta.fileName), contentType: 'image/png' }, png);

      const dry = await medigySync(sim, dir, { dryRun: true });
      const lines: string[] = [];
      for await (const line of renderPatch(dry)) lines.push(line);
      await dry.dispose();
      const patchFile = path.join(other.dir, 'changes.patch');
      await writeFile(patchFile, `${lines.join('\n')}\n`);
      expect(lines.join('\n')).toContain('GIT binary patch');
      await git(dir, ['apply', '--binary', patchFile]);
      const patched = await treeHashes(dir);

      await git(dir, ['checkout', '-q', '--', '.']);
      await git(dir, ['clean', '-qfd']);
      await medigySync(sim, dir);
      expect(diffTrees(await treeHashes(dir), patched)).toEqual(same);
      expect(dry.counts.total).toMatchObject({ create: expect.any(Number), delete: expect.any(Number) });
      expect(dry.counts.total.rename).toBe(1);
    } finally {
      await sim.close();
      await cleanup();
      await other.cleanup();
    }
  });
});

describe('cron safety', () => {
  it('a journal left by a run killed after its state was written is removed by the next run, even one with nothing to write', async () => {
    // Found by the SIGKILL test below failing once in a busy full run: a kill between
    // writeState and the journal's removal leaves a journal whose files all hold the
    // recorded bytes; the next run then planned nothing, so it never settled the journal,
    // and every later run re-hashed its paths until one wrote something.
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const owned = [...(await treeHashes(dir))].filter(([p]) => !p.startsWith('.curate/')).slice(0, 3);
      expect(owned).toHaveLength(3);
      await writeJournal(dir, new Map(owned));
      const next = await medigySync(sim, dir);
      expect(next.errors).toEqual([]);
      expect(next.plan.files.filter((f) => f.action !== 'unchanged')).toEqual([]);
      expect((await readdir(path.join(dir, '.curate'))).sort()).toEqual(['local', 'manifest.json', 'work-packages']);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('two concurrent syncs never interleave: the second exits at once with status 3', async () => {
    // The first run is held at its first attachment listing (after it took the lock) until
    // the second has exited: however slowly the machine starts the second process, the first
    // still holds the lock then. (A latency of 40, then 150 ms per request only made it
    // likely: the first run sometimes finished first on a busy machine.) Released, the held
    // request fails like a dropped connection and is retried.
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY };
      const args = ['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z'];
      const held = new Promise<void>((resolve) => sim.inject({ route: 'attachments', kind: 'stall', stallMs: 60_000, times: 1, match: () => (resolve(), true) }));
      const first = runCli(args, { env });
      await held;
      expect((await stat(path.join(dir, '.curate', 'lock'))).isFile()).toBe(true);
      const second = await runCli(args, { env });
      sim.endStalls();
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(/another curate sync \(pid \d+/);
      const a = await first;
      expect(a.code, a.stderr).toBe(0);
      expect(diffTrees(await treeHashes(dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('SIGKILL at 12 points never leaves a truncated or temp file where the site reads, and the next run converges', async () => {
    const sim = await startFixtureSimulator({ latencyMs: 5 });
    const hooks = requestHooks(sim);
    const { dir, cleanup } = await tempDir();
    try {
      const expected = await treeHashes(FIXTURE_EXPECTED);
      const env = { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY };
      let seed = 12345;
      const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      // Every run has work to do: the first into an empty folder, each later one resumes what
      // the killed run before it left (its lock, staging, journal, some files in place), and
      // once a run got as far as writing its state (it finished, or the kill came after that)
      // the folder starts over: a run with little to do has few requests and no apply to kill
      // (11 of the earlier 20 points were such runs, never killed).
      const requestKills: (NodeJS.Signals | null)[] = [];
      for (let i = 0; i < 12; i++) {
        if (existsSync(path.join(dir, '.curate', 'manifest.json'))) {
          for (const e of await readdir(dir)) await rm(path.join(dir, e), { recursive: true, force: true });
        }
        // A journal and files a killed run left are not this run's: its own are newer.
        const leftJournal = journalIno(dir);
        const child = spawn(process.execPath, [BIN, 'sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z', '--quiet'], { env, stdio: 'ignore' });
        // Listen for 'close' before waiting: a run can finish before the kill lands, and a
        // listener attached after the event would wait forever.
        let ended = false;
        const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal }))).finally(() => (ended = true));
        // Kill points are events of the run, not times (a sleep mostly landed in node's
        // start-up on a busy machine), one per phase in turn:
        // - fetch (half): at the nth request (up to 80) to reach the server, of the ~95 a run with
        //   everything to fetch makes (the listings, work packages, attachment lists,
        //   downloads), while it stages files under .curate/;
        // - the apply's start: the moment this run's journal is on disk, before the first rename;
        // - the apply: at the nth change in the site (among the renames, or just after them:
        //   the manifest, the state, the journal's removal; the in-process model tests abort at
        //   exact write events). The earlier poll of the tree never landed inside an apply.
        const phase = i % 2 === 0 ? 'fetch' : i % 4 === 1 ? 'journal' : 'apply';
        if (phase === 'fetch') hooks.at('*', 1 + Math.floor(random() * 80), () => child.kill('SIGKILL'));
        else if (phase === 'apply') {
          // The nth change inotify reports in the site (folders made, files renamed into
          // place): the apply is a few milliseconds, too quick for a poll to land inside.
          const nth = 1 + Math.floor(random() * 60);
          let seen = 0;
          // Node's recursive watcher reports what is already there as it starts (synchronously,
          // inside watch()): only changes after that count.
          let armed = false;
          const watcher = watch(dir, { recursive: true }, (_event, name) => {
            if (armed && name && !name.startsWith('.curate') && ++seen === nth) child.kill('SIGKILL');
          });
          armed = true;
          watcher.on('error', () => undefined); // a folder renamed away while watched
          void closed.then(() => watcher.close());
        } else {
          // A cheap check every 2 ms until the apply starts (a spin would take the CPU the run needs).
          while (!ended && [null, leftJournal].includes(journalIno(dir))) await new Promise((r) => setTimeout(r, 2));
          child.kill('SIGKILL');
        }
        const end = await closed;
        hooks.clear();
        if (phase === 'fetch') requestKills.push(end.signal);
        const now = await treeHashes(dir);
        for (const [rel, hash] of now) {
          expect(expected.get(rel), `${rel} after kill ${i} (${phase})`).toBe(hash); // present ⇒ complete and correct
        }
      }
      // The fetch-phase kills land in the run (each had more requests to make than its nth).
      expect(requestKills).toEqual(Array(6).fill('SIGKILL'));
      await mkdir(dir, { recursive: true });
      const r = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', dir, '--now', '2021-02-19T00:00:00Z'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(diffTrees(await treeHashes(dir), expected)).toEqual(same);
      const state = await readdir(path.join(dir, '.curate'));
      expect(state.sort()).toEqual(['local', 'manifest.json', 'work-packages']);
    } finally {
      await sim.close();
      await cleanup();
    }
  }, 120_000);
});
