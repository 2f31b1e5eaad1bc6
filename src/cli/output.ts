// Where human output goes and how it looks: a spinner on a terminal, plain timestamped
// lines under cron (no escape codes), nothing but errors with --quiet, and only the
// final JSON report on stdout with --json.
import type { Ora, Options as OraOptions } from 'ora';
import type { SyncEvent } from '../sync/index.js';

export interface GlobalFlags {
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
  color?: boolean;
}

/**
 * A terminal a spinner can draw on. A pseudo-terminal without a size (`script`, some CI
 * runners) reports 0 columns: ora divides by the width to count lines to clear, and spun
 * forever there, so such a terminal gets plain lines.
 */
function interactive(): boolean {
  return !!process.stderr.isTTY && !process.env.CI && (process.stderr.columns ?? 0) > 0;
}

export class Output {
  readonly tty: boolean;
  readonly color: boolean;
  private spinner: Ora | null = null;
  private counts = { pages: 0, workPackages: 0, downloads: 0, writes: 0, errors: 0 };

  constructor(
    readonly flags: GlobalFlags,
    /** ora, loaded only when a spinner can be shown (see create): cron and --json runs never load it. */
    private readonly spinnerFactory: ((o: OraOptions) => Ora) | null = null,
  ) {
    this.tty = interactive();
    this.color = flags.color !== false && !!process.stdout.isTTY && !process.env.NO_COLOR;
  }

  static async create(flags: GlobalFlags): Promise<Output> {
    const spinning = interactive() && !flags.quiet && !flags.json;
    return new Output(flags, spinning ? (await import('ora')).default : null);
  }

  /** Progress and notes: stderr, so stdout stays clean for diffs, patches and --json. */
  info(line: string): void {
    if (this.flags.quiet || this.flags.json) return;
    this.pauseSpinner(() => process.stderr.write(this.tty ? `${line}\n` : `${new Date().toISOString()} ${line}\n`));
  }

  error(line: string): void {
    this.pauseSpinner(() => process.stderr.write(this.tty ? `${line}\n` : `${new Date().toISOString()} ${line}\n`));
  }

  /** Results (summary, diff): stdout. */
  result(line: string): void {
    if (this.flags.json) return;
    process.stdout.write(`${line}\n`);
  }

  private pauseSpinner(fn: () => void): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      fn();
      this.spinner.render();
    } else fn();
  }

  private progressText(): string {
    const c = this.counts;
    return `syncing: ${c.pages} pages, ${c.workPackages} work packages, ${c.downloads} downloads, ${c.writes} writes${c.errors ? `, ${c.errors} errors` : ''}`;
  }

  start(text: string): void {
    if (this.flags.quiet || this.flags.json) return;
    if (this.tty && this.spinnerFactory) this.spinner = this.spinnerFactory({ text, stream: process.stderr }).start();
    else this.info(text);
  }

  onEvent = (e: SyncEvent): void => {
    if (e.type === 'page') this.counts.pages += 1;
    if (e.type === 'workPackage') this.counts.workPackages += 1;
    if (e.type === 'download') this.counts.downloads += 1;
    if (e.type === 'write') this.counts.writes += 1;
    if (e.type === 'itemError') {
      this.counts.errors += 1;
      this.error(`error: ${e.error.message}`);
    }
    if (e.type === 'warning') this.info(`warning: ${e.message}`);
    if (this.spinner) this.spinner.text = this.progressText();
    else if (e.type === 'phase' && this.flags.verbose) this.info(`phase: ${e.phase} (${this.progressText()})`);
  };

  stop(ok: boolean, text: string): void {
    if (this.spinner) {
      if (ok) this.spinner.succeed(text);
      else this.spinner.fail(text);
      this.spinner = null;
    } else if (ok) this.info(text);
    else this.error(text);
  }
}
