/**
 * Runs a request against its planned targets: skips targets the fleet knows are down (circuit open,
 * cooling after a 429, taken out by an admin), tries the others in order within one deadline, retries
 * a target only on fast failures (5xx, reset, refused, a short 429) and moves on at once after a
 * timeout, optionally hedges a slow first target with the next one, and returns a client's own
 * mistakes (400, 404, 422, content filter) unchanged without fallback.
 *
 * Every call streams from the provider, so a hung provider is detected by its first event: streamed
 * requests are committed to a target once its first event arrives; non-streamed ones are assembled
 * from the stream and may fall back until the answer is complete. It says why a request failed
 * (`RouteFailure`); the HTTP layer alone decides the status and body.
 */
import { ProviderCallError, type ErrorClass, type ProviderFailure } from '../errors';
import type { Clock, Random } from '../ports';
import { CompletionAssembler } from './completion-assembler';
import type {
  ChatProvider,
  ProviderCall,
  ProviderCompletion,
  ProviderDirectory,
  ProviderOperation,
  SkipReason,
  TargetHealth,
} from './ports';
import type { ProviderLimits } from './provider-limits';
import { healthOutcome, isRetryable, retryDelayMs } from './retry';
import type { PlannedTarget, ProviderId } from './route-table';
import { usageOf } from './usage';

/** One call to one target (or a target skipped), as it appears in the request's log line. */
export interface AttemptRecord {
  provider: ProviderId;
  model: string;
  /** 1-based attempt number on this target (0 for a skipped target). */
  attempt: number;
  outcome: 'success' | 'retry' | 'fallback' | 'failed' | 'skipped' | 'hedge_lost';
  status: number | null;
  errorClass: ErrorClass | SkipReason | 'no_time_left' | null;
  latencyMs: number;
  /** Wait before the next attempt on the same target. */
  retryDelayMs?: number;
  /** The attempt was the fleet's single half-open probe of the target. */
  probe?: true;
  /** The attempt was started in parallel because the previous target had sent no first event yet. */
  hedge?: true;
  /** Why a failed attempt failed, for the log line (see `causeOf`): never in a response. */
  cause?: string;
}

export interface RouteTrace {
  attempts: AttemptRecord[];
  chosen: { provider: ProviderId; model: string; reason: string } | null;
  /** True when the answer came from a target other than the first candidate. */
  fallback: boolean;
}

export type FinalErrorClass = ErrorClass | 'no_provider_configured' | 'all_targets_unavailable';

/** Why a request got no answer. */
export type RouteFailure =
  /** The client went away before an answer. */
  | { reason: 'client_gone' }
  /** The request's deadline passed before any target answered; `last` is the last failure seen. */
  | { reason: 'deadline'; last: ProviderFailure | undefined }
  /** Every target failed (`last` is the last failure), or none was configured (`last` undefined). */
  | { reason: 'exhausted'; last: ProviderFailure | undefined }
  /** Every configured target is out of rotation (circuit open, cooling, failover) for `retryAfterMs` at least. */
  | { reason: 'unavailable'; retryAfterMs: number }
  /** A provider refused the request itself (a client error: 400, 401, 403, 404, 422, content filter); passed through. */
  | { reason: 'rejected'; failure: ProviderFailure }
  /** No configured target's provider serves the operation (a 400 that names them). */
  | { reason: 'unsupported'; operation: ProviderOperation; providers: ProviderId[] };

/** The error class a failure is logged and recorded with. */
export function failureClass(failure: RouteFailure): FinalErrorClass {
  switch (failure.reason) {
    case 'client_gone':
      return 'aborted';
    case 'deadline':
      return 'timeout';
    case 'exhausted':
      return failure.last?.errorClass ?? 'no_provider_configured';
    case 'unavailable':
      return 'all_targets_unavailable';
    case 'unsupported':
      return 'client_error';
    case 'rejected':
      return failure.failure.errorClass;
  }
}

