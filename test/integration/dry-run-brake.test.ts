// Issue 19 failure 12: the mass-delete brake must not hide the plan of a dry run. A dry run
// is how a user sees what would be deleted: it shows the plan (the deletions included),
// says a real run would be refused and why, and exits with the status a refused real run
// gives (1), in text and in --json.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetyError } from '../../src/errors.js';
import type { Simulator } from '../../src/simulator/index.js';
import { MEDIGY_CONFIG, runCli, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator, TEST_KEY } from '../helpers/sync-harness.js';

const NOW = '2021-02-19T00:00:00Z';
/** Either brake: too large a share of deletions, or a source the server suddenly lists empty. */
const BRAKE = /would delete \d+ of \d+ synced files|the server returned no work packages, but \d+ are synced/;
const projectOf = (sim: Simulator, id: number): string => String((sim.dataset.workPackages.get(id)!._links.project as { title?: string }).title);

/** Delete most work packages of each community project, one left in each (well above the 20 % brake; no source empty). */
function deleteMost(sim: Simulator): number[] {
  const byProject = new Map<string, number[]>();
  for (const id of [...sim.dataset.workPackages.keys()].sort((a, b) => a - b)) {
    const p = projectOf(sim, id);
    if (p === 'News' || p === 'Events') continue;
    byProject.set(p, [...(byProject.get(p) ?? []), id]);
  }
  const gone = [...byProject.values()].flatMap((ids) => ids.slice(1));
  for (const id of gone) sim.deleteWorkPackage(id);
  return gone;
}

describe('the mass-delete brake and --dry-run (issue 19 #12)', () => {
  it('engine: a dry run returns its plan with the deletions and the reason a real run would be refused; the real run is still refused', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      const first = await medigySync(sim, dir);
      const firstIds = new Set(first.plan.files.map((f) => f.workPackageId));
      const before = await treeHashes(dir);
      const gone = deleteMost(sim);
      const dry = await medigySync(sim, dir, { dryRun: true });
      try {
        expect(dry.refused).toMatch(/would delete \d+ of \d+ synced files .* above the 20% limit/);
        const deletedIds = new Set(dry.plan.files.filter((f) => f.action === 'delete').map((f) => f.workPackageId));
        const synced = gone.filter((id) => firstIds.has(id));
        expect(synced.length).toBeGreaterThan(5);
        for (const id of synced) expect(deletedIds.has(id), `#${id} in the plan's deletions`).toBe(true);
      } finally {
        await dry.dispose();
      }
      expect(await treeHashes(dir)).toEqual(before);
      await expect(medigySync(sim, dir)).rejects.toThrow(SafetyError);
      expect(await treeHashes(dir)).toEqual(before);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('engine: a source the server suddenly lists empty shows its deletions in the dry run and the refusal', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      const news = [...sim.dataset.workPackages.keys()].filter((id) => projectOf(sim, id) === 'News');
      for (const id of news) sim.deleteWorkPackage(id);
      const dry = await medigySync(sim, dir, { dryRun: true, deleteThreshold: 1 });
      try {
        expect(dry.refused).toMatch(/source "news": the server returned no work packages/);
        const deleted = new Set(dry.plan.files.filter((f) => f.action === 'delete').map((f) => f.workPackageId));
        for (const id of news) expect(deleted.has(id)).toBe(true);
      } finally {
        await dry.dispose();
      }
      await expect(medigySync(sim, dir, { deleteThreshold: 1 })).rejects.toThrow(/source "news": the server returned no work packages/);
    } finally {
      await sim.close();
      await cleanup();
    }
  });

  it('CLI: `sync --dry-run` prints the plan and the refusal and exits 1 (as the refused real run does); --json carries both', async () => {
    const sim = await startFixtureSimulator();
    const { dir, cleanup } = await tempDir();
    const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: TEST_KEY };
    try {
      const out = path.join(dir, 'site');
      const first = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW], { env });
      expect(first.code, first.stderr).toBe(0);
      deleteMost(sim);
      const real = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW], { env });
      expect(real.code).toBe(1);
      expect(real.stderr).toMatch(BRAKE);

      const dry = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(real.code);
      // The plan: the deletions are listed.
      expect(dry.stdout).toMatch(/delete/);
      expect(dry.stdout).toMatch(/\d+ to delete/);
      // The refusal, and why.
      expect(dry.stderr).toMatch(/a real run would be refused/);
      expect(dry.stderr).toMatch(BRAKE);
      expect(dry.stderr).toMatch(/--allow-mass-delete/);

      const json = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--dry-run', '--json'], { env });
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { exitCode: number; dryRun: boolean; error: { code: string; message: string }; changes: { action: string }[]; counts: { total: { delete: number } } };
      expect(report.exitCode).toBe(1);
      expect(report.dryRun).toBe(true);
      expect(report.error.code).toBe('SAFETY');
      expect(report.error.message).toMatch(BRAKE);
      expect(report.counts.total.delete).toBeGreaterThan(0);
      expect(report.changes.some((c) => c.action === 'delete')).toBe(true);

      // With --allow-mass-delete the dry run is an ordinary one: changes pending, exit 2.
      const allowed = await runCli(['sync', '--config', MEDIGY_CONFIG, '--out', out, '--now', NOW, '--dry-run', '--allow-mass-delete'], { env });
      expect(allowed.code, allowed.stderr).toBe(2);
      expect(allowed.stderr).not.toMatch(/would be refused/);
    } finally {
      await sim.close();
      await cleanup();
    }
  }, 120_000);
});
