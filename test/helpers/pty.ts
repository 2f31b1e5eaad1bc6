// Running the real CLI on a pseudo-terminal (util-linux `script`): what a person sees,
// and keys a person types. Bytes written to `script`'s stdin reach the terminal as
// keystrokes, so "\x03" is a real Ctrl-C (the terminal driver turns it into SIGINT for
// the foreground process group) and "\x04" a real Ctrl-D.
import { spawn } from 'node:child_process';
import { BIN } from './env.js';

export interface PtyRun {
  /** Type bytes on the terminal. */
  type(keys: string): void;
  /** Everything the terminal showed so far. */
  output(): string;
  /** Resolves once the output matches (or rejects after timeoutMs). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit status and when the process ended (performance.now()). */
  done: Promise<{ code: number | null; endedAt: number; out: string }>;
}

export const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** The shell command that runs the built CLI with `args`. */
export const curateCmd = (args: string[]): string => [process.execPath, BIN, ...args].map(shq).join(' ');

/**
 * Run `cmd` (a shell command line) on a terminal of `cols` columns (0 = a terminal that
 * reports no size, as some CI runners do). Killed with its process group after `killAfterMs`.
 */
export function onPty(cmd: string, env: NodeJS.ProcessEnv, options: { cols?: number; cwd?: string; killAfterMs?: number } = {}): PtyRun {
  const cols = options.cols ?? 100;
  const line = cols ? `stty cols ${cols} rows 30; ${cmd}` : cmd;
  // Its own process group, so a hung run is killed with everything under it.
  const child = spawn('script', ['-qec', line, '/dev/null'], { cwd: options.cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', CURATE_CACHE_DIR: 'off', ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) {
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.stdin.on('error', () => undefined);
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), options.killAfterMs ?? 60_000);
  const done = new Promise<{ code: number | null; endedAt: number; out: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, endedAt: performance.now(), out });
    });
  });
  return {
    type: (keys) => void child.stdin.write(keys),
    output: () => out,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out.slice(-2000)}`)), timeoutMs);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      }),
    done,
  };
}

/**
 * The text of a terminal session: a move to the first column (how a spinner redraws its
 * line) starts a new line; other escape sequences and carriage returns are removed.
 */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[1?G/g, '\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
