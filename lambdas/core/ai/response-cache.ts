/**
 * The exact-match response cache in front of the orchestrator.
 *
 * - **Key**: a SHA-256 of the request normalised (keys sorted, JSON whitespace gone, OpenAI's defaults
 *   made explicit, `max_tokens` and `max_completion_tokens` merged, text-only content parts joined;
 *   `stream`, `stream_options`, `user`, `metadata`, `store` and `service_tier` left out: they do not
 *   change the answer) and the task type. The **scope** (per user by default, or a shared scope an
 *   admin gave a set of keys) is the store's partition: one user's entries are never looked up for
 *   another, whatever their requests look like.
 * - **What is stored**: only complete, successful answers (every choice ended by `stop`, `length`,
 *   `tool_calls` or `function_call`, not empty, no refusal, nothing a replay could not reproduce), kept as the `chat.completion` object, so a streamed
 *   request can be served from a non-streamed answer and the other way round (`replayChunks`).
 * - **Where**: an in-process LRU bounded in bytes (entries at most `l1MaxAgeMs` old there, so a purge
 *   reaches every instance within that time) in front of the store (DynamoDB with TTL on AWS and
 *   locally). A store that fails is a miss, never a failed request.
 */
import { createHash } from 'node:crypto';
import { errorFields } from '../errors';
import type { Clock } from '../ports';
import type { Telemetry } from '../telemetry';
import type { ProviderId, TaskType } from './route-table';
import type { Usage } from './ports';

/** One stored answer. */
export interface CachedAnswer {
  scope: string;
  key: string;
  taskType: TaskType;
  /** Who answered it, and what it used: a hit is billed at 0 and saves this usage's cost. */
  provider: ProviderId;
  model: string;
  usage: Usage | undefined;
  /** The answer as a non-streamed `chat.completion` object. */
  completion: Record<string, unknown>;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
}

/** Where entries live beyond the instance (DynamoDB). */
export interface CacheStore {
  get(scope: string, key: string): Promise<CachedAnswer | undefined>;
  /** Stores the entry whole; false when it is too large for the store (it is then not cached). */
  put(entry: CachedAnswer): Promise<boolean>;
  delete(scope: string, key: string): Promise<boolean>;
  /** Deletes every entry of a scope; returns how many. */
  purgeScope(scope: string): Promise<number>;
}

/** What the client asked of the cache for this request (`Cache-Control` request header). */
export type CacheDirective = 'default' | 'no-cache' | 'no-store';

/** How the cache served a request (`x-cache`). */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'REFRESH';

export interface ResponseCacheOptions {
  /** Bytes of answers kept in process (JSON length). */
  l1MaxBytes: number;
  /** Longest an entry is served from process memory before the store is asked again. */
  l1MaxAgeMs: number;
  /** Default time to live of an entry. */
  defaultTtlSeconds: number;
  /** Upper bound of a TTL asked per request (`x-cache-ttl`). */
  maxTtlSeconds: number;
}

export const DEFAULT_CACHE_OPTIONS: ResponseCacheOptions = {
  l1MaxBytes: 32 * 1024 * 1024,
  l1MaxAgeMs: 60_000,
  defaultTtlSeconds: 86_400,
  maxTtlSeconds: 7 * 86_400,
};

/** Request fields that do not change the answer. */
const IGNORED_FIELDS = new Set(['stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier']);

/** OpenAI's defaults: a request that states them is the same request as one that leaves them out. */
const DEFAULTS: Record<string, unknown> = {
  temperature: 1,
  top_p: 1,
  n: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  logprobs: false,
};

/** Values sorted by key at every level, arrays kept in order: one text for one meaning. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** A message's content as a string when it is text only (`"hi"` and `[{type:"text",text:"hi"}]` ask the same). */
function normaliseMessage(message: unknown): unknown {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
  const m = message as Record<string, unknown>;
  const content = m['content'];
  if (!Array.isArray(content)) return m;
  const textOnly = content.every((p) => p !== null && typeof p === 'object' && (p as Record<string, unknown>)['type'] === 'text');
  return textOnly ? { ...m, content: content.map((p) => String((p as Record<string, unknown>)['text'] ?? '')).join('') } : m;
}

/** The request as the key sees it (exported for tests and `/v1/routing/explain`). */
export function normaliseRequest(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (IGNORED_FIELDS.has(key) || value === undefined || value === null) continue;
    out[key] = value;
  }
  for (const [key, value] of Object.entries(DEFAULTS)) out[key] ??= value;
  if (out['max_completion_tokens'] !== undefined) {
    out['max_tokens'] = out['max_completion_tokens'];
    delete out['max_completion_tokens'];
  }
  const tools = Array.isArray(out['tools']) && out['tools'].length > 0;
  if (tools) {
    out['tool_choice'] ??= 'auto';
    out['parallel_tool_calls'] ??= true;
  } else {
    delete out['tools'];
    if (out['tool_choice'] === 'none') delete out['tool_choice'];
  }
  if ((out['response_format'] as { type?: unknown } | undefined)?.type === 'text') delete out['response_format'];
  if (Array.isArray(out['messages'])) out['messages'] = out['messages'].map(normaliseMessage);
  return out;
}

