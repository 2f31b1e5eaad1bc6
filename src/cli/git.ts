// `--git-commit`: before a sync, check that a commit can be made (work tree, identity,
// writable index, no merge or rebase in progress); after it, commit every file curate owns
// that differs from HEAD (what this run wrote and what earlier runs left uncommitted),
// and nothing else: whatever else the user has staged or changed stays as it was.
import { spawn } from 'node:child_process';

import { constants, existsSync } from 'node:fs';
import { access, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CurateError } from '../errors.js';
import { isStateFile, MANIFEST_FILE, readState, SHARD_DIR, SHARD_SPAN, shardedEntries, TornShardError } from '../output/manifest.js';
import { shardsNaming } from '../output/shard-summary.js';
import { COMMIT_LIST_MAX, contentPrefix, describePages, pagesOf, type DescribedPage, type FileChange } from './pages.js';

interface GitResult {
  code: number | null;
  out: Buffer;
  err: string;
}

/**
 * Run git with `input` on stdin. Paths travel NUL-separated on stdin (--pathspec-from-file):
 * no argv length limit on large corpora, and with GIT_LITERAL_PATHSPECS a title containing
 * `*` or `[` is a file name, not a glob.
 */
function gitRun(cwd: string, args: string[], input = ''): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, GIT_LITERAL_PATHSPECS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new CurateError('OUTPUT', `--git-commit needs git on PATH: ${e.message}`, { cause: e })));
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out), err: Buffer.concat(err).toString('utf8').trim() }));
    child.stdin.on('error', () => {
      /* git exited before reading its input; the exit status reports why */
    });
    child.stdin.end(input);
  });
}

async function git(cwd: string, args: string[], input = ''): Promise<string> {
  const r = await gitRun(cwd, args, input);
  if (r.code !== 0) throw new CurateError('OUTPUT', `git ${args[0]} failed: ${r.err || `exit status ${r.code}`}`);
  return r.out.toString('utf8');
}

/** `p` with its nearest existing ancestor's symlinks resolved (git reports resolved paths). */
export async function resolvedPath(p: string): Promise<string> {
  const abs = path.resolve(p);
  let dir = abs;
  for (;;) {
    try {
      const real = await realpath(dir);
      return path.join(real, path.relative(dir, abs));
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return abs;
      dir = parent;
    }
  }
}

/**
 * The git work tree `dir` is (or will be, once created) inside, resolved; null when
 * none or when git is not installed. Asked of the nearest folder that exists, so it
 * works before a first sync creates the output root.
 */
export async function gitTopLevel(dir: string): Promise<string | null> {
  const target = await resolvedPath(dir);
  let existing = target;
  while (!existsSync(existing)) existing = path.dirname(existing);
  try {
    const top = (await git(existing, ['rev-parse', '--show-toplevel'])).trim();
    return top ? await realpath(top) : null;
  } catch {
    return null;
  }
}

/** Before syncing with --git-commit: the output root must be in a work tree, or nothing is done. */
export async function assertInWorkTree(outputRoot: string): Promise<void> {
  if ((await gitTopLevel(outputRoot)) === null) {
    throw new CurateError('OUTPUT', `--git-commit: the output root ${outputRoot} is not inside a git work tree (or git is not installed); run \`git init\` in the site repository first, or drop --git-commit. Nothing was synced.`);
  }
}


/** What git says in its last line ("fatal: unable to auto-detect email address (got 'root@vm.(none)')"). */
const lastLine = (s: string): string => s.split('\n').filter((l) => l.trim()).pop()?.replace(/^(fatal|error): /, '') ?? '';

/**
 * Before syncing with --git-commit, everything that would make the commit fail and can be
 * known up front: the output root is in a work tree, git has an identity to commit with,
 * the index can be written (no other git process holds it, the folder is writable), and
 * no merge, rebase, cherry-pick, revert or bisect is in progress. Throws naming the
 * problem and the fix; nothing is synced.
 */
