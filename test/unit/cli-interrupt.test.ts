// The signal rule of every command (src/cli/interrupt.ts): the first SIGINT/SIGTERM aborts the
// command's AbortSignal and says so; a second one ends the process at once; a command that
// has not stopped within the grace period is ended by the watchdog. The terminal tests
// (test/cli/terminal.test.ts) see the binary do it, but there the first stop is usually done
// before a second key could matter, so the rule itself is held here, with signals emitted
// to this process's listeners and `exit` injected.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Interrupted, listenForSignals, STOP_WITHIN_MS, type Interrupter } from '../../src/cli/interrupt.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

describe('listenForSignals', () => {
  let listening: Interrupter | null = null;
  afterEach(() => {
    listening?.dispose();
    listening = null;
    vi.useRealTimers();
  });

  function listen(graceMs?: number): { said: string[]; exits: number[] } {
    const said: string[] = [];
    const exits: number[] = [];
    listening = listenForSignals((s) => said.push(s), {
      ...(graceMs === undefined ? {} : { graceMs }),
      exit: (code) => {
        exits.push(code);
        throw new Exited(code);
      },
    });
    return { said, exits };
  }
  const send = (s: 'SIGINT' | 'SIGTERM'): unknown => {
    try {
      process.emit(s, s);
      return null;
    } catch (e) {
      return e;
    }
  };

  it('the first signal aborts with Interrupted and says so; the second ends the process at once with the first one\'s status', () => {
    vi.useFakeTimers();
    const { said, exits } = listen();
    expect(send('SIGINT')).toBeNull();
    expect(said).toEqual(['SIGINT']);
    expect(exits).toEqual([]);
    expect(listening!.signal.aborted).toBe(true);
    expect(listening!.signal.reason).toBeInstanceOf(Interrupted);
    expect((listening!.signal.reason as Interrupted).exitCode).toBe(130);
    expect(send('SIGTERM')).toBeInstanceOf(Exited);
    expect(exits).toEqual([130]);
    expect(said).toEqual(['SIGINT']);
  });

  it(`a command that has not stopped ${STOP_WITHIN_MS / 1000} s after the first signal is ended by the watchdog; one that stopped is not`, () => {
    vi.useFakeTimers();
    const { exits } = listen();
    send('SIGTERM');
    expect(() => vi.advanceTimersByTime(STOP_WITHIN_MS - 1)).not.toThrow();
    expect(exits).toEqual([]);
    expect(() => vi.advanceTimersByTime(1)).toThrow(Exited);
    expect(exits).toEqual([143]);
    listening!.dispose();

    const stopped = listen();
    send('SIGINT');
    listening!.dispose(); // the command stopped and cleaned up
    vi.advanceTimersByTime(10 * STOP_WITHIN_MS);
    expect(stopped.exits).toEqual([]);
  });

  it('with no grace (a command holding nothing to clean up) the first signal ends the process', () => {
    const { exits, said } = listen(0);
    expect(send('SIGINT')).toBeInstanceOf(Exited);
    expect(said).toEqual(['SIGINT']);
    expect(exits).toEqual([130]);
  });
});
