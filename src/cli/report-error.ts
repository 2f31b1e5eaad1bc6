// The single error boundary's wording: typed errors → a message that says what to do next
// and an exit status; anything else is a bug (or the machine: disk full, permissions).
// Pure, so the wording and the exit statuses are unit-tested without spawning the CLI.
import { readFileSync } from 'node:fs';
import { CurateError, OpenProjectError } from '../errors.js';
import { exitCodeFor } from './exit-codes.js';

export interface DescribedError {
  exitCode: number;
  /** Lines for stderr, in order. */
  lines: string[];
  /** The `error` member of the --json report. */
  json: { code: string; message: string };
}

/** Node's system errors (ENOSPC, EACCES, …) come from the machine, not from a bug in curate. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Remove secret values from text. Library messages never carry secrets by design; this is
 * the last line of defence for messages that come from elsewhere (undici, fs, git).
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}

export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  let fromFile: string | undefined;
  const file = env.OPENPROJECT_TOKEN_FILE?.trim();
  if (file) {
    try {
      fromFile = readFileSync(file, 'utf8');
    } catch {
      /* unreadable: nothing from it can be in a message either */
    }
  }
  return [env.OPENPROJECT_API_KEY, env.OPENPROJECT_TOKEN, fromFile].map((s) => s?.trim()).filter((s): s is string => !!s);
}

/** What to do next, for server-side failures whose message names only the request. */
function hintFor(e: CurateError, noKey: boolean): string | null {
  if (!(e instanceof OpenProjectError)) return null;
  if (e.status === 401 && noKey) return 'no key is set: neither OPENPROJECT_API_KEY nor OPENPROJECT_TOKEN (nor a readable OPENPROJECT_TOKEN_FILE) is in the environment, so the request went without credentials. Set OPENPROJECT_API_KEY to an API key (My account → Access tokens → API)';
  if (e.status === 401) return 'the server refused the credentials: check OPENPROJECT_API_KEY (or OPENPROJECT_TOKEN / OPENPROJECT_TOKEN_FILE; an OAuth access token expires and must be renewed); `curate doctor` checks the connection';
  if (e.status === 403) return "the credentials' user may not read this: grant it view permissions on the configured projects";
  if (e.status === null) return 'the server could not be reached: check openproject.url / OPENPROJECT_URL and the network; `curate doctor` checks the connection';
  if (e.status >= 500) return 'the server failed; curate retried and gave up: run again later (the next sync resumes where this one stopped)';
  return null;
}

export function describeError(e: unknown, options: { verbose?: boolean; secrets?: readonly string[] } = {}): DescribedError {
  const secrets = options.secrets ?? [];
  const lines: string[] = [];
  let code: string;
  if (e instanceof CurateError) {
    code = e.code;
    lines.push(`error: ${e.message}`);
    const hint = hintFor(e, options.secrets !== undefined && options.secrets.length === 0);
    if (hint) lines.push(hint);
  } else if (isSystemError(e)) {
    code = 'SYSTEM';
    lines.push(`error: ${e.message}`);
    if (e.code === 'ENOSPC') lines.push('the disk is full: free space and run again (nothing half-written is left where the site reads)');
    else if (e.code === 'EDQUOT') lines.push("this user's disk quota is used up: free space or raise the quota, and run again (nothing half-written is left where the site reads)");
    else if (e.code === 'EROFS') lines.push('the filesystem is read-only (a read-only mount, or one the kernel remounted read-only after disk errors): make it writable or choose another output root');
    else if (e.code === 'EACCES' || e.code === 'EPERM') lines.push('check the permissions of the output root and the configuration file');
  } else {
    code = 'INTERNAL';
    lines.push(`internal error (a bug in curate): ${messageOf(e)}`);
    if (!options.verbose) lines.push('run again with --verbose for the stack trace, and report it with that output');
  }
  if (options.verbose) {
    if (e instanceof Error && e.stack) lines.push(e.stack);
    // The cause chain says where a wrapped failure started (a socket error under an HTTP error, …).
    let cause = e instanceof Error ? e.cause : undefined;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      lines.push(`caused by: ${cause instanceof Error && cause.stack ? cause.stack : messageOf(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return {
    exitCode: exitCodeFor(e),
    lines: lines.map((l) => scrub(l, secrets)),
    json: { code, message: scrub(messageOf(e), secrets) },
  };
}