export async function preflightCommit(outputRoot: string): Promise<void> {
  await assertInWorkTree(outputRoot);
  const top = (await gitTopLevel(outputRoot))!;
  const fail = (what: string): never => {
    throw new CurateError('OUTPUT', `--git-commit: ${what} Nothing was synced.`);
  };
  const howTo = `Give it one, e.g. \`git -C ${top} config user.name "curate bot" && git -C ${top} config user.email curate@example.org\`, or set GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL in curate's environment.`;
  const configured = async (key: string): Promise<boolean> => (await gitRun(top, ['config', '--get', key])).out.toString('utf8').trim() !== '';
  for (const who of ['AUTHOR', 'COMMITTER'] as const) {
    const r = await gitRun(top, ['var', `GIT_${who}_IDENT`]);
    if (r.code !== 0) fail(`git has no ${who.toLowerCase()} identity to commit with in ${top} (git: ${lastLine(r.err) || `exit status ${r.code}`}). ${howTo}`);
    // An address git only guessed from the host name (root@host) is no identity for a
    // site's history: git commits with it on some machines and refuses on others.
    const explicit = !!process.env[`GIT_${who}_EMAIL`]?.trim() || !!process.env.EMAIL?.trim() || (await configured(`${who.toLowerCase()}.email`)) || (await configured('user.email'));
    if (!explicit) {
      const guessed = /<([^>]*)>/.exec(r.out.toString('utf8'))?.[1] ?? '';
      fail(`git has no ${who.toLowerCase()} identity configured in ${top}${guessed ? ` (it would guess ${guessed} from the host name)` : ''}. ${howTo}`);
    }
  }
  const names = ['index', 'index.lock', 'MERGE_HEAD', 'rebase-merge', 'rebase-apply', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'BISECT_LOG'];
  const paths = (await git(top, ['rev-parse', ...names.flatMap((n) => ['--git-path', n])])).split('\n').map((p) => path.resolve(top, p));
  const at = (name: string): string => paths[names.indexOf(name)]!;
  const busy: [string, string][] = [
    ['MERGE_HEAD', 'a merge is in progress (finish it with `git commit`, or `git merge --abort`)'],
    ['rebase-merge', 'a rebase is in progress (`git rebase --continue` or `git rebase --abort`)'],
    ['rebase-apply', 'a rebase or `git am` is in progress (`git rebase --continue`/`--abort`, or `git am --abort`)'],
    ['CHERRY_PICK_HEAD', 'a cherry-pick is in progress (`git cherry-pick --continue` or `--abort`)'],
    ['REVERT_HEAD', 'a revert is in progress (`git revert --continue` or `--abort`)'],
    ['BISECT_LOG', 'a bisect is in progress (`git bisect reset`)'],
  ];
  for (const [name, what] of busy) if (existsSync(at(name))) fail(`in ${top} ${what}; curate commits only on a clean branch.`);
  if (existsSync(at('index.lock'))) fail(`${at('index.lock')} exists: another git process is running in ${top}, or one crashed (then remove that file).`);
  try {
    await access(path.dirname(at('index')), constants.W_OK);
    if (existsSync(at('index'))) await access(at('index'), constants.W_OK);
  } catch (e) {
    fail(`git's index ${at('index')} is not writable by this user (${(e as NodeJS.ErrnoException).code}); run curate as the repository's owner, or fix its permissions.`);
  }
}

type Entries = Record<string, { files?: Record<string, unknown> } | undefined>;

/** Work package id per path, now (the state on disk) and at HEAD (its committed state), for the paths asked about. */
interface Owners {
  now: Map<string, number>;
  before: Map<string, number>;
  /** Shards read to learn it (from disk and from HEAD). */
  shardsRead: number;
}

/**
 * Who owns `paths` (the ones that differ from HEAD), now and at HEAD, reading the state
 * only as far as they need: manifest.json's shard summaries name the folders and name
 * hashes of each shard's files (format 4), so only shards that may record one of the paths
 * are read, and a HEAD shard with the digest of the one on disk is read from disk. A commit
 * after a run that changed a few work packages reads a few shards, not all of them.
 * Unreadable state owns nothing (tolerant: the commit then holds the state files only).
 */
