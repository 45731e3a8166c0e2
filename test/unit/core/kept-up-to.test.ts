import { keptUpTo } from '../../../lambdas/core/kept-up-to';

describe('keptUpTo', () => {
  it('computes a key once while it is kept, and again after the memo was emptied at capacity', () => {
    const computed: string[] = [];
    const length = keptUpTo(3, (key) => {
      computed.push(key);
      return key.length;
    });
    expect([length('a'), length('bb'), length('a'), length('ccc'), length('bb')]).toEqual([1, 2, 1, 3, 2]);
    expect(computed).toEqual(['a', 'bb', 'ccc']);
    // Full (3 kept): the fourth key empties the memo, then is kept alone.
    expect(length('dddd')).toBe(4);
    expect(length('dddd')).toBe(4);
    expect(length('a')).toBe(1);
    expect(computed).toEqual(['a', 'bb', 'ccc', 'dddd', 'a']);
  });

  it('refuses a capacity that keeps nothing', () => {
    expect(() => keptUpTo(0, (key) => key)).toThrow(RangeError);
  });

  it('keeps a result that is falsy', () => {
    let calls = 0;
    const zero = keptUpTo(2, () => {
      calls += 1;
      return 0;
    });
    zero('x');
    zero('x');
    expect(calls).toBe(1);
  });
});
