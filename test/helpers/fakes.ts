/** Test doubles of the core's ports: an exact clock, scripted randomness, an in-memory key store, a capturing alert publisher. */
import type { Alert, AlertPublisher } from '../../lambdas/core/metering/ports';
import type { ApiKeyRecord } from '../../lambdas/core/access/ports';
import type { ApiKeyStore } from '../../lambdas/core/access/ports';
import type { Clock, Random } from '../../lambdas/core/ports';

/** A clock that only moves when told to; `sleep` advances it instantly and records the delay. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public current = Date.UTC(2026, 10, 22, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new Error('aborted');
    this.sleeps.push(ms);
    this.current += ms;
  }
}

/** Randomness that returns the given values in turn (then repeats the last one). */
export class ScriptedRandom implements Random {
  private index = 0;
  constructor(private readonly values: number[] = [0.5]) {}
  next(): number {
    const value = this.values[Math.min(this.index, this.values.length - 1)] ?? 0.5;
    this.index += 1;
    return value;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, (_, i) => (i * 31 + this.index++) % 256);
  }
}

export class InMemoryApiKeyStore implements ApiKeyStore {
  readonly items = new Map<string, ApiKeyRecord>();
  reads = 0;
  async findByHash(keyHash: string) {
    this.reads += 1;
    return this.items.get(keyHash);
  }
  async findById(id: string) {
    return [...this.items.values()].find((r) => r.id === id);
  }
  async put(record: ApiKeyRecord) {
    this.items.set(record.keyHash, { ...record });
  }
  async listByUser(userId: string) {
    return [...this.items.values()].filter((r) => r.userId === userId);
  }
  async revoke(keyHash: string, revokedAt: string) {
    const item = this.items.get(keyHash);
    if (!item) return false;
    this.items.set(keyHash, { ...item, status: 'revoked', revokedAt });
    return true;
  }
  async ping() {}
}

/** An alert publisher that keeps what it was given. */
export class CapturingAlerts implements AlertPublisher {
  readonly sent: Alert[] = [];
  async publish(alert: Alert) {
    this.sent.push(alert);
  }
}