/** The normalised request's digest: repeated requests share it (usage records keep it too). */
export function cacheKey(taskType: TaskType, body: Record<string, unknown>): string {
  return createHash('sha256')
    .update(`v1\n${taskType}\n${canonical(normaliseRequest(body))}`)
    .digest('hex');
}

/**
 * The entry's key within its scope: the request's digest, and `variant`, whatever else decides the
 * answer (smart routing's options and the caller's plan, which pick the model for `model: "auto"`).
 */
export function entryKey(digest: string, variant: string): string {
  return variant === '' ? digest : createHash('sha256').update(`${digest}\n${variant}`).digest('hex');
}

const COMPLETE = new Set(['stop', 'length', 'tool_calls', 'function_call']);

/**
 * Whether an answer may be stored: a `chat.completion` whose every choice ended normally and holds
 * no refusal (never an error, a content-filter block or a refusal, which are not answers to replay).
 */
export function isCacheable(completion: Record<string, unknown>): boolean {
  const choices = completion['choices'];
  if (!Array.isArray(choices) || choices.length === 0) return false;
  return choices.every((choice: unknown) => {
    if (choice === null || typeof choice !== 'object') return false;
    const c = choice as Record<string, unknown>;
    const message = c['message'] as Record<string, unknown> | undefined;
    if (!message || (message['refusal'] !== undefined && message['refusal'] !== null)) return false;
    if (typeof c['finish_reason'] !== 'string' || !COMPLETE.has(c['finish_reason'])) return false;
    // What a replay could not reproduce as chunks is not stored: logprobs, audio, annotations, custom tools.
    if (
      (c['logprobs'] ?? null) !== null ||
      message['audio'] ||
      (Array.isArray(message['annotations']) && message['annotations'].length > 0)
    )
      return false;
    const toolCalls = Array.isArray(message['tool_calls']) ? (message['tool_calls'] as Array<Record<string, unknown>>) : [];
    if (toolCalls.some((call) => (call['type'] ?? 'function') !== 'function')) return false;
    // An empty answer is not worth replaying (the legacy endpoints answer it 502).
    const content = typeof message['content'] === 'string' ? message['content'].trim() : '';
    return content !== '' || toolCalls.length > 0 || message['function_call'] !== undefined;
  });
}

/** A bounded-in-bytes LRU of entries (Map order is recency). */
class ByteLru {
  private readonly entries = new Map<string, { entry: CachedAnswer; bytes: number; storedAt: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(id: string): { entry: CachedAnswer; storedAt: number } | undefined {
    const found = this.entries.get(id);
    if (!found) return undefined;
    this.entries.delete(id);
    this.entries.set(id, found);
    return found;
  }

  set(id: string, entry: CachedAnswer, bytes: number, storedAt: number): void {
    this.delete(id);
    if (bytes > this.maxBytes / 8) return; // one answer never takes over the cache
    this.entries.set(id, { entry, bytes, storedAt });
    this.bytes += bytes;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.bytes;
    }
  }

  delete(id: string): void {
    const found = this.entries.get(id);
    if (!found) return;
    this.entries.delete(id);
    this.bytes -= found.bytes;
  }