async function ownersOf(root: string, paths: readonly string[], headBytes: (f: string) => Promise<Buffer | null>): Promise<Owners> {
  const wanted = new Set(paths);
  const owners: Owners = { now: new Map(), before: new Map(), shardsRead: 0 };
  if (!wanted.size) return owners;
  const pick = (entries: Entries, into: Map<string, number>): void => {
    for (const [id, w] of Object.entries(entries)) for (const p of Object.keys(w?.files ?? {})) if (wanted.has(p)) into.set(p, Number(id));
  };
  let state = await readState(root, undefined, undefined, { lazy: true }).catch(() => null);
  const read = new Map<number, Promise<Entries>>();
  /** A state read whole, its entries grouped by shard once. */
  let whole: ReturnType<typeof shardedEntries> | null = null;
  /** A shard's entries as on disk now: read once when the state was read lazily. */
  const onDisk = (shard: number): Promise<Entries> => {
    let p = read.get(shard);
    if (!p) {
      const s = state!;
      if (s.load) {
        owners.shardsRead += 1;
        p = s.load(shard);
      } else p = (whole ??= shardedEntries(s.manifest.workPackages)).entriesOf(shard);
      read.set(shard, p);
    }
    return p;
  };
  if (state?.load && state.summaries) {
    try {
      for (const shard of shardsNaming(new Map([...state.summaries].map(([k, v]) => [k, v.names])), wanted)) pick(await onDisk(shard), owners.now);
    } catch (e) {
      // A shard that is not the one manifest.json describes: read the state whole (it is then torn).
      if (!(e instanceof TornShardError)) throw e;
      read.clear();
      owners.now.clear();
      state = await readState(root).catch(() => null);
    }
  }
  if (state && !state.load) {
    owners.shardsRead += state.shards?.size ?? 0;
    pick(state.manifest.workPackages, owners.now);
  }

  let m: { workPackages?: unknown; shards?: unknown };
  try {
    m = JSON.parse((await headBytes(MANIFEST_FILE))?.toString('utf8') ?? 'null') as typeof m;
  } catch {
    return owners;
  }
  if (!m || typeof m !== 'object') return owners;
  // Formats 1 and 2: every entry inline.
  if (m.workPackages && typeof m.workPackages === 'object') {
    pick(m.workPackages as Entries, owners.before);
    return owners;
  }
  const atHead = new Map<number, { range: string; digest: unknown; names?: Record<string, string> }>();
  for (const [range, rec] of Object.entries((m.shards ?? {}) as Record<string, unknown>)) {
    const shard = Number(range.split('-')[0]) / SHARD_SPAN;
    // Format 3 records a digest, format 4 a summary with it.
    const summary = rec && typeof rec === 'object' ? (rec as { digest?: unknown; names?: unknown }) : null;
    const names = summary && summary.names && typeof summary.names === 'object' ? (summary.names as Record<string, string>) : undefined;
    atHead.set(shard, { range, digest: summary ? summary.digest : rec, ...(names ? { names } : {}) });
  }
  const named = shardsNaming(new Map([...atHead].filter(([, h]) => h.names).map(([k, h]) => [k, h.names!])), wanted);
  for (const [shard, h] of atHead) {
    if (h.names && !named.has(shard)) continue;
    if (state && state.torn === null && state.shards?.get(shard) === h.digest) {
      // The same bytes as on disk; a file there that is not them (torn) is read from HEAD instead.
      const same = await onDisk(shard).catch((e: unknown) => {
        if (e instanceof TornShardError) return null;
        throw e;
      });
      if (same) {
        pick(same, owners.before);
        continue;
      }
    }
    owners.shardsRead += 1;
    try {
      pick(JSON.parse((await headBytes(`${SHARD_DIR}/${h.range}.json`))?.toString('utf8') ?? '{}') as Entries, owners.before);
    } catch {
      /* not JSON: nothing is known to be owned by it */
    }
  }
  return owners;
}

export interface CommitOutcome {
  /** The commit id, or null when nothing curate owns differs from HEAD. */
  id: string | null;
  /** Committed paths, relative to the output root, sorted. */
  files: string[];
  /** How many of them this run did not touch: left uncommitted by earlier runs. */
  leftovers: number;
  /** State shards read to tell which changed paths curate owns (from disk and from HEAD). */
  stateShardsRead: number;
  pages: DescribedPage[];
  message: string | null;
}

/**
 * Commit every file curate owns under `root` that differs from HEAD — created, modified
 * or deleted, whether this run or an earlier one (a plain `curate sync`, a failed commit)
 * wrote it — and nothing else. Owned: the state itself (manifest and shards), every path
 * the state on disk lists, and the paths the committed state listed that are gone from
 * disk (pages curate deleted). Everything else the user has staged stays staged, uncommitted.
 * `touched` (this run's files) only tells leftovers apart; `message` builds the message.
 */