export type Routed<T> =
  | { ok: true; target: PlannedTarget; value: T; trace: RouteTrace; hedgeLoser?: PlannedTarget }
  | { ok: false; failure: RouteFailure; trace: RouteTrace };

/** A stream whose first event has arrived: from here on the target is fixed. */
export interface StartedStream {
  first: string;
  rest: AsyncIterator<string>;
  cancel(): void;
  limits?: ProviderLimits | undefined;
}

export interface OrchestratorDeps {
  providers: ProviderDirectory;
  clock: Clock;
  random: Random;
  /** Budget of one request across attempts and fallbacks (route table `defaults.deadlineMs`). */
  deadlineMs: number;
  /** Circuit breakers, cooling, failover and provider limits; without it every target is always tried. */
  health?: TargetHealth;
}

type Mode = 'stream' | 'complete';

/** A call whose first event (or whole answer, for a target that cannot stream) has arrived. */
interface Started {
  stream?: StartedStream;
  completion?: ProviderCompletion;
  at: number;
  firstEventMs: number;
}

/** A call that answered: its value and target, and the target that lost a hedge race, if one ran. */
interface Answered<T> {
  value: T;
  target: PlannedTarget;
  loser?: PlannedTarget;
}

/** Failures that are worth another attempt on the same target: fast, passing ones. A timeout, or a refusal that will not change, moves on at once. */
function retriesSameTarget(failure: ProviderFailure, target: PlannedTarget): boolean {
  if (['timeout', 'auth', 'forbidden', 'not_found'].includes(failure.errorClass)) return false;
  if (failure.errorClass === 'rate_limited') return (failure.retryAfterMs ?? 0) <= target.retry.maxRetryAfterMs;
  return true;
}

function toFailure(error: unknown): ProviderFailure {
  if (error instanceof ProviderCallError) return error.failure;
  return { errorClass: 'protocol_error' };
}

/**
 * What the log line keeps of a failed attempt's error: the gateway's own account of it, its cause's
 * name and code (a socket's ECONNRESET, an SDK's error), and the provider's message, which the
 * adapters have already redacted of anything like a key.
 */
function causeOf(error: unknown): string {
  const e = error as Partial<ProviderCallError> & { cause?: { name?: unknown; code?: unknown } };
  const inner = e.cause;
  return [
    error instanceof ProviderCallError ? e.message : `${e.name}: ${e.message}`,
    // An SDK's error classes often keep the name "Error": their class names them.
    inner instanceof Object &&
      [inner.name === 'Error' ? inner.constructor.name : inner.name, inner.code].filter((p) => typeof p === 'string').join(' '),
    e.failure?.body?.error.message,
  ]
    .filter(Boolean)
    .join('; ')
    .slice(0, 300);
}

/** Routing, retry, fallback and hedging for one request at a time. */
export class Orchestrator {
  constructor(private readonly deps: OrchestratorDeps) {}

  /**
   * Non-streamed answer, with retry and fallback until it is complete: a chat completion streamed from
   * the provider and assembled (or asked whole from a target that cannot stream), or embeddings.
   */
  complete(
    targets: PlannedTarget[],
    body: Record<string, unknown>,
    signal: AbortSignal,
    operation: ProviderOperation = 'chat',
  ): Promise<Routed<ProviderCompletion>> {
    return this.run(targets, body, signal, 'complete', operation);
  }

  /** Opens a stream (chat chunks, or Responses API events) and waits for its first event; until then failures retry and fall back. */
  openStream(
    targets: PlannedTarget[],
    body: Record<string, unknown>,
    signal: AbortSignal,
    operation: Extract<ProviderOperation, 'chat' | 'responses'> = 'chat',
  ): Promise<Routed<StartedStream>> {
    return this.run(targets, body, signal, 'stream', operation);
  }

