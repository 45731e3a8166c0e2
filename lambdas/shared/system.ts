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
 * way. Every caller gets its own copy; no byte is handed out twice.
 */
export function pooledRandomBytes(fill: (buffer: Buffer) => void = randomFillSync, poolBytes = POOL_BYTES): (n: number) => Uint8Array {
  const pool = Buffer.allocUnsafe(poolBytes);
  let offset = poolBytes;
  return (n) => {
    if (n > poolBytes) {
      const out = Buffer.allocUnsafe(n);
      fill(out);
      return out;
    }
    if (offset + n > poolBytes) {
      fill(pool);
      offset = 0;
    }
    const out = Buffer.from(pool.subarray(offset, offset + n));
    offset += n;
    return out;
  };
}

export const systemRandom: Random = {
  next: () => Math.random(),
  bytes: pooledRandomBytes(),
};
