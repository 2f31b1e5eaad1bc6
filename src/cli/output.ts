// Where human output goes and how it looks: a spinner with live counts on a terminal,
// plain timestamped lines under cron and CI (a progress line every 10 s, no escape
// codes), nothing but errors with --quiet, and only the final JSON report on stdout
// with --json. Results (plan, diff, patch) go to stdout, everything else to stderr.
import type { Ora, Options as OraOptions } from 'ora';
import type { SyncEvent } from '../sync/index.js';
import type { StopSignal } from './interrupt.js';
import { fstatSync } from 'node:fs';
import { stdoutClosed, writeStdout } from './stdout.js';

export interface GlobalFlags {
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
  color?: boolean;
}

/** Off a terminal, a progress line at most this often. */
export const PROGRESS_EVERY_MS = 10_000;

/**
 * Whether to colour a stream: --no-color, then FORCE_COLOR (set and not "0"/"false":
 * colour even into a pipe), then NO_COLOR (any non-empty value), then "is it a terminal".
 */
export function colorEnabled(flag: boolean | undefined, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  return !!stream.isTTY && env.TERM !== 'dumb';
}

/**
 * A terminal a spinner can draw on. A pseudo-terminal without a size (`script`, some CI
 * runners) reports 0 columns: ora divides by the width to count lines to clear, and spun
 * forever there, so such a terminal gets plain lines.
 */
function interactive(): boolean {
  return !!process.stderr.isTTY && !process.env.CI && (process.stderr.columns ?? 0) > 0;
}

/**
 * stdout and stderr are one file or pipe that is not a terminal (cron's `>>log 2>&1`, a
 * journal): result lines (the plan) get timestamps like the rest, so the log reads in order.
 */
