// Shared by the demos (`npm run demo`, `npm run demo:medigy`): the bundled OpenProject
// simulator on 127.0.0.1 with the fixtures dataset, a Hugo site skeleton, and the real
// CLI (bin/curate.js) run against them. No OpenProject, no key of yours, no network.
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function exists(p) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Start the simulator; exits with a hint when dist/ was never built. */
export async function startDemoSimulator() {
  if (!(await exists(path.join(root, 'dist', 'simulator', 'index.js')))) {
    console.error('dist/ is missing: run `npm ci` (it builds) or `npm run build` first.');
    process.exit(1);
  }
  const { startSimulator } = await import(path.join(root, 'dist', 'simulator', 'index.js'));
  // A throwaway key, to show that curate authenticates the way a real instance wants.
  const apiKey = 'demo-key-not-a-secret';
  const sim = await startSimulator({ dataset: path.join(root, 'fixtures', 'medigy', 'dataset'), apiKey });
  console.log(`OpenProject simulator listening on ${sim.url} (fixtures dataset, ${sim.dataset.workPackages.size} work packages)`);
  return { sim, env: { ...process.env, OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: apiKey, OPENPROJECT_TOKEN: '' } };
}

/**
 * A minimal Hugo site around the content, so `hugo server -s SITE` works at once.
 * `unsafe`: raw HTML in markdown is rendered (the legacy medigy profile keeps HTML; the
 * default profile writes plain markdown and does not need it).
 */
export async function hugoSite(site, { unsafe = false } = {}) {
  await mkdir(site, { recursive: true });
  if (await exists(path.join(site, 'hugo.toml'))) return;
  await cp(path.join(root, 'fixtures', 'hugo-site'), site, { recursive: true });
  if (!unsafe) {
    const toml = path.join(site, 'hugo.toml');
    const text = await readFile(toml, 'utf8');
    await writeFile(toml, text.replace(/\n\[markup\.goldmark\.renderer\][\s\S]*$/, '\n'));
  }
}

/**
 * Section pages for the sources' folders (`_index.md` with the source's name as title), so
 * Hugo lists "FemTech", not a made-up plural. curate does not own these files and never
 * touches them. Existing ones are left alone.
 */
export async function sectionPages(contentRoot, sources) {
  for (const s of sources) {
    const file = path.join(contentRoot, s.path, '_index.md');
    if (await exists(file)) continue;
    await mkdir(path.dirname(file), { recursive: true });
    const title = s.title ?? s.name.replace(/[-_]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
    await writeFile(file, `---\ntitle: ${JSON.stringify(title)}\n---\n`);
  }
}

/** Run the real CLI; resolves to its exit status. */
export function curate(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'curate.js'), ...args], { stdio: 'inherit', env });
    child.on('exit', (c, signal) => resolve(signal ? 1 : (c ?? 1)));
  });
}

export const shown = (p) => path.relative(process.cwd(), p) || '.';
