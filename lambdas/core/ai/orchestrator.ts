/**
 * Runs a request against its planned targets in order: retries a target on retryable failures
 * (with backoff), falls back to the next target when retries are spent, and returns a client's own
 * mistakes (400, 401, 403, 404, 422, content filter) unchanged without fallback. For streams the
 * whole decision is made before the first event reaches the client. It says why a request failed
 * (`RouteFailure`); the HTTP layer alone decides the status and body.
 */
import { ProviderCallError, type ErrorClass, type ProviderFailure } from '../errors';
import type { ChatProvider, ProviderCall, ProviderCompletion, ProviderDirectory } from './ports';
import type { Clock, Random } from '../ports';
import { isRetryable, retryDelayMs } from './retry';
import type { PlannedTarget, ProviderId } from './route-table';

/** One call to one target, as it appears in the request's log line. */
export interface AttemptRecord {
  provider: ProviderId;
  model: string;
  /** 1-based attempt number on this target. */
  attempt: number;
  outcome: 'success' | 'retry' | 'fallback' | 'failed' | 'skipped';
  status: number | null;
  errorClass: ErrorClass | 'not_configured' | null;
  latencyMs: number;
  /** Wait before the next attempt on the same target. */
  retryDelayMs?: number;
}

export interface RouteTrace {
  attempts: AttemptRecord[];
  chosen: { provider: ProviderId; model: string; reason: string } | null;
  /** True when the answer came from a target other than the first candidate. */
  fallback: boolean;
}

export type FinalErrorClass = ErrorClass | 'no_provider_configured';

/** Why a request got no answer. */
export type RouteFailure =
  /** The client went away before an answer. */
  | { reason: 'client_gone' }
  /** The request's deadline passed before any target answered; `last` is the last failure seen. */
  | { reason: 'deadline'; last: ProviderFailure | undefined }
  /** Every target failed (`last` is the last failure), or none was configured (`last` undefined). */
  | { reason: 'exhausted'; last: ProviderFailure | undefined }
  /** A provider refused the request itself (a client error: 400, 401, 403, 404, 422, content filter); passed through. */
  | { reason: 'rejected'; failure: ProviderFailure };

/** The error class a failure is logged and recorded with. */
export function failureClass(failure: RouteFailure): FinalErrorClass {
  switch (failure.reason) {
    case 'client_gone':
      return 'aborted';
    case 'deadline':
      return 'timeout';
    case 'exhausted':
      return failure.last?.errorClass ?? 'no_provider_configured';
    case 'rejected':
      return failure.failure.errorClass;
  }
}

export type Routed<T> =
  { ok: true; target: PlannedTarget; value: T; trace: RouteTrace } | { ok: false; failure: RouteFailure; trace: RouteTrace };

/** A stream whose first event has arrived: from here on the target is fixed. */
export interface StartedStream {
  first: string;
  rest: AsyncIterator<string>;
  cancel(): void;
}

export interface OrchestratorDeps {
  providers: ProviderDirectory;
  clock: Clock;
  random: Random;
  /** Budget of one request across attempts and fallbacks (route table `defaults.deadlineMs`). */
  deadlineMs: number;
}

/** Routing, retry and fallback for one request at a time. */
export class Orchestrator {
  constructor(private readonly deps: OrchestratorDeps) {}

  /** Non-streamed completion with retry and fallback. */
  complete(targets: PlannedTarget[], body: Record<string, unknown>, signal: AbortSignal): Promise<Routed<ProviderCompletion>> {
    return this.run(targets, body, signal, (provider, call) => provider.complete(call));
  }

  /** Opens a stream and waits for its first event; until then failures retry and fall back. */
  openStream(targets: PlannedTarget[], body: Record<string, unknown>, signal: AbortSignal): Promise<Routed<StartedStream>> {
    return this.run(targets, body, signal, async (provider, call) => {
      const stream = await provider.stream(call);
      const iterator = stream[Symbol.asyncIterator]();
      try {
        const first = await iterator.next();
        if (first.done) {
          throw new ProviderCallError({ errorClass: 'stream_error' }, 'upstream stream ended before its first event');
        }
        return { first: first.value, rest: iterator, cancel: () => stream.cancel() };
      } catch (error) {
        stream.cancel();
        throw error;
      }
    });
  }

