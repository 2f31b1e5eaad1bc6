// What every phase of one run shares: its options, the output root, how it reports
// (events, warnings), how it stops (checkpoint, abort) and the dry run's brake record.
import path from 'node:path';
import { SafetyError } from '../errors.js';
import type { SyncEvent } from './events.js';
import type { SyncOptions } from './types.js';

export interface RunContext {
  options: SyncOptions;
  root: string;
  dryRun: boolean;
  emit(e: SyncEvent): void;
  warn(message: string): void;
  readonly warnings: string[];
  /** The mass-delete brake: throws in a real run; a dry run records why and plans on. */
  brake(message: string): void;
  /** Why a real run would refuse this plan (a dry run's brake), or null. */
  refused(): string | null;
  /** Throws the abort signal's reason once the run is aborted. */
  checkpoint(): void;
  isAborted(): boolean;
  /** This machine's clock. */
  clock(): Date;
}

export function createRunContext(options: SyncOptions): RunContext {
  const dryRun = options.dryRun ?? false;
  const warnings: string[] = [];
  const emit = (e: SyncEvent): void => options.onEvent?.(e);
  let refused: string | null = null;
  return {
    options,
    root: path.resolve(options.outputRoot),
    dryRun,
    emit,
    warnings,
    warn(message) {
      warnings.push(message);
      emit({ type: 'warning', message });
    },
    // The brake stops a real run; a dry run (how a user sees what would be deleted)
    // records why and plans on, and its report says a real run would be refused.
    brake(message) {
      if (!dryRun) throw new SafetyError(message);
      refused ??= message;
    },
    refused: () => refused,
    checkpoint: () => options.signal?.throwIfAborted(),
    isAborted: () => options.signal?.aborted ?? false,
    clock: options.clock ?? ((): Date => new Date()),
  };
}
