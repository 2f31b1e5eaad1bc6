// `curate init` without a terminal (the real binary, stdin a pipe) against the default
// fixture's server: it proposes only content-like types, says why, warns about work-like
// types named with --type, says which statuses become drafts, and refuses to guess when no
// type name justifies itself.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { ROOT, runCli, tempDir } from '../helpers/env.js';

const DATASET = path.join(ROOT, 'fixtures', 'default', 'dataset');
const KEY = 'init-default-key-not-a-secret';

interface InitConfig {
  profile: { options: { publishedStatuses: string[]; openprojectUrl: string } };
  sources: { projects: string[]; types: string[] }[];
}

describe('curate init without a terminal picks what to publish, not everything', () => {
  let sim: Simulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sim = await startSimulator({ dataset: DATASET, apiKey: KEY });
    env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY };
  });
  afterAll(async () => sim.close());

  const init = async (args: string[], e = env): Promise<{ code: number | null; stderr: string; config: InitConfig | null }> => {
    const { dir, cleanup } = await tempDir('curate-init-');
    try {
      const r = await runCli(['init', ...args], { env: e, cwd: dir });
      const text = r.code === 0 ? await readFile(path.join(dir, 'curate.config.yaml'), 'utf8') : null;
      return { code: r.code, stderr: r.stderr, config: text === null ? null : (yaml.load(text) as InitConfig) };
    } finally {
      await cleanup();
    }
  };

  it('--yes proposes the content-like types with their reason, never Bug/Task/Milestone/Phase, and lists the drafts', async () => {
    const r = await init(['--yes']);
    expect(r.code, r.stderr).toBe(0);
    for (const s of r.config!.sources) expect(s.types).toEqual(['Page', 'News']);
    expect(r.stderr).toContain('proposing type "Page" (its name says "Page")');
    expect(r.stderr).toContain('proposing type "News" (its name says "News")');
    expect(r.stderr).toContain('not proposed: Bug, Task, Milestone, Phase (add them with --type)');
    expect(r.stderr).toContain('published (draft: false): Published, Closed; drafts: New');
    expect(r.config!.profile.options.publishedStatuses).toEqual(['Published', 'Closed']);
    expect(r.config!.profile.options.openprojectUrl).toBe(sim.url);
  });

  it('--type names are matched case-insensitively; work-like ones are included with a warning', async () => {
    const r = await init(['--yes', '--project', 'internal', '--type', 'bug', '--type', 'NEWS']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.config!.sources[0]!.types).toEqual(['Bug', 'News']);
    expect(r.stderr).toContain('warning: type "Bug" usually holds internal work (Bug), not pages for readers; included because --type names it');
  });

  it('an unknown --type fails with the closest name', async () => {
    const r = await init(['--yes', '--type', 'newz']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no type "newz"');
    expect(r.stderr).toContain('did you mean "News"?');
  });

  it('refuses to guess when no type name looks like content', async () => {
    const ds = await loadDataset(DATASET);
    ds.instance.types = ds.instance.types.filter((t) => ['Bug', 'Task', 'Milestone', 'Phase'].includes(String(t.name)));
    const work = await startSimulator({ dataset: ds, apiKey: KEY });
    try {
      const r = await init(['--yes'], { OPENPROJECT_URL: work.url, OPENPROJECT_API_KEY: KEY });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('looks like content to publish; name the types with --type');
      expect(r.stderr).toContain('types on the server: Bug, Task, Milestone, Phase');
    } finally {
      await work.close();
    }
  });
});
