// Running the real `curate watch` binary beside the in-process simulator: start it, read
// its JSON log lines, wait for events, talk HTTP to it, stop or kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { BIN, ROOT } from './env.js';

export const WEBHOOK_SECRET = 'whsec-test-3f9a61c2';

export interface LogLine {
  time: string;
  level: string;
  message: string;
  event: string;
  [k: string]: unknown;
}

export interface RunningWatch {
  child: ChildProcess;
  url: string;
  lines: LogLine[];
  stderr(): string;
  /** Resolves with the first line (after index `from`) that matches. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWatch(args: string[], env: NodeJS.ProcessEnv): Promise<RunningWatch> {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, CURATE_CACHE_DIR: 'off', HOME: process.env.HOME, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) lines.push(JSON.parse(line) as LogLine);
    }
    waiters.forEach((w) => w());
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const waitFor = (match: (l: LogLine) => boolean, timeoutMs = 30_000, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = lines.slice(from).find(match);
        if (hit) {
          waiters.delete(onData);
          clearTimeout(t);
          resolve(hit);
          return true;
        }
        return false;
      };
      const onData = (): void => void check();
      const t = setTimeout(() => {
        waiters.delete(onData);
        reject(new Error(`timed out; log so far:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`));
      }, timeoutMs);
      waiters.add(onData);
      void exited.then(() => setTimeout(() => {
        if (!check()) {
          waiters.delete(onData);
          clearTimeout(t);
          reject(new Error(`the watcher exited; log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`));
        }
      }, 50));
      check();
    });
  return waitFor((l) => l.event === 'listening', 30_000).then((l) => ({ child, url: String(l.url), lines, stderr: () => err, waitFor, exited }));
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(url: string, options: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls /healthz until it answers 200. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<HttpAnswer> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await request(`${url}/healthz`).catch(() => null);
    if (r?.status === 200) return r;
    if (Date.now() > until) throw new Error(`not ready after ${timeoutMs} ms: ${r?.status} ${r?.body}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export const syncLines = (w: RunningWatch, kind: 'targeted' | 'reconcile'): LogLine[] => w.lines.filter((l) => l.event === 'sync' && l.kind === kind && (l.outcome === 'ok' || l.outcome === 'item_errors'));
