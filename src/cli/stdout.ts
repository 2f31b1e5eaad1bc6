// Writing to stdout when the reader may go away: `curate sync --dry-run | head -1` closes
// the pipe after one line. Node reports that as an EPIPE 'error' event, which, unheard,
// ends the process with a stack trace. Here it only means "stop writing": the command
// runs on and exits with its own status (2 for a dry run with changes).
let closed = false;

function isClosedPipe(e: NodeJS.ErrnoException): boolean {
  return e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' || e.code === 'ERR_STREAM_WRITE_AFTER_END';
}

/** Install once, before anything is written (help included). */
export function watchStdio(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!isClosedPipe(e)) throw e;
    closed = true;
  });
  // A closed stderr (`2>&1 | head -1`) is no reason to fail either.
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!isClosedPipe(e)) throw e;
  });
}

export function stdoutClosed(): boolean {
  return closed || process.stdout.destroyed;
}

/** Write to stdout, waiting for the pipe to drain; a no-op once the reader is gone. */
export async function writeStdout(text: string): Promise<void> {
  if (stdoutClosed()) return;
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.stdout.on('drain', done);
    process.stdout.on('close', done);
    process.stdout.on('error', done);
  });
}
