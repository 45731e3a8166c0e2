/**
 * The ports every capability of the core shares (time and randomness). Each capability keeps its own
 * ports at the top of its folder (`ai/ports.ts`, `access/ports.ts`, ...); adapters implement them per
 * technology and the composition root (`lambdas/shared/container.ts`) wires them together.
 */

/** Wall clock and sleeping, injected so windows, TTLs and backoff are exact in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Randomness, injected so jitter and generated identifiers are reproducible in tests. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}
