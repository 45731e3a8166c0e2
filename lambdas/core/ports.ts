/**
 * The interfaces the core needs from the outside world. Adapters implement them per technology;
 * the composition root (`lambdas/shared/container.ts`) wires them together.
 */
import type { ProviderId, Timeouts } from './route-table';
import type { ApiKeyRecord } from './api-keys';

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

/** Token counts as reported by a provider (OpenAI's `usage` object). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
}

/** One call to one provider target. */
export interface ProviderCall {
  /** Model name the upstream expects (for Azure OpenAI, the deployment name). */
  upstreamModel: string;
  /** The OpenAI request body, already cleaned of the gateway's own hints. */
  body: Record<string, unknown>;
  timeouts: Timeouts;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A complete (non-streamed) answer. `rawBody` is sent to the client unchanged. */
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
}

/** A chat-completions capable upstream (OpenAI, Azure OpenAI, ...). */
export interface ChatProvider {
  readonly id: ProviderId;
  complete(call: ProviderCall): Promise<ProviderCompletion>;
  /** Resolves once the upstream accepted the request (2xx headers received). */
  stream(call: ProviderCall): Promise<ProviderStream>;
}

/** Resolves providers by id; `undefined` when a provider has no credentials configured. */
export interface ProviderDirectory {
  get(id: ProviderId): Promise<ChatProvider | undefined>;
  /** Ids of the providers that currently have credentials. */
  configured(): Promise<ProviderId[]>;
}

/** Persistence of API keys (hashed). */
export interface ApiKeyStore {
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  put(record: ApiKeyRecord): Promise<void>;
  listByUser(userId: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; resolves `false` if no such key exists. */
  revoke(keyHash: string, revokedAt: string): Promise<boolean>;
  /** Cheap round trip used by the readiness check. */
  ping(): Promise<void>;
}

/** Counts tokens in text the way the models do (for answers cut off before the provider reported usage). */
export interface TokenEstimator {
  count(text: string): number;
}
