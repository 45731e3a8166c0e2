/** The real clock and randomness; tests inject their own. */
import { randomBytes } from 'node:crypto';
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

export const systemRandom: Random = {
  next: () => Math.random(),
  bytes: (n) => randomBytes(n),
};
