// Exit statuses, in the spirit of `terraform plan -detailed-exitcode`.
import { CurateError } from '../errors.js';

export const EXIT = {
  /** Success; for --dry-run: nothing to change. */
  OK: 0,
  /** An error, including per-item failures (the rest of the run still applied). */
  ERROR: 1,
  /** --dry-run: changes are pending. */
  CHANGES: 2,
  /** Another sync holds the lock on this output root. */
  LOCKED: 3,
  /** Bad command-line usage. */
  USAGE: 64,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof CurateError && error.code === 'LOCKED') return EXIT.LOCKED;
  return EXIT.ERROR;
}