export async function commitOwned(root: string, o: { touched?: readonly string[]; message: (pages: DescribedPage[], leftovers: number) => string }): Promise<CommitOutcome> {
  const none: CommitOutcome = { id: null, files: [], leftovers: 0, stateShardsRead: 0, pages: [], message: null };
  // Real paths: git reports its top level resolved (/tmp → /private/tmp on macOS).
  const realRoot = await realpath(root).catch(() => null);
  if (realRoot === null) return none;
  let top: string;
  try {
    top = await realpath((await git(realRoot, ['rev-parse', '--show-toplevel'])).trim());
  } catch (e) {
    throw new CurateError('OUTPUT', `--git-commit: the output root ${root} is not inside a git work tree; run \`git init\` there first, or drop --git-commit (the files were written)`, { cause: e });
  }
  const rootRel = path.relative(top, realRoot).split(path.sep).join('/');
  const toTop = (f: string): string => (rootRel ? `${rootRel}/${f}` : f);
  const fromTop = (p: string): string | null => (!rootRel ? p : p.startsWith(`${rootRel}/`) ? p.slice(rootRel.length + 1) : null);

  const hasHead = (await gitRun(top, ['rev-parse', '--verify', '--quiet', 'HEAD'])).code === 0;
  const headBytes = async (f: string): Promise<Buffer | null> => {
    if (!hasHead) return null;
    const r = await gitRun(top, ['show', `HEAD:${toTop(f)}`]);
    return r.code === 0 ? r.out : null;
  };
  // Everything under the output root that differs from HEAD (index or work tree), untracked included.
  const status = splitNul((await git(top, ['status', '--porcelain', '-z', '--untracked-files=all', '--no-renames', '--', rootRel || '.'])).toString());
  /** Path → whether HEAD has it (`??` untracked and `A` added are new). */
  const changed = new Map<string, boolean>();
  for (const entry of status) {
    const rel = fromTop(entry.slice(3));
    if (rel !== null) changed.set(rel, !(entry.startsWith('??') || entry.startsWith('A')));
  }
  const { now, before, shardsRead } = await ownersOf(realRoot, [...changed.keys()].filter((f) => !isStateFile(f)), headBytes);
  const gone = (f: string): boolean => !existsSync(path.join(realRoot, ...f.split('/')));
  const files = [...changed.keys()].filter((f) => isStateFile(f) || now.has(f) || (before.has(f) && gone(f))).sort();
  if (!files.length) return { ...none, stateShardsRead: shardsRead };

  const present = files.filter((f) => !gone(f));
  const deleted = files.filter(gone);
  if (present.length) await git(top, ['add', '-A', '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(present.map(toTop)));
  if (deleted.length) await git(top, ['rm', '-q', '--cached', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(deleted.map(toTop)));
  // Only paths whose staged content differs from HEAD (a file rewritten with its old bytes does not).
  const staged = new Set(splitNul(await git(top, ['diff', '--cached', '--name-only', '-z', '--no-renames', ...(hasHead ? [] : ['--root'])])).map(fromTop));
  const commit = hasHead ? files.filter((f) => staged.has(f)) : files;
  if (!commit.length) return { ...none, stateShardsRead: shardsRead };

  const touched = new Set(o.touched ?? []);
  const leftovers = commit.filter((f) => !touched.has(f)).length;
  const changes: FileChange[] = [];
  for (const f of commit) {
    const id = now.get(f) ?? before.get(f);
    if (id === undefined) continue;
    changes.push({ path: f, workPackageId: id, action: gone(f) ? 'delete' : hasHead && changed.get(f) ? 'update' : 'create' });
  }
  const pages = await describePages(pagesOf(changes), (p) => (p.action === 'delete' ? headBytes(p.pageFile!) : readFile(path.join(realRoot, ...p.pageFile!.split('/')))), contentPrefix(realRoot), COMMIT_LIST_MAX);
  const message = o.message(pages, leftovers);
  // Exactly these paths (`git commit --only`): whatever else the user staged stays staged.
  const r = await gitRun(top, ['commit', '--quiet', '-m', message, '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(commit.map(toTop)));
  if (r.code !== 0) {
    // Leave the index as it was; the files stay written and the next --git-commit run commits them.
    if (hasHead) await gitRun(top, ['reset', '-q', '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(commit.map(toTop)));
    else await gitRun(top, ['rm', '-q', '--cached', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], nulList(commit.map(toTop)));
    throw new CurateError('OUTPUT', `--git-commit: git commit failed: ${lastLine(r.err) || `exit status ${r.code}`}. The ${commit.length} file(s) are written but not committed; the next run with --git-commit commits them.`);
  }
  return { id: (await git(top, ['rev-parse', 'HEAD'])).trim(), files: commit, leftovers, stateShardsRead: shardsRead, pages, message };
}

const nulList = (paths: string[]): string => paths.map((p) => `${p}\0`).join('');
const splitNul = (s: string): string[] => s.split('\0').filter(Boolean);

/** A file under `root` as HEAD has it (`rel` relative to root); null outside a repository or when HEAD lacks it. */
export async function readAtHead(root: string, rel: string): Promise<Buffer | null> {
  const realRoot = await realpath(root).catch(() => null);
  if (realRoot === null) return null;
  const top = (await gitRun(realRoot, ['rev-parse', '--show-toplevel']).catch(() => null))?.out.toString('utf8').trim();
  if (!top) return null;
  const p = path.relative(await realpath(top), path.join(realRoot, ...rel.split('/'))).split(path.sep).join('/');
  const r = await gitRun(top, ['show', `HEAD:${p}`]).catch(() => null);
  return r?.code === 0 ? r.out : null;
}