  private async run<M extends Mode>(
    candidates: PlannedTarget[],
    body: Record<string, unknown>,
    signal: AbortSignal,
    mode: M,
    operation: ProviderOperation = 'chat',
  ): Promise<Routed<M extends 'stream' ? StartedStream : ProviderCompletion>> {
    type T = M extends 'stream' ? StartedStream : ProviderCompletion;
    const { clock, random, providers, health } = this.deps;
    await health?.ready();
    const trace: RouteTrace = { attempts: [], chosen: null, fallback: false };
    const deadline = clock.now() + this.deps.deadlineMs;
    // Targets whose provider does not serve the operation are set aside first, so no part of the
    // deadline is kept for them.
    const unsupported: PlannedTarget[] = [];
    let serving = candidates;
    if (operation !== 'chat') {
      const resolved = await Promise.all(candidates.map((t) => providers.get(t.provider).catch(() => undefined)));
      serving = [];
      for (const [i, target] of candidates.entries()) {
        if (resolved[i]?.supports?.(operation) === false) unsupported.push(target);
        else serving.push(target);
      }
    }
    /** The first refusal of a target that cannot serve the request as sent: the caller's 400 if no other target can. */
    let capabilityGap: ProviderFailure | undefined;
    // A target close to its provider's own limit goes after the others (never dropped).
    const targets = health ? [...serving.filter((t) => !health.nearLimit(t)), ...serving.filter((t) => health.nearLimit(t))] : serving;
    let lastFailure: ProviderFailure | undefined;
    let previous: string | undefined;
    let earliestRetry: number | undefined;
    let called = false;
    const hedged = new Set<PlannedTarget>();

    const skip = (target: PlannedTarget, reason: AttemptRecord['errorClass'], retryAt?: number) => {
      trace.attempts.push({
        provider: target.provider,
        model: target.model,
        attempt: 0,
        outcome: 'skipped',
        status: null,
        errorClass: reason,
        latencyMs: 0,
      });
      if (retryAt !== undefined) earliestRetry = Math.min(earliestRetry ?? retryAt, retryAt);
      previous ??= `${target.provider} ${reason?.replaceAll('_', ' ')}`;
    };
    for (const target of unsupported) skip(target, 'unsupported');

    for (const [index, target] of targets.entries()) {
      if (hedged.has(target)) continue;
      // A provider whose credentials cannot be read right now is treated like an unconfigured one.
      const provider = await providers.get(target.provider).catch(() => undefined);
      if (!provider) {
        skip(target, 'not_configured');
        continue;
      }
      // A target that cannot serve the request as sent (a Converse gap: n > 1, logprobs...) is found by
      // a dry run before admission: no probe claimed, no failure counted. Named by the caller, its
      // refusal is the answer; otherwise the next target may serve the request.
      const refusal = provider.refuses?.({ upstreamModel: target.upstreamModel, operation, body });
      if (refusal) {
        if (target.modelSource === 'requested') return { ok: false, failure: { reason: 'rejected', failure: refusal }, trace };
        capabilityGap ??= refusal;
        skip(target, 'unsupported');
        continue;
      }
      const later = targets.slice(index + 1).filter((t) => !hedged.has(t) && !health?.wouldSkip(t));
      // Keep enough of the deadline for every later target's first event.
      const budgetNow = () => deadline - clock.now() - later.reduce((sum, t) => sum + t.timeouts.firstByteMs, 0);
      if (signal.aborted) return { ok: false, failure: { reason: 'client_gone' }, trace };
      if (deadline - clock.now() <= 0) return { ok: false, failure: { reason: 'deadline', last: lastFailure }, trace };
      // Checked before admission, so a target that cannot get its turn is never claimed as a probe.
      if (budgetNow() <= 0) {
        skip(target, 'no_time_left');
        continue;
      }
      // A probe tells at its first event, or with the whole answer when the call is not streamed (see `start`).
      const whole = askedWhole(target, mode, operation, body);
      const admission = health
        ? await health.admit(target, { settlesWithinMs: whole ? target.timeouts.totalMs : target.timeouts.firstByteMs })
        : { kind: 'call' as const };
      if (admission.kind === 'skip') {
        skip(target, admission.reason, admission.retryAt);
        continue;
      }
      const probe = admission.kind === 'probe';
      // The half-open probe is one call: its failure reopens the breaker, a retry would call an open target.
      const attempts = probe ? 1 : target.retry.attempts;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (signal.aborted) return this.releasing(probe && attempt === 1, target, { ok: false, failure: { reason: 'client_gone' }, trace });
        const started = clock.now();
        const remaining = deadline - started;
        // A probe claimed but never sent is given back, or the fleet would skip the target until its lease ends.
        if (remaining <= 0)
          return this.releasing(probe && attempt === 1, target, { ok: false, failure: { reason: 'deadline', last: lastFailure }, trace });
        const budget = budgetNow();
        if (budget <= 0) {
          this.releasing(probe && attempt === 1, target, undefined);
          skip(target, 'no_time_left');
          break;
        }
        called = true;
        const record: AttemptRecord = {
          provider: target.provider,
          model: target.model,
          attempt,
          outcome: 'success',
          status: null,
          errorClass: null,
          latencyMs: 0,
        };
        if (probe) record.probe = true;
        trace.attempts.push(record);
        const call = this.callFor(target, body, signal, mode, remaining, budget, operation);
        // A call asked whole sends nothing before its whole answer: waiting for its first event would hedge every long answer.
        const hedge = attempt === 1 && target.hedgeAfterMs !== undefined && !whole ? later.find((t) => t !== target) : undefined;
        try {
          const answered: Answered<T> = hedge
            ? await this.hedged<T>(provider, target, call, hedge, { mode, operation, body, signal, remaining, trace, probe })
            : { value: (await this.finish(await this.start(provider, target, call, mode, probe), target, mode)) as T, target };
          const winner = answered.target;
          record.latencyMs = clock.now() - started;
          if (winner !== target) {
            hedged.add(winner);
            record.outcome = 'hedge_lost';
          } else {
            record.status = 200;
          }
          trace.fallback = candidates.indexOf(winner) > 0;
          trace.chosen = {
            provider: winner.provider,
            model: winner.model,
            reason:
              winner === target
                ? chosenReason(index, attempt, target, previous, probe)
                : `hedge: ${target.provider} had sent no first event after ${target.hedgeAfterMs} ms`,
          };
          return { ok: true, target: winner, value: answered.value, trace, ...(answered.loser ? { hedgeLoser: answered.loser } : {}) };
        } catch (error) {
          record.latencyMs = clock.now() - started;
          const failure = toFailure(error);
          record.status = failure.status ?? null;
          record.errorClass = failure.errorClass;
          record.cause = causeOf(error);
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
            attempt < attempts && retriesSameTarget(failure, target)
              ? retryDelayMs(target.retry, attempt, () => random.next(), failure.retryAfterMs)
              : undefined;
          if (delay !== undefined && clock.now() + delay < deadline) {
            record.outcome = 'retry';
            record.retryDelayMs = delay;
            await clock.sleep(delay, signal).catch(() => undefined);
          } else {
            // Out of attempts, a timeout, or no time left to wait: on to the next target.
            record.outcome = index < targets.length - 1 ? 'fallback' : 'failed';
            break;
          }
        }
      }
    }
    if (!called && unsupported.length > 0 && earliestRetry === undefined && lastFailure === undefined) {
      return {
        ok: false,
        failure: { reason: 'unsupported', operation, providers: [...new Set(unsupported.map((t) => t.provider))] },
        trace,
      };
    }
    if (!called && capabilityGap && earliestRetry === undefined && lastFailure === undefined)
      return { ok: false, failure: { reason: 'rejected', failure: capabilityGap }, trace };
    if (!called && earliestRetry !== undefined) {
      return { ok: false, failure: { reason: 'unavailable', retryAfterMs: Math.max(0, earliestRetry - clock.now()) }, trace };
    }
    return { ok: false, failure: { reason: 'exhausted', last: lastFailure }, trace };
  }

  /** A probe claimed but never sent (the client left first) is given back, so another request may probe. */
  private releasing<R>(claimed: boolean, target: PlannedTarget, result: R): R {
    if (claimed) this.deps.health?.report(target, { kind: 'neutral' }, true);
    return result;
  }

  /**
   * The call's timeouts within the deadline: the first event within what the later targets leave
   * (`budget`); a stream, once started, may use the rest of the deadline; an assembled answer must be
   * complete within the budget, since it may still fall back.
   */
  private callFor(
    target: PlannedTarget,
    body: Record<string, unknown>,
    signal: AbortSignal,
    mode: Mode,
    remaining: number,
    budget: number,
    operation: ProviderOperation,
  ): ProviderCall {
    const { timeouts } = target;
    // A call asked whole (see `askedWhole`) sends its headers only once the answer is whole: the first
    // byte may take as long as the answer itself.
    const whole = askedWhole(target, mode, operation, body);
    return {
      upstreamModel: target.upstreamModel,
      ...(operation === 'chat' ? {} : { operation }),
      body,
      timeouts: {
        ...timeouts,
        firstByteMs: Math.min(whole ? timeouts.totalMs : timeouts.firstByteMs, budget),
        totalMs: Math.min(timeouts.totalMs, mode === 'stream' ? remaining : budget),
      },
      signal,
    };
  }

  /**
   * Starts a call: its first event (or, for a target that cannot stream, its whole answer). Reports
   * failures to the health engine, and the first event (which is what settles a probe).
   */
  private async start(provider: ChatProvider, target: PlannedTarget, call: ProviderCall, mode: Mode, probe: boolean): Promise<Started> {
    const { clock, health } = this.deps;
    const at = clock.now();
    try {
      if (askedWhole(target, mode, call.operation ?? 'chat', call.body)) {
        const completion = await provider.complete(call);
        const latencyMs = clock.now() - at;
        health?.report(target, { kind: 'success', firstEventMs: latencyMs, latencyMs }, probe);
        return { completion, at, firstEventMs: latencyMs };
      }
      const stream = await this.open(provider, target, mode === 'complete' ? withUsage(call) : call);
      const firstEventMs = clock.now() - at;
      health?.report(target, { kind: 'started', firstEventMs }, probe);
      return { stream, at, firstEventMs };
    } catch (error) {
      const failure = toFailure(error);
      if (failure.limits) health?.noteLimits(target, failure.limits);
      health?.report(target, healthOutcome(failure), probe);
      throw error;
    }
  }

  /** Finishes a started call: a stream is handed on (its end is counted later); an answer is assembled and counted. */
  private async finish(started: Started, target: PlannedTarget, mode: Mode): Promise<StartedStream | ProviderCompletion> {
    const { clock, health } = this.deps;
    if (started.completion) return started.completion;
    const stream = started.stream!;
    if (mode === 'stream') return this.watched(stream, target, started.at, started.firstEventMs);
    try {
      const completion = await assemble(stream);
      health?.report(target, { kind: 'success', firstEventMs: started.firstEventMs, latencyMs: clock.now() - started.at }, false);
      return completion;
    } catch (error) {
      health?.report(target, healthOutcome(toFailure(error)), false);
      throw error;
    }
  }

  /** Opens the provider's stream and waits for its first event (the provider bounds that wait). */
  private async open(provider: ChatProvider, target: PlannedTarget, call: ProviderCall): Promise<StartedStream> {
    const stream = await provider.stream(call);
    if (stream.limits) this.deps.health?.noteLimits(target, stream.limits);
    const iterator = stream[Symbol.asyncIterator]();
    try {
      const first = await iterator.next();
      if (first.done) throw new ProviderCallError({ errorClass: 'stream_error' }, 'upstream stream ended before its first event');
      return { first: first.value, rest: iterator, cancel: () => stream.cancel(), limits: stream.limits };
    } catch (error) {
      stream.cancel();
      throw error;
    }
  }

  /** A committed stream: its end (or its failure mid-way) is counted for the target's health. */
  private watched(stream: StartedStream, target: PlannedTarget, startedAt: number, firstEventMs: number): StartedStream {
    const { clock, health } = this.deps;
    if (!health) return stream;
    const rest: AsyncIterator<string> = {
      next: async () => {
        try {
          const next = await stream.rest.next();
          if (next.done) health.report(target, { kind: 'success', firstEventMs, latencyMs: clock.now() - startedAt }, false);
          return next;
        } catch (error) {
          health.report(target, healthOutcome(toFailure(error)), false);
          throw error;
        }
      },
    };
    return { ...stream, rest };
  }

  /**
   * Hedging: if `primary` has sent no first event after its `hedgeAfterMs`, `hedge` starts in parallel;
   * the first to send an event wins and the other is cancelled (a non-streamed answer is then read from
   * the winner). Both appear in the trace.
   */
  private async hedged<T>(
    provider: ChatProvider,
    primary: PlannedTarget,
    call: ProviderCall,
    hedge: PlannedTarget,
    context: {
      mode: Mode;
      operation: ProviderOperation;
      body: Record<string, unknown>;
      signal: AbortSignal;
      /** What was left of the deadline when the primary started. */
      remaining: number;
      trace: RouteTrace;
      probe: boolean;
    },
  ): Promise<Answered<T>> {
    const { clock, providers, health } = this.deps;
    const startedAt = clock.now();
    const primaryControl = linkedAbort(context.signal);
    const primaryStart = this.start(provider, primary, { ...call, signal: primaryControl.signal }, context.mode, context.probe);
    primaryStart.catch(() => undefined);
    const timer = new AbortController();
    const waited = clock.sleep(primary.hedgeAfterMs!, timer.signal).then(
      () => 'hedge' as const,
      () => 'primary' as const,
    );
    const first = await Promise.race([
      primaryStart.then(
        () => 'primary' as const,
        () => 'primary' as const,
      ),
      waited,
    ]);
    timer.abort();
    const alone = async (): Promise<Answered<T>> => ({
      value: (await this.finish(await primaryStart, primary, context.mode)) as T,
      target: primary,
    });
    if (first === 'primary') return alone();
    const hedgeProvider = await providers.get(hedge.provider).catch(() => undefined);
    // A hedge never claims a probe: it only goes to a target that is plainly in rotation.
    const admission = hedgeProvider && health ? await health.admit(hedge, { mayProbe: false }) : { kind: 'call' as const };
    if (!hedgeProvider || admission.kind !== 'call') return alone();

    const record: AttemptRecord = {
      provider: hedge.provider,
      model: hedge.model,
      attempt: 1,
      outcome: 'success',
      status: null,
      errorClass: null,
      latencyMs: 0,
      hedge: true,
    };
    context.trace.attempts.push(record);
    const hedgeControl = linkedAbort(context.signal);
    const hedgeAt = clock.now();
    // The hedge starts later than the primary and must end by the same deadline: what was left, less the wait.
    const left = context.remaining - (hedgeAt - startedAt);
    const hedgeCall: ProviderCall = {
      ...this.callFor(hedge, context.body, context.signal, context.mode, left, left, context.operation),
      signal: hedgeControl.signal,
    };
    const hedgeStart = this.start(hedgeProvider, hedge, hedgeCall, context.mode, false);
    hedgeStart.catch(() => undefined);
    let winner: { started: Started; target: PlannedTarget };
    try {
      winner = await Promise.any([
        primaryStart.then((s) => ({ started: s, target: primary })),
        hedgeStart.then((s) => ({ started: s, target: hedge })),
      ]);
    } catch (error) {
      // Both failed: the hedge's failure goes in its record, the primary's is what the caller sees.
      const hedgeError = await hedgeStart.then(
        () => undefined,
        (e: unknown) => e ?? new Error('failed'),
      );
      const hedgeFailure = hedgeError === undefined ? undefined : toFailure(hedgeError);
      Object.assign(record, {
        outcome: 'failed',
        errorClass: hedgeFailure?.errorClass ?? null,
        status: hedgeFailure?.status ?? null,
        latencyMs: clock.now() - hedgeAt,
        ...(hedgeError === undefined ? {} : { cause: causeOf(hedgeError) }),
      });
      throw (error as AggregateError).errors?.[0] ?? error;
    }
    const [loserStart, loserControl] = winner.target === primary ? [hedgeStart, hedgeControl] : [primaryStart, primaryControl];
    loserControl.abort();
    void loserStart.then((late) => late.stream?.cancel()).catch(() => undefined);
    record.latencyMs = clock.now() - hedgeAt;
    if (winner.target === hedge) record.status = 200;
    else record.outcome = 'hedge_lost';
    const value = (await this.finish(winner.started, winner.target, context.mode)) as T;
    return { value, target: winner.target, loser: winner.target === primary ? hedge : primary };
  }
}

