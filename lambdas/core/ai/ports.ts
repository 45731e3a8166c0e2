/**
 * The AI capability's ports: what a provider must offer the orchestrator, and the gateway's wire
 * contract between routes and providers.
 *
 * The wire contract is OpenAI's Chat Completions API: a provider takes an OpenAI request body
 * (`ProviderCall.body`) and answers with an OpenAI `chat.completion` JSON document
 * (`ProviderCompletion.rawBody`) or with the `data` payloads of OpenAI `chat.completion.chunk`
 * events (`ProviderStream`). A provider whose upstream speaks something else (Bedrock's Converse)
 * translates both ways inside its own adapter folder; routes and core never see another format.
 */
import type { ProviderFailure } from '../errors';
import type { ProviderLimits } from './provider-limits';
import type { PlannedTarget, ProviderId, Timeouts } from './route-table';

/** Token counts as reported by a provider (OpenAI's `usage` object). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens read from the provider's prompt cache (part of `promptTokens`). */
  cachedTokens?: number;
  /** Prompt tokens written to the provider's prompt cache (Bedrock; part of `promptTokens`, priced apart). */
  cacheWriteTokens?: number;
}

/**
 * What a call asks of the provider: a chat completion (the default), embeddings (OpenAI's
 * `/embeddings`, answered whole) or a Responses API call (`/responses`, whose body and events pass
 * through in OpenAI's Responses shape; streams end with a `response.completed`, `.incomplete` or
 * `.failed` event, not `[DONE]`).
 */
export type ProviderOperation = 'chat' | 'embeddings' | 'responses';

