/**
 * Test doubles of the core's ports: an exact clock, scripted randomness, an in-memory key store, a
 * capturing alert publisher and telemetry, scripted providers and a static flag source.
 */
import type {
  ChatProvider,
  ProviderCall,
  ProviderCompletion,
  ProviderDirectory,
  ProviderOperation,
  ProviderStream,
} from '../../lambdas/core/ai/ports';
import type { ProviderId } from '../../lambdas/core/ai/route-table';
import { ProviderCallError, type ProviderFailure } from '../../lambdas/core/errors';
import type { Alert, AlertPublisher } from '../../lambdas/core/metering/ports';
import type { RequestSummary } from '../../lambdas/core/request-summary';
import type { FlagSource } from '../../lambdas/core/rollout/ports';
import type { HealthStore, OutcomeDelta, TargetState, TargetStats } from '../../lambdas/core/health/ports';
import type { Telemetry } from '../../lambdas/core/telemetry';
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

/** One scripted provider call: a failure, an answer (optionally with its text), or stream events (optionally failing after them). */
export type Step = (
  { fail: ProviderFailure } | { ok: true; text?: string } | { events: string[]; thenFail?: ProviderFailure } | { hang: true }
) & {
  takesMs?: number;
};

const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

/** An OpenAI `chat.completion` body as a provider sends it. */
export function completionBody(provider: string, model: string, text: string): string {
  return JSON.stringify({
    id: `chatcmpl-${provider}`,
    object: 'chat.completion',
    created: 1_764_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
  });
}

/** The `data` payloads of an OpenAI stream answering `text` (with the usage chunk when asked for). */
export function answerChunks(provider: string, model: string, text: string, includeUsage: boolean): string[] {
  const base = { id: `chatcmpl-${provider}`, object: 'chat.completion.chunk', created: 1_764_000_000, model };
  return [
    JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }),
    JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }] }),
    JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }),
    ...(includeUsage ? [JSON.stringify({ ...base, choices: [], usage: USAGE })] : []),
  ];
}

/** A provider that plays a script of outcomes, one per call (an answer once the script runs out). */
export class ScriptedProvider implements ChatProvider {
  readonly calls: ProviderCall[] = [];
  constructor(
    readonly id: ProviderId,
    private readonly steps: Step[],
    private readonly clock?: FakeClock,
    /** Operations besides chat it serves (default: all). */
    private readonly operations?: ReadonlySet<ProviderOperation>,
  ) {}
  supports(operation: ProviderOperation): boolean {
    return operation === 'chat' || !this.operations || this.operations.has(operation);
  }
  private next(call: ProviderCall): Step {
    this.calls.push(call);
    const step: Step = this.steps.shift() ?? { ok: true };
    if (step.takesMs) this.clock?.advance(step.takesMs);
    if ('fail' in step) throw new ProviderCallError(step.fail, `${this.id} scripted failure`);
    return step;
  }
  private text(step: Step): string {
    return 'ok' in step && step.text !== undefined ? step.text : `hello from ${this.id}`;
  }
  async complete(call: ProviderCall): Promise<ProviderCompletion> {
    const step = this.next(call);
    // No answer, until the call is aborted.
    if ('hang' in step) await hangingStream(call.signal)[Symbol.asyncIterator]().next();
    return {
      rawBody: completionBody(this.id, call.upstreamModel, this.text(step)),
      model: call.upstreamModel,
      usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
    };
  }
  async stream(call: ProviderCall): Promise<ProviderStream> {
    const step = this.next(call);
    if ('hang' in step) return hangingStream(call.signal);
    const includeUsage = (call.body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
    const events = 'events' in step ? step.events : answerChunks(this.id, call.upstreamModel, this.text(step), includeUsage);
    const thenFail = 'events' in step ? step.thenFail : undefined;
    const id = this.id;
    async function* gen() {
      yield* events;
      if (thenFail) throw new ProviderCallError(thenFail, `${id} failed mid-stream`);
    }
    const it = gen();
    return { [Symbol.asyncIterator]: () => it, cancel: () => void it.return(undefined) };
  }
}

/** A stream that never sends an event: it ends (as aborted) only when the call is aborted. */
function hangingStream(signal: AbortSignal): ProviderStream {
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new ProviderCallError({ errorClass: 'aborted' }, 'hanging upstream: call aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  return { [Symbol.asyncIterator]: () => ({ next: () => aborted }), cancel: () => undefined };
}

/** A clock whose sleeps end only when the test moves it past them. */
export class ManualClock implements Clock {
  private waiters: Array<{ at: number; resolve: () => void }> = [];
  constructor(public current = Date.UTC(2026, 10, 22, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const waiter = { at: this.current + ms, resolve };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('aborted'));
      });
    });
  }
  /** Moves time on, wakes the sleeps that are due, and lets the woken work run. */
  async advance(ms: number): Promise<void> {
    this.current += ms;
    const due = this.waiters.filter((w) => w.at <= this.current);
    this.waiters = this.waiters.filter((w) => w.at > this.current);
    for (const waiter of due) waiter.resolve();
    await settleMicrotasks();
  }
}

