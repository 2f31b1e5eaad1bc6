// Where `curate.config.yaml` is when --config is not given: the current folder, then each
// parent up to the root of the git repository it is in (a `.git` folder or file), like
// git and npm find their own files; outside a repository, up to the filesystem root.
import { existsSync } from 'node:fs';
import path from 'node:path';

export const CONFIG_FILE = 'curate.config.yaml';

/** The nearest config file's path; when there is none, `start`'s own (the "missing" error names it). */
export async function findConfigFile(start: string): Promise<string> {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (existsSync(path.join(dir, '.git')) || parent === dir) return path.join(path.resolve(start), CONFIG_FILE);
    dir = parent;
  }
}