/** One call to one provider target. */
export interface ProviderCall {
  /** Model name the upstream expects (for Azure OpenAI, the deployment name). */
  upstreamModel: string;
  /** Absent: a chat completion. */
  operation?: ProviderOperation;
  /** The OpenAI request body, already cleaned of the gateway's own hints. */
  body: Record<string, unknown>;
  timeouts: Timeouts;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A complete (non-streamed) answer, a chat completion or an embeddings list. `rawBody` is sent to the client unchanged. */
export interface ProviderCompletion {
  rawBody: string;
  model: string | undefined;
  usage: Usage | undefined;
}

/**
 * An open upstream stream: yields the `data` payload of each server-sent event (without the final
 * `[DONE]`) and throws a `ProviderCallError` if the upstream fails or ends before `[DONE]`.
 */
export interface ProviderStream extends AsyncIterable<string> {
  /** Stops reading and releases the upstream connection. */
  cancel(): void;
  /** The provider's own rate limits, as the response headers reported them. */
  readonly limits?: ProviderLimits | undefined;
}

/** A chat-completions capable upstream (OpenAI, Azure OpenAI, ...). */
export interface ChatProvider {
  readonly id: ProviderId;
  /** Whether the provider serves an operation besides chat (embeddings, the Responses API); absent: all of them. */
  supports?(operation: ProviderOperation): boolean;
  /**
   * Why the provider cannot serve this very request as sent (a 400 naming the field: Bedrock's Converse
   * has no `n > 1`, logprobs...), checked without calling it; `undefined` when it can. Absent: it can.
   */
  refuses?(call: Pick<ProviderCall, 'upstreamModel' | 'operation' | 'body'>): ProviderFailure | undefined;
  /**
   * A non-streamed call, for targets that cannot stream: `firstByteMs` bounds the wait for the
   * response headers and `totalMs` the whole answer.
   */
  complete(call: ProviderCall): Promise<ProviderCompletion>;
  /**
   * Resolves once the upstream accepted the request (2xx headers received). `firstByteMs` bounds the
   * wait for the first event (headers included), `idleMs` each silence between events, `totalMs` the whole.
   */
  stream(call: ProviderCall): Promise<ProviderStream>;
}

/** Resolves providers by id; `undefined` when a provider has no credentials configured. */
export interface ProviderDirectory {
  get(id: ProviderId): Promise<ChatProvider | undefined>;
  /** Ids of the providers that currently have credentials. */
  configured(): Promise<ProviderId[]>;
}

/** Counts tokens in text the way the models do (for answers cut off before the provider reported usage). */
export interface TokenEstimator {
  count(text: string): number;
}

/** A provider's validated credentials (their shape belongs to the provider's adapter). */
export interface ProviderCredentials {
  provider: ProviderId;
  credentials: Record<string, unknown>;
}

/** Where provider credentials come from: the environment locally, Secrets Manager on AWS. */
export interface CredentialSource {
  /** Credentials for `provider`, or `undefined` when it is not configured. */
  get(provider: ProviderId): Promise<ProviderCredentials | undefined>;
}

/** Why a target was not called for a request. */
export type SkipReason =
  | 'not_configured'
  /** The provider does not serve the call's operation (e.g. the Responses API). */
  | 'unsupported'
  | 'circuit_open'
  | 'probe_in_flight'
  | 'cooling'
  | 'manual_down'
  | 'maintenance';

/** Whether a target may be called now: normally, as the one half-open probe of the fleet, or not until `retryAt`. */
export type TargetAdmission =
  { kind: 'call' } | { kind: 'probe' } | { kind: 'skip'; reason: Exclude<SkipReason, 'not_configured' | 'unsupported'>; retryAt: number };

/** What one attempt says about a target's health. */
export type AttemptOutcome =
  /** A stream's first event arrived (a half-open probe has succeeded; the call is counted when it ends). */
  | { kind: 'started'; firstEventMs: number }
  /** A call answered completely. */
  | { kind: 'success'; firstEventMs: number; latencyMs: number }
  /** Timeouts, connection failures, 5xx, broken streams. */
  | { kind: 'failure'; errorClass: string; status?: number }
  /** The provider asked to slow down (429): the target cools until `retryAfterMs` passes. */
  | { kind: 'rate_limited'; retryAfterMs: number | undefined }
  /** Says nothing about the provider: the client's own mistake, or the client leaving. */
  | { kind: 'neutral' };

/**
 * The health of targets as the whole fleet sees it (circuit breakers, cooling, manual failover), read
 * from an in-process view kept fresh in the background: deciding costs no I/O on the request path,
 * except claiming the single half-open probe. Outcomes are written after the response, batched.
 */
/** What the fleet saw of a target lately (the health engine's counters): latency and success rate. */
export interface RecentPerformance {
  calls: number;
  p50Ms: number | null;
  p95Ms: number | null;
  successRate: number | null;
}

/** Health figures smart routing reads (in memory, no I/O). */
export interface TargetPerformance {
  performance(target: PlannedTarget): RecentPerformance;
  wouldSkip(target: PlannedTarget): boolean;
}

export interface TargetHealth {
  /** Resolves once the view is fresh enough to decide on (at once when it is; bounded when it is not). */
  ready(): Promise<void>;
  /** May the target be called now? With `mayProbe: false` a half-open target is skipped rather than claimed. */
  admit(target: PlannedTarget, options?: { mayProbe?: boolean; settlesWithinMs?: number }): Promise<TargetAdmission>;
  /** Whether `admit` would skip the target now (no claim, no I/O): the deadline need not keep time for it. */
  wouldSkip(target: PlannedTarget): boolean;
  /** Reports an attempt's outcome; `probe` when the attempt was the half-open probe. */
  report(target: PlannedTarget, outcome: AttemptOutcome, probe: boolean): void;
  /** The provider's own rate limits as last reported for the target. */
  noteLimits(target: PlannedTarget, limits: ProviderLimits): void;
  /** True while the target is close to its provider's limit (it is then tried after the others). */
  nearLimit(target: PlannedTarget): boolean;
  /** The tokens a finished answer used, for the fleet's tokens-per-minute figure of the target. */
  noteTokens(target: PlannedTarget, tokens: number): void;
}