/**
 * Whether a non-streamed call is asked of the provider whole instead of assembled from its stream:
 * embeddings (no stream), a non-streamed Responses call, a target that cannot stream, and audio output
 * in a format OpenAI does not stream (only pcm16 streams: wav or mp3 asked as a stream would fail).
 */
function askedWhole(target: PlannedTarget, mode: Mode, operation: ProviderOperation, body: Record<string, unknown>): boolean {
  if (mode !== 'complete') return false;
  if (!target.upstreamStreaming || operation !== 'chat') return true;
  const modalities = body['modalities'];
  const audio = body['audio'] as { format?: unknown } | null | undefined;
  return Array.isArray(modalities) && modalities.includes('audio') && audio?.format !== 'pcm16';
}

function withUsage(call: ProviderCall): ProviderCall {
  const options = call.body['stream_options'];
  return {
    ...call,
    body: { ...call.body, stream_options: { ...(typeof options === 'object' && options ? options : {}), include_usage: true } },
  };
}

/** Reads the rest of a stream into the `chat.completion` the provider would have answered. */
async function assemble(stream: StartedStream): Promise<ProviderCompletion> {
  const assembler = new CompletionAssembler();
  try {
    assembler.add(stream.first);
    for (let next = await stream.rest.next(); !next.done; next = await stream.rest.next()) assembler.add(next.value);
  } catch (error) {
    stream.cancel();
    if (error instanceof SyntaxError)
      throw new ProviderCallError({ errorClass: 'protocol_error' }, 'upstream stream chunk is not JSON', { cause: error });
    throw error;
  }
  const json = assembler.result();
  return {
    rawBody: JSON.stringify(json),
    model: typeof json['model'] === 'string' && json['model'] !== '' ? json['model'] : undefined,
    usage: usageOf(json),
  };
}

/** An abort controller that also follows `parent`. */
function linkedAbort(parent: AbortSignal): AbortController {
  const controller = new AbortController();
  if (parent.aborted) controller.abort();
  else parent.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}

function chosenReason(index: number, attempt: number, target: PlannedTarget, previous: string | undefined, probe: boolean): string {
  const model = target.modelSource === 'requested' ? 'requested model' : 'task default model';
  const prefix = probe ? 'half-open probe, ' : '';
  if (index === 0 && attempt === 1) return `${prefix}primary target for the task, ${model}`;
  if (index === 0) return `${prefix}primary target on attempt ${attempt} after ${previous ?? 'a retryable failure'}`;
  return `${prefix}fallback #${index} after ${previous ?? 'earlier targets failed'}, ${model}`;
}
