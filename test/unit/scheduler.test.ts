// The mapping scheduler (src/sync/scheduler.ts): back-pressure, drained() and quiesce().
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/sync/scheduler.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('scheduler', () => {
  it('drained() waits for every task, including those queued by tasks while it waits', async () => {
    const s = createScheduler(2);
    const done: number[] = [];
    for (let i = 0; i < 5; i++)
      s.run(async () => {
        await tick();
        done.push(i);
        if (i === 4)
          s.run(async () => {
            await tick();
            done.push(99);
          });
      });
    await s.drained();
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 99]);
    await s.drained(); // nothing pending: at once
  });

  it('drained() rejects with the first failure without waiting for the rest; quiesce() waits for them', async () => {
    const s = createScheduler(4);
    let slowDone = false;
    s.run(async () => {
      for (let i = 0; i < 20; i++) await tick();
      slowDone = true;
    });
    s.run(async () => {
      await tick();
      throw new Error('first');
    });
    await expect(s.drained()).rejects.toThrow('first');
    expect(slowDone).toBe(false);
    await s.quiesce(5000);
    expect(slowDone).toBe(true);
    await expect(s.drained()).rejects.toThrow('first'); // a failure sticks
  });

  it('room() holds the listing while more than a page waits, and an abort releases it', async () => {
    const ctl = new AbortController();
    const s = createScheduler(1, ctl.signal);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    for (let i = 0; i < 1003; i++) s.run(() => gate);
    let roomy = false;
    void s.room().then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    ctl.abort();
    await tick();
    expect(roomy).toBe(true);
    release();
    await s.quiesce(5000);
    await expect(s.drained()).rejects.toThrow();
    s.dispose();
  });
});
