/**
 * What one provider folder exports (`adapters/providers/<id>/index.ts`): everything the rest of the
 * gateway needs to know about a provider, so adding one is a new folder plus a line in `registry.ts`.
 * Config reads its environment variables, the composition root its credentials and client, the
 * local runner its simulated upstream, and the CDK stack its secret and grants, all from here.
 *
 * Every provider answers in the gateway's wire contract (OpenAI Chat Completions, see
 * `core/ai/ports.ts`); one whose upstream speaks something else translates inside its folder.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type * as z from 'zod';
import type { ChatProvider, ProviderOperation } from '../../core/ai/ports';

/** The simulated upstreams' token count: ~4 characters per token, as OpenAI's rule of thumb. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/** An error the simulated upstream answers with, in the provider's own error shape. */
export interface SimulatedRejection {
  status: number;
  type: string;
  error: string;
}

export type SimulatedRoute =
  | {
      accepted: true;
      model?: string;
      operation: ProviderOperation;
      /** The path asks for a stream (Bedrock's converse-stream). */ stream?: boolean;
    }
  | ({ accepted: false } & SimulatedRejection);

/**
 * A provider whose API is not OpenAI's (Bedrock's Converse): the simulator reads its requests as OpenAI
 * chat requests, makes its answer as for OpenAI, and the wire writes that answer in the provider's shape.
 */
export interface SimulatedWire {
  /** The OpenAI request (chat or embeddings) a provider request stands for. */
  request(body: Record<string, unknown>, operation: ProviderOperation): Record<string, unknown>;
  /** An embeddings answer: the body to send for an OpenAI embeddings list of one input. */
  embeddings(list: Record<string, unknown>): string;
  /** A whole answer: the body to send for an OpenAI `chat.completion` (`request` is the provider's own body). */
  completion(completion: Record<string, unknown>, request: Record<string, unknown>): string;
  /** A stream's content type, and its frames for OpenAI `chat.completion.chunk` payloads (the last one carries usage). */
  readonly streamContentType: string;
  stream(chunks: Array<Record<string, unknown>>, request: Record<string, unknown>): Uint8Array[];
  /** An error response in the provider's shape (`type`: the route's rejection type, or the OpenAI error type of a fault). */
  error(status: number, message: string, type?: string): { headers: Record<string, string>; body: string };
}

/** How a provider's API looks on the wire, for the simulated upstream `npm start` runs without keys. */
export interface SimulatedDialect {
  /** The base URL (OpenAI) or endpoint (Azure) a client uses, given the simulator's `http://127.0.0.1:PORT`. */
  baseUrl(origin: string): string;
  /**
   * Checks path and credentials of a chat-completions, embeddings or Responses request: accepted (with the
   * `model` when the path names it, as Azure's deployments do), or the rejection the real API would send.
   */
  route(request: { method: string; url: URL; headers: IncomingHttpHeaders }, apiKey: string): SimulatedRoute;
  /** Fields the provider adds to every choice of an answer (Azure's content filter results). */
  choiceExtras?: Record<string, unknown>;
  /** Events the provider sends before the first chunk of a stream (Azure's prompt filter results). */
  streamPreamble?: string[];
  /** Absent: the provider speaks OpenAI's API. */
  wire?: SimulatedWire;
}

/** A provider, with its credential type `C` kept inside its module. */
export interface ProviderModule<C> {
  /** The id used in the route table, the price table, metrics and logs. */
  readonly id: string;
  /** Validates a credential document (from the environment, a secret or the simulator); extra fields are dropped. */
  readonly credentials: z.ZodType<C>;
  /** Local runs: the environment variables that configure the provider. */
  readonly environment: {
    /** Each variable's schema, merged into the configuration's (errors name the variable). */
    readonly variables: Record<string, z.ZodType>;
    /**
     * The credential document the validated variables describe; `undefined` when the provider is not
     * set up in this environment. Throws a `ConfigError` naming the variables for a half set-up.
     */
    credentials(variables: Record<string, unknown>): unknown;
  };
  /**
   * On AWS: a Secrets Manager secret per provider, created empty by the stack and filled by an operator.
   * Absent for a provider that signs its calls with the function's IAM role (Bedrock): on AWS too its
   * credentials come from `environment`, with variables the stack sets.
   */
  readonly aws?: {
    /** The function's environment variable that holds the secret's ARN. */
    readonly secretIdVariable: string;
    /** The placeholder JSON the stack creates the secret with (fields to fill in). */
    readonly secretTemplate: Record<string, string>;
    /** CloudFormation output naming the secret's ARN. */
    readonly outputName: string;
  };
  /** The client for valid credentials. */
  create(credentials: C): ChatProvider;
  /**
   * The simulated upstream for `npm start` without keys: its wire dialect and the credentials that point
   * at it. Left out of the Lambda bundles, where no simulator runs: a module writes
   * `simulation: process.env['HO_LAMBDA_BUNDLE'] === 'true' ? undefined : {...}`, which their build
   * (`LAMBDA_DEFINE` in lib/bundling/bundling.ts) folds to `undefined`, dropping the dialect's code.
   */
  readonly simulation: (SimulatedDialect & { credentials(baseUrl: string, apiKey: string): C }) | undefined;
}

/** A provider with its credential type erased, as the registry holds it. */
export interface RegisteredProvider {
  readonly id: string;
  readonly environment: ProviderModule<unknown>['environment'];
  readonly aws: ProviderModule<unknown>['aws'] | undefined;
  readonly simulation: (SimulatedDialect & { credentials(baseUrl: string, apiKey: string): Record<string, unknown> }) | undefined;
  /** The validated credentials, or `undefined` when `data` is absent or incomplete (an empty placeholder secret). */
  parseCredentials(data: unknown): Record<string, unknown> | undefined;
  /** The client for credentials `parseCredentials` accepted. */
  create(credentials: Record<string, unknown>): ChatProvider;
}

/** Registers a provider module, keeping its credential type checked inside it. */
export function defineProvider<C extends Record<string, unknown>>(module: ProviderModule<C>): RegisteredProvider {
  return {
    id: module.id,
    environment: module.environment,
    aws: module.aws,
    simulation: module.simulation,
    parseCredentials: (data) => {
      const parsed = module.credentials.safeParse(data);
      return parsed.success ? parsed.data : undefined;
    },
    // Only ever called with what `parseCredentials` returned for this module.
    create: (credentials) => module.create(credentials as C),
  };
}
