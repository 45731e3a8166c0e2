import { TtlCache } from '../../../lambdas/core/ttl-cache';

describe('TtlCache', () => {
  it('keeps an entry until its TTL has passed on the injected clock', () => {
    let now = 1000;
    const cache = new TtlCache<string>(() => now, 10);
    cache.set('a', 'x', 50);
    now = 1049;
    expect(cache.get('a')).toBe('x');
    now = 1050;
    expect(cache.get('a')).toBeUndefined();
  });

  it('never expires an entry set with an infinite TTL', () => {
    let now = 0;
    const cache = new TtlCache<number>(() => now, 10);
    cache.set('bucket', 0, Number.POSITIVE_INFINITY);
    now = Number.MAX_SAFE_INTEGER;
    expect(cache.get('bucket')).toBe(0);
  });

  it('drops the oldest entry when full, and a set key counts as new', () => {
    const cache = new TtlCache<number>(() => 0, 3);
    for (const [key, value] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      cache.set(key, value, Number.POSITIVE_INFINITY);
    cache.set('a', 10, Number.POSITIVE_INFINITY); // 'a' is now the newest
    cache.set('d', 4, Number.POSITIVE_INFINITY); // full: 'b', the oldest, goes
    expect(['a', 'b', 'c', 'd'].map((key) => cache.get(key))).toEqual([10, undefined, 3, 4]);
  });

  it('forgets a deleted entry', () => {
    const cache = new TtlCache<number>(() => 0, 3);
    cache.set('a', 1, 100);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });
});