  private async run<T>(
    targets: PlannedTarget[],
    body: Record<string, unknown>,
    signal: AbortSignal,
    call: (provider: ChatProvider, call: ProviderCall) => Promise<T>,
  ): Promise<Routed<T>> {
    const { clock, random, providers } = this.deps;
    const trace: RouteTrace = { attempts: [], chosen: null, fallback: false };
    const deadline = clock.now() + this.deps.deadlineMs;
    let lastFailure: ProviderFailure | undefined;
    let previous: string | undefined;

    for (const [index, target] of targets.entries()) {
      // A provider whose credentials cannot be read right now is treated like an unconfigured one.
      const provider = await providers.get(target.provider).catch(() => undefined);
      if (!provider) {
        trace.attempts.push({
          provider: target.provider,
          model: target.model,
          attempt: 0,
          outcome: 'skipped',
          status: null,
          errorClass: 'not_configured',
          latencyMs: 0,
        });
        previous ??= `${target.provider} not configured`;
        continue;
      }
      for (let attempt = 1; attempt <= target.retry.attempts; attempt++) {
        if (signal.aborted) return { ok: false, failure: { reason: 'client_gone' }, trace };
        const started = clock.now();
        const remaining = deadline - started;
        if (remaining <= 0) return { ok: false, failure: { reason: 'deadline', last: lastFailure }, trace };
        const timeouts = { ...target.timeouts, totalMs: Math.min(target.timeouts.totalMs, remaining) };
        const record: AttemptRecord = {
          provider: target.provider,
          model: target.model,
          attempt,
          outcome: 'success',
          status: null,
          errorClass: null,
          latencyMs: 0,
        };
        trace.attempts.push(record);
        try {
          const value = await call(provider, { upstreamModel: target.upstreamModel, body, timeouts, signal });
          record.latencyMs = clock.now() - started;
          record.status = 200;
          trace.fallback = index > 0;
          trace.chosen = {
            provider: target.provider,
            model: target.model,
            reason: chosenReason(index, attempt, target, previous),
          };
          return { ok: true, target, value, trace };
        } catch (error) {
          record.latencyMs = clock.now() - started;
          const failure = toFailure(error);
          record.status = failure.status ?? null;
          record.errorClass = failure.errorClass;
          if (signal.aborted) {
            record.outcome = 'failed';
            return { ok: false, failure: { reason: 'client_gone' }, trace };
          }
          if (!isRetryable(failure)) {
            record.outcome = 'failed';
            return { ok: false, failure: { reason: 'rejected', failure }, trace };
          }
          lastFailure = failure;
          previous = `${target.provider} failed with ${failure.errorClass}${failure.status ? ` (${failure.status})` : ''}`;
          const delay =
            attempt < target.retry.attempts ? retryDelayMs(target.retry, attempt, () => random.next(), failure.retryAfterMs) : undefined;
          if (delay !== undefined && clock.now() + delay < deadline) {
            record.outcome = 'retry';
            record.retryDelayMs = delay;
            await clock.sleep(delay, signal).catch(() => undefined);
          } else {
            // Out of attempts, or no time left to wait: on to the next target.
            record.outcome = index < targets.length - 1 ? 'fallback' : 'failed';
            break;
          }
        }
      }
    }
    return { ok: false, failure: { reason: 'exhausted', last: lastFailure }, trace };
  }
}

function chosenReason(index: number, attempt: number, target: PlannedTarget, previous: string | undefined): string {
  const model = target.modelSource === 'requested' ? 'requested model' : 'task default model';
  if (index === 0 && attempt === 1) return `primary target for the task, ${model}`;
  if (index === 0) return `primary target on attempt ${attempt} after ${previous ?? 'a retryable failure'}`;
  return `fallback #${index} after ${previous ?? 'earlier targets failed'}, ${model}`;
}

function toFailure(error: unknown): ProviderFailure {
  if (error instanceof ProviderCallError) return error.failure;
  return { errorClass: 'protocol_error' };
}
