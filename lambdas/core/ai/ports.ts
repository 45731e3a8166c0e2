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
import type { ProviderId, Timeouts } from './route-table';

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
