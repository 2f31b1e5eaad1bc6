// Ctrl-C and `kill`: the first SIGINT/SIGTERM aborts the running command through an
// AbortSignal (a sync stops at its next checkpoint, removes its staging and releases its
// lock); a second one, or a command that has not stopped within STOP_WITHIN_MS, ends the
// process at once. Exit statuses follow the shell's 128 + signal number.
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT;

/** How long a command may take to stop cleanly after the first signal. */
export const STOP_WITHIN_MS = 2000;

/** The reason an interrupted command stopped (the AbortSignal's reason, and what prompts throw). */
export class Interrupted extends Error {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }

  get exitCode(): number {
    return SIGNAL_EXIT[this.signal];
  }
}

export interface Interrupter {
  readonly signal: AbortSignal;
  /** Stop listening (the command finished). */
  dispose(): void;
}

/**
 * Listen for SIGINT and SIGTERM. `onFirst` runs once, before the abort (to clear a spinner
 * and say what is happening); `exit` ends the process (injected for tests).
 */
export function listenForSignals(onFirst: (s: StopSignal) => void, options: { graceMs?: number; exit?: (code: number) => never } = {}): Interrupter {
  const exit = options.exit ?? ((code: number): never => process.exit(code));
  const graceMs = options.graceMs ?? STOP_WITHIN_MS;
  const controller = new AbortController();
  let first: StopSignal | null = null;
  let watchdog: NodeJS.Timeout | undefined;
  const handler = (s: StopSignal): void => {
    if (first) exit(SIGNAL_EXIT[first]);
    first = s;
    onFirst(s);
    // A command that holds nothing to clean up ends at once.
    if (graceMs === 0) exit(SIGNAL_EXIT[s]);
    controller.abort(new Interrupted(s));
    // Not unref'd: it is what ends a command that does not watch the signal in time.
    watchdog = setTimeout(() => {
      process.stderr.write(`curate did not stop within ${graceMs / 1000} s; exiting now (the next sync removes what this one left)\n`);
      exit(SIGNAL_EXIT[s]);
    }, graceMs);
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(watchdog);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
