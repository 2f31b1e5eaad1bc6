// The run's look at the tree ahead of the plan (src/sync/tree.ts `createTreeLook`): paths
// looked at while work packages are mapped are answered from that look once, the others as
// they are asked; at most `limit` paths wait, and a failed look is the plan's to see.
import { describe, expect, it } from 'vitest';
import { createTreeLook } from '../../src/sync/tree.js';

const fakeHasher = () => {
  const calls: string[] = [];
  const hash = (p: string): Promise<string | null> => {
    calls.push(p);
    return p.startsWith('bad/') ? Promise.reject(new Error(`EACCES ${p}`)) : Promise.resolve(p.startsWith('none/') ? null : `sha-of-${p}-${calls.length}`);
  };
  return { calls, hash };
};

describe('createTreeLook', () => {
  it('looks at paths at once, answers each from that look once, then asks the disk again', async () => {
    const { calls, hash } = fakeHasher();
    const look = createTreeLook(hash, 10);
    look.lookAhead(['a.md', 'none/b.png', 'a.md']);
    expect(calls).toEqual(['a.md', 'none/b.png']);
    expect(await look.hash('a.md')).toBe('sha-of-a.md-1');
    expect(await look.hash('none/b.png')).toBeNull();
    expect(calls).toHaveLength(2);
    // Taken once: a second question is asked of the disk.
    expect(await look.hash('a.md')).toBe('sha-of-a.md-3');
    expect(await look.hash('c.md')).toBe('sha-of-c.md-4');
    expect(calls).toEqual(['a.md', 'none/b.png', 'a.md', 'c.md']);
  });

  it('looks at no more than its limit of paths in a run', async () => {
    const { calls, hash } = fakeHasher();
    const look = createTreeLook(hash, 3);
    look.lookAhead(['1', '2']);
    look.lookAhead(['3', '4', '5']);
    expect(calls).toEqual(['1', '2', '3']);
    // Taking a path back does not make room: the limit counts the run's looks.
    await look.hash('1');
    look.lookAhead(['6']);
    expect(calls).toEqual(['1', '2', '3']);
  });

  it('a look that fails is not an unhandled rejection: the plan sees the error when it asks', async () => {
    const { hash } = fakeHasher();
    const look = createTreeLook(hash, 10);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      look.lookAhead(['bad/x.md']);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      await expect(look.hash('bad/x.md')).rejects.toThrow('EACCES bad/x.md');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