/** Lets pending promise callbacks run. */
export const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A provider directory over fixed providers (absent ones are "not configured"). */
export function directory(providers: Partial<Record<ProviderId, ChatProvider>>): ProviderDirectory {
  return {
    get: async (id) => providers[id],
    configured: async () => Object.keys(providers) as ProviderId[],
  };
}

/** A flag source that always serves the same document. */
export class StaticFlagSource implements FlagSource {
  readonly name = 'static';
  constructor(private readonly document: unknown) {}
  async fetch() {
    return this.document;
  }
}

/** Telemetry that keeps request summaries and log events. */
export class CapturingTelemetry implements Telemetry {
  readonly summaries: RequestSummary[] = [];
  readonly events: Array<{ level: 'error' | 'info'; message: string; context: Record<string, unknown> }> = [];
  readonly counts: Record<string, number> = {};
  record(summary: RequestSummary) {
    this.summaries.push(summary);
  }
  error(message: string, context: Record<string, unknown>) {
    this.events.push({ level: 'error', message, context });
  }
  info(message: string, context: Record<string, unknown>) {
    this.events.push({ level: 'info', message, context });
  }
  usage() {}
  count(metric: string, value: number) {
    this.counts[metric] = (this.counts[metric] ?? 0) + value;
  }
  readonly metrics: Array<{ name: string; value: number; dimensions: Record<string, string> }> = [];
  metric(name: string, value: number, dimensions: Record<string, string>) {
    this.metrics.push({ name, value, dimensions });
  }
}

/** A health store in memory, with the same conditional-write semantics as the DynamoDB one. */
export class InMemoryHealthStore implements HealthStore {
  readonly states_: Record<string, TargetState> = {};
  readonly stats_: Record<string, TargetStats> = {};
  writes = 0;
  failing = false;
  private check() {
    if (this.failing) throw new Error('health store unavailable');
  }
  async states() {
    this.check();
    return structuredClone(this.states_);
  }
  async transition(key: string, expected: number, next: TargetState) {
    this.check();
    this.writes += 1;
    if ((this.states_[key]?.v ?? 0) !== expected) return false;
    this.states_[key] = structuredClone(next);
    return true;
  }
  async record(key: string, delta: OutcomeDelta, slot: number, ringSize: number, now: number) {
    this.check();
    this.writes += 1;
    const stats = (this.stats_[key] ??= { slots: [], consecutiveFailures: 0, lastAt: 0 });
    stats.slots = stats.slots.filter((s) => s.slot > slot - ringSize);
    let current = stats.slots.find((s) => s.slot === slot);
    if (!current) {
      current = { slot, successes: 0, failures: 0, tokens: 0, latency: {}, firstEvent: {} };
      stats.slots.push(current);
    }
    current.successes += delta.successes;
    current.failures += delta.failures;
    current.tokens += delta.tokens;
    for (const [b, n] of Object.entries(delta.latency)) current.latency[b] = (current.latency[b] ?? 0) + n;
    for (const [b, n] of Object.entries(delta.firstEvent)) current.firstEvent[b] = (current.firstEvent[b] ?? 0) + n;
    stats.consecutiveFailures = delta.hadSuccess ? delta.trailingFailures : stats.consecutiveFailures + delta.trailingFailures;
    stats.lastAt = now;
    if (delta.limits) stats.limits = delta.limits;
    return structuredClone(stats);
  }
  async resetFailures(key: string) {
    this.check();
    this.writes += 1;
    const stats = this.stats_[key];
    if (stats) stats.consecutiveFailures = 0;
  }
  async stats(keys: string[]) {
    this.check();
    return Object.fromEntries(
      keys.map((key) => [key, structuredClone(this.stats_[key] ?? { slots: [], consecutiveFailures: 0, lastAt: 0 })]),
    );
  }
}