function sharedLog(): boolean {
  if (process.stdout.isTTY || process.stderr.isTTY) return false;
  try {
    const a = fstatSync(1);
    const b = fstatSync(2);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function duration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The counts a person wants while a sync runs; pure, so the wording is unit-tested. */
export class Progress {
  /**
   * Work packages each source's listings announced. A listing's first page (offset 1:
   * OpenProject counts pages from 1) starts a new query; later pages can only raise that
   * query's total (a chunked listing counts on, a keyset walk counts what is left).
   */
  private readonly totals = new Map<string, { done: number; current: number }>();
  done = 0;
  written = 0;
  bytes = 0;
  errors = 0;

  constructor(private readonly startedMs: number) {}

  onEvent(e: SyncEvent): void {
    if (e.type === 'page') {
      const t = this.totals.get(e.source) ?? { done: 0, current: 0 };
      if (e.offset <= 1) {
        t.done += t.current;
        t.current = e.total;
      } else t.current = Math.max(t.current, e.total);
      this.totals.set(e.source, t);
    } else if (e.type === 'workPackage') this.done += 1;
    else if (e.type === 'keptShard') this.done += e.ids.length;
    else if (e.type === 'download') this.bytes += e.bytes;
    else if (e.type === 'write') this.written += 1;
    else if (e.type === 'itemError') this.errors += 1;
  }

  get total(): number {
    let n = 0;
    for (const t of this.totals.values()) n += t.done + t.current;
    // A listing can grow while it is read; never show more done than total.
    return Math.max(n, this.done);
  }

  text(nowMs: number): string {
    const total = this.total;
    const parts = [`${this.done}/${total} work packages`, `${this.written} files written`, `${mb(this.bytes)} downloaded`];
    if (this.errors) parts.push(`${this.errors} failed`);
    const elapsed = nowMs - this.startedMs;
    if (this.done > 0 && total > this.done && elapsed > 0) parts.push(`ETA ${duration((elapsed / this.done) * (total - this.done))}`);
    return parts.join(', ');
  }
}

export class Output {
  readonly tty: boolean;
  /** Colour on stdout (the diff). */
  readonly color: boolean;
  /** Colour on stderr (the final ✔/✖). */
  private readonly errColor: boolean;
  private spinner: Ora | null = null;
  private ticker: NodeJS.Timeout | undefined;
  private progress = new Progress(Date.now());
  private label = '';

  constructor(
    readonly flags: GlobalFlags,
    /** ora, loaded only when a spinner can be shown (see create): cron and --json runs never load it. */
    private readonly spinnerFactory: ((o: OraOptions) => Ora) | null = null,
  ) {
    this.tty = interactive();
    this.color = colorEnabled(flags.color, process.stdout);
    this.errColor = colorEnabled(flags.color, process.stderr);
  }

  static async create(flags: GlobalFlags): Promise<Output> {
    const spinning = interactive() && !flags.quiet && !flags.json;
    return new Output(flags, spinning ? (await import('ora')).default : null);
  }

  /** Timestamps only where a log is read later: never on a terminal (as git, gh and terraform). */
  private readonly stamped = !process.stderr.isTTY;
  private readonly stampResults = sharedLog();

  private line(text: string): string {
    return this.stamped ? `${new Date().toISOString()} ${text}\n` : `${text}\n`;
  }

  /** Progress and notes: stderr, so stdout stays clean for diffs, patches and --json. */
  info(line: string): void {
    if (this.flags.quiet || this.flags.json) return;
    this.pauseSpinner(() => process.stderr.write(this.line(line)));
  }

  error(line: string): void {
    this.pauseSpinner(() => process.stderr.write(this.line(line)));
  }

  /** Results (plan, file list): stdout. Nothing once the reader has closed the pipe. */
  result(line: string): void {
    if (this.flags.json || stdoutClosed()) return;
    process.stdout.write(this.stampResults ? this.line(line) : `${line}\n`);
  }

  /** Like result, for long outputs (diffs): waits for a slow reader. */
  async resultAsync(line: string): Promise<void> {
    if (this.flags.json) return;
    await writeStdout(`${line}\n`);
  }

  private pauseSpinner(fn: () => void): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      fn();
      this.spinner.render();
    } else fn();
  }

  private progressText(): string {
    return `${this.label}: ${this.progress.text(Date.now())}`;
  }

  /** Start showing progress: a spinner on a terminal, else a line now and every PROGRESS_EVERY_MS. */
  start(label: string): void {
    this.label = label;
    this.progress = new Progress(Date.now());
    if (this.flags.quiet || this.flags.json) return;
    if (this.tty && this.spinnerFactory) {
      // discardStdin would put the terminal in raw mode, where Ctrl-C is a keystroke, not SIGINT.
      this.spinner = this.spinnerFactory({ text: `${label}…`, stream: process.stderr, discardStdin: false }).start();
      return;
    }
    this.info(`${label}…`);
    this.ticker = setInterval(() => this.info(this.progressText()), PROGRESS_EVERY_MS);
    this.ticker.unref();
  }

  onEvent = (e: SyncEvent): void => {
    this.progress.onEvent(e);
    // Failures are listed once, at the end (see the sync command); warnings as they come.
    if (e.type === 'warning') this.info(`warning: ${e.message}`);
    if (this.spinner) this.spinner.text = this.progressText();
    else if (e.type === 'phase' && this.flags.verbose) this.info(`phase: ${e.phase} (${this.progressText()})`);
  };

  /** Stop the spinner or the progress lines (before the plan and the summary are printed). */
  stopProgress(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.spinner) {
      this.spinner.stop();
      this.spinner = null;
    }
  }

  /** The last line of a command: ✔ or ✖ and the summary. With --quiet, only a failure. */
  done(ok: boolean, text: string): void {
    this.stopProgress();
    if (ok && (this.flags.quiet || this.flags.json)) return;
    if (!ok && this.flags.json) return;
    if (!this.tty) {
      this.error(text);
      return;
    }
    const mark = ok ? '✔' : '✖';
    const colored = this.errColor ? `${ok ? '\x1b[32m' : '\x1b[31m'}${mark}\x1b[39m` : mark;
    process.stderr.write(`${colored} ${text}\n`);
  }

  /** The first Ctrl-C or SIGTERM: say so at once, the command is now stopping. */
  interrupted(signal: StopSignal): void {
    this.stopProgress();
    if (this.flags.json) return;
    const what = signal === 'SIGINT' ? 'interrupted' : 'terminated';
    process.stderr.write(this.tty ? `\n${what}: stopping (Ctrl-C again quits at once)\n` : this.line(`${what} (${signal}): stopping`));
  }
}
