import { describe, expect, it } from 'vitest';
import { requestSlots } from '../../src/openproject/slots.js';

/** A request the test answers by hand. */
function deferred(): { promise: Promise<string>; resolve: (v: string) => void; reject: (e: Error) => void } {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('request slots (src/openproject/slots.ts)', () => {
  it('runs at most `concurrency` at once, and the next queued as soon as one settles', async () => {
    const slots = requestSlots(2);
    const started: number[] = [];
    const answers = [0, 1, 2, 3].map(() => deferred());
    const results = answers.map((d, i) => slots(() => (started.push(i), d.promise)));
    await turns();
    expect(started).toEqual([0, 1]);
    answers[1]!.resolve('b');
    await turns();
    expect(started).toEqual([0, 1, 2]);
    answers[0]!.resolve('a');
    answers[2]!.resolve('c');
    answers[3]!.resolve('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('an urgent request takes the next free slot before normal ones queued earlier; each lane is first come, first served', async () => {
    const slots = requestSlots(1);
    const order: string[] = [];
    const first = deferred();
    const all = [
      slots(() => (order.push('n1'), first.promise)),
      slots(async () => (order.push('n2'), 'n2')),
      slots(async () => (order.push('n3'), 'n3')),
      slots(async () => (order.push('u1'), 'u1'), true),
      slots(async () => (order.push('u2'), 'u2'), true),
    ];
    await turns();
    expect(order).toEqual(['n1']);
    first.resolve('n1');
    await Promise.all(all);
    expect(order).toEqual(['n1', 'u1', 'u2', 'n2', 'n3']);
  });

  it('a request that throws at once, or rejects, is that request\'s error and frees its slot', async () => {
    const slots = requestSlots(1);
    await expect(
      slots(() => {
        throw new Error('at once');
      }),
    ).rejects.toThrow('at once');
    await expect(slots(() => Promise.reject(new Error('later')))).rejects.toThrow('later');
    expect(await slots(async () => 'still runs')).toBe('still runs');
  });

  it('thousands queued run in order, all of them (the queue drops what it handed out as it goes)', async () => {
    const slots = requestSlots(3);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 5000 }, (_, i) => slots(async () => void order.push(i), i % 7 === 0)));
    const urgent = order.filter((i) => i % 7 === 0);
    const normal = order.filter((i) => i % 7 !== 0);
    expect(order).toHaveLength(5000);
    expect(urgent).toEqual([...urgent].sort((a, b) => a - b));
    expect(normal).toEqual([...normal].sort((a, b) => a - b));
  });

  it('refuses a concurrency that is not a positive integer', () => {
    expect(() => requestSlots(0)).toThrow(/positive integer, got 0/);
    expect(() => requestSlots(1.5)).toThrow(RangeError);
  });
});