  deleteScope(scope: string): void {
    for (const [id, { entry }] of this.entries) if (entry.scope === scope) this.delete(id);
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

export class ResponseCache {
  private readonly l1: ByteLru;

  constructor(
    private readonly store: CacheStore,
    private readonly clock: Clock,
    private readonly telemetry: Pick<Telemetry, 'error'>,
    readonly options: ResponseCacheOptions = DEFAULT_CACHE_OPTIONS,
  ) {
    this.l1 = new ByteLru(options.l1MaxBytes);
  }

  /** The stored answer for `key` in `scope`, unexpired; from process memory when it is there. */
  async get(scope: string, key: string): Promise<CachedAnswer | undefined> {
    const now = this.clock.now();
    const id = `${scope}\u0000${key}`;
    const local = this.l1.get(id);
    if (local) {
      if (local.entry.expiresAt > now && now - local.storedAt < this.options.l1MaxAgeMs) return local.entry;
      this.l1.delete(id);
    }
    let entry: CachedAnswer | undefined;
    try {
      entry = await this.store.get(scope, key);
    } catch (error) {
      this.telemetry.error('response cache lookup failed; treated as a miss', { error: errorFields(error) });
      return undefined;
    }
    // The store's TTL deletes late: an expired entry is a miss.
    if (!entry || entry.expiresAt <= now) return undefined;
    this.l1.set(id, entry, JSON.stringify(entry.completion).length, now);
    return entry;
  }

  /** Stores a complete answer (callers check `isCacheable` first). Never throws: a failed write is logged. */
  async put(entry: CachedAnswer): Promise<void> {
    try {
      // In memory only once stored: what the table does not hold, no instance serves.
      if (await this.store.put(entry))
        this.l1.set(`${entry.scope}\u0000${entry.key}`, entry, JSON.stringify(entry.completion).length, this.clock.now());
    } catch (error) {
      this.telemetry.error('response cache write failed', { error: errorFields(error) });
    }
  }

  /** Removes one entry, or a whole scope; other instances drop theirs within `l1MaxAgeMs`. */
  async purge(scope: string, key?: string): Promise<number> {
    if (key !== undefined) {
      this.l1.delete(`${scope}\u0000${key}`);
      return (await this.store.delete(scope, key)) ? 1 : 0;
    }
    this.l1.deleteScope(scope);
    return this.store.purgeScope(scope);
  }

  /** The TTL of a new entry: the request's (`x-cache-ttl`, bounded), else the task's, else the default. */
  ttlSeconds(requested: number | undefined, taskTtlSeconds: number | undefined): number {
    const ttl = requested ?? taskTtlSeconds ?? this.options.defaultTtlSeconds;
    return Math.max(1, Math.min(ttl, this.options.maxTtlSeconds));
  }

  get memory(): { entries: number; bytes: number } {
    return this.l1.size;
  }
}

/**
 * A stored answer as the chunks of a stream, each valid against OpenAI's `chat.completion.chunk`
 * schema: per choice a role chunk, the content (in pieces of `pieceChars`), the refusal-free tool
 * calls as deltas (id, type and name first, then the arguments), then a chunk with the finish reason;
 * then, when the client asked (`include_usage`), the usage chunk with empty choices.
 */
export function replayChunks(
  completion: Record<string, unknown>,
  options: { includeUsage: boolean; usage: unknown; pieceChars?: number },
): string[] {
  const piece = options.pieceChars ?? 64;
  const head = {
    id: completion['id'],
    object: 'chat.completion.chunk',
    created: completion['created'],
    model: completion['model'],
    ...(completion['system_fingerprint'] !== undefined ? { system_fingerprint: completion['system_fingerprint'] } : {}),
    ...(completion['service_tier'] !== undefined ? { service_tier: completion['service_tier'] } : {}),
  };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...head, choices, ...(options.includeUsage ? { usage: null } : {}), ...extra });
  const out: string[] = [];
  for (const raw of (completion['choices'] as Array<Record<string, unknown>>) ?? []) {
    const index = raw['index'] ?? 0;
    const message = (raw['message'] ?? {}) as Record<string, unknown>;
    const delta = (d: Record<string, unknown>, finish: unknown = null) => ({ index, delta: d, logprobs: null, finish_reason: finish });
    out.push(chunk([delta({ role: message['role'] ?? 'assistant', content: typeof message['content'] === 'string' ? '' : null })]));
    const content = typeof message['content'] === 'string' ? message['content'] : '';
    for (let i = 0; i < content.length; i += piece) out.push(chunk([delta({ content: content.slice(i, i + piece) })]));
    const toolCalls = Array.isArray(message['tool_calls']) ? (message['tool_calls'] as Array<Record<string, unknown>>) : [];
    toolCalls.forEach((call, callIndex) => {
      const fn = (call['function'] ?? {}) as Record<string, unknown>;
      out.push(
        chunk([
          delta({
            tool_calls: [
              { index: callIndex, id: call['id'], type: call['type'] ?? 'function', function: { name: fn['name'], arguments: '' } },
            ],
          }),
        ]),
      );
      const args = typeof fn['arguments'] === 'string' ? fn['arguments'] : '';
      for (let i = 0; i < args.length; i += piece)
        out.push(chunk([delta({ tool_calls: [{ index: callIndex, function: { arguments: args.slice(i, i + piece) } }] })]));
    });
    const functionCall = message['function_call'] as { name?: unknown; arguments?: unknown } | undefined;
    if (functionCall) {
      out.push(chunk([delta({ function_call: { name: functionCall.name, arguments: '' } })]));
      const args = typeof functionCall.arguments === 'string' ? functionCall.arguments : '';
      for (let i = 0; i < args.length; i += piece) out.push(chunk([delta({ function_call: { arguments: args.slice(i, i + piece) } })]));
    }
    out.push(chunk([delta({}, raw['finish_reason'] ?? 'stop')]));
  }
  if (options.includeUsage && options.usage) out.push(JSON.stringify({ ...head, choices: [], usage: options.usage }));
  return out;
}
