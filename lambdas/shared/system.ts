/** The real clock and randomness; tests inject their own. */
import { randomFillSync } from 'node:crypto';
import type { Clock, Random } from '../core/ports';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

const POOL_BYTES = 4096;

/**
 * Bytes from the system's CSPRNG, drawn `POOL_BYTES` at a time: one `randomBytes` call per request id
 * was 1.5% of a stateless request's CPU (each is a call into OpenSSL). Node's `randomUUID` pools the same
 * way. Every caller gets a copy in memory of its own, and the bytes it got are zeroed in the pool, so no
 * byte is handed out twice or kept after it was (API keys are made from these).
 */
export function pooledRandomBytes(fill: (buffer: Uint8Array) => void = randomFillSync, poolBytes = POOL_BYTES): (n: number) => Uint8Array {
  const pool = new Uint8Array(poolBytes);
  let offset = poolBytes;
  return (n) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`random bytes: ${n} is not a byte count`);
    if (n > poolBytes) {
      const out = new Uint8Array(n);
      fill(out);
      return out;
    }
    if (offset + n > poolBytes) {
      fill(pool);
      offset = 0;
    }
    const out = pool.slice(offset, offset + n);
    pool.fill(0, offset, offset + n);
    offset += n;
    return out;
  };
}

export const systemRandom: Random = {
  next: () => Math.random(),
  bytes: pooledRandomBytes(),
};
