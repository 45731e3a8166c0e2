import { pooledRandomBytes, systemRandom } from '../../../lambdas/shared/system';

/** A fill that writes 0, 1, 2, ... (mod 256) across calls, and counts its calls. */
function countingFill() {
  let next = 0;
  const fill = (buffer: Uint8Array) => {
    fill.calls += 1;
    for (let i = 0; i < buffer.length; i++) buffer[i] = next++ % 256;
  };
  fill.calls = 0;
  return fill;
}

describe('pooledRandomBytes', () => {
  it('hands out consecutive slices of one fill, then refills when the pool cannot cover a request', () => {
    const fill = countingFill();
    const bytes = pooledRandomBytes(fill, 8);
    expect([...bytes(3)]).toEqual([0, 1, 2]);
    expect([...bytes(5)]).toEqual([3, 4, 5, 6, 7]);
    expect(fill.calls).toBe(1);
    // 8 bytes used: the next request takes a fresh fill, never a byte already handed out.
    expect([...bytes(4)]).toEqual([8, 9, 10, 11]);
    expect(fill.calls).toBe(2);
    // 4 left, 6 asked: the rest of the pool is dropped, not reused.
    expect([...bytes(6)]).toEqual([16, 17, 18, 19, 20, 21]);
    expect(fill.calls).toBe(3);
  });

  it('fills a request larger than the pool on its own, leaving the pool as it was', () => {
    const fill = countingFill();
    const bytes = pooledRandomBytes(fill, 4);
    expect([...bytes(2)]).toEqual([0, 1]);
    expect([...bytes(6)]).toEqual([4, 5, 6, 7, 8, 9]);
    expect([...bytes(2)]).toEqual([2, 3]);
  });

  it('gives each caller a copy in memory of its own, which a refill of the pool does not change', () => {
    const bytes = pooledRandomBytes(countingFill(), 4);
    const kept = bytes(2);
    expect(kept.buffer.byteLength).toBe(2);
    bytes(2);
    bytes(4); // refills the pool
    expect([...kept]).toEqual([0, 1]);
  });

  it('keeps no byte it handed out', () => {
    let pool: Uint8Array | undefined;
    const bytes = pooledRandomBytes((buffer) => {
      pool ??= buffer;
      buffer.fill(7);
    }, 8);
    bytes(3);
    expect([...pool!]).toEqual([0, 0, 0, 7, 7, 7, 7, 7]);
  });

  it.each([-1, 1.5, Number.NaN])('refuses %p bytes', (n) => {
    const bytes = pooledRandomBytes(countingFill(), 8);
    expect(() => bytes(n)).toThrow(RangeError);
    expect([...bytes(2)]).toEqual([0, 1]);
  });
});

describe('systemRandom.bytes', () => {
  it('returns the length asked for, and different bytes each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const bytes = systemRandom.bytes(12);
      expect(bytes).toHaveLength(12);
      seen.add(Buffer.from(bytes).toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });
});
