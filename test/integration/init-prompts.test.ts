// `curate init` on a real terminal (a pseudo-terminal from util-linux `script`): each answer
// is checked at its prompt — an unknown type is asked again with the closest name, a
// work-like type needs a yes — and the config holds what was chosen. The driver answers
// each prompt only once it has been printed (no timing guesses).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { BIN, ROOT, tempDir } from '../helpers/env.js';

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p)) ?? null;
const KEY = 'init-prompts-key-not-a-secret';

/** Runs `curate init` on a pseudo-terminal, answering each prompt (matched by text) in turn. */
function interactiveInit(cwd: string, env: NodeJS.ProcessEnv, steps: [RegExp, string][]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT!, ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} init`, '/dev/null'], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let seen = 0; // screen length already matched
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`init did not finish; screen so far:\n${screen}`));
    }, 45_000);
    const onData = (d: Buffer): void => {
      screen += d.toString().replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''); // eslint-disable-line no-control-regex
      const next = steps[0];
      if (!next) return;
      const m = next[0].exec(screen.slice(seen));
      if (!m) return;
      seen += m.index + m[0].length;
      steps.shift();
      child.stdin.write(`${next[1]}\n`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

describe.skipIf(!SCRIPT)(`curate init on a terminal${SCRIPT ? '' : ' (SKIPPED: util-linux `script` is not installed, no pseudo-terminal to drive)'}`, () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dataset: path.join(ROOT, 'fixtures', 'default', 'dataset'), apiKey: KEY });
  });
  afterAll(async () => sim.close());

  it('re-asks at the same prompt on an unknown name, confirms work-like types, writes what was chosen', async () => {
    const { dir, cleanup } = await tempDir('curate-init-tty-');
    try {
      const r = await interactiveInit(dir, { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: KEY }, [
        [/Projects to sync[^\n]*: $/m, 'DOCS'],
        [/types to publish \(comma-separated\) \[Page, News\]: $/m, 'newz'],
        [/types to publish \(comma-separated\) \[Page, News\]: $/m, 'page, bug'],
        [/Publish Bug work packages anyway\? \[y\/N\]: $/m, 'n'],
        [/Statuses whose work packages are published[^\n]*\[Published, Closed\]: $/m, 'publishd'],
        [/Statuses whose work packages are published[^\n]*: $/m, 'published'],
      ]);
      expect(r.code, r.screen).toBe(0);
      expect(r.screen).toContain('no type "newz" (did you mean "News"?)');
      expect(r.screen).toContain('warning: type "Bug" usually holds internal work (Bug), not pages for readers');
      expect(r.screen).toContain('no status "publishd" (did you mean "Published"?)');
      expect(r.screen).toContain('published (draft: false): Published; drafts: New, Closed');
      const cfg = yaml.load(await readFile(path.join(dir, 'curate.config.yaml'), 'utf8')) as { profile: { options: { publishedStatuses: string[] } }; sources: { projects: string[]; types: string[] }[] };
      expect(cfg.sources).toHaveLength(1);
      expect(cfg.sources[0]).toMatchObject({ projects: ['docs'], types: ['Page'] });
      expect(cfg.profile.options.publishedStatuses).toEqual(['Published']);
    } finally {
      await cleanup();
    }
  });
});
