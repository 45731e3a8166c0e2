/**
 * Simulated provider upstreams for running without provider keys: real HTTP servers on loopback
 * speaking each provider's wire dialect (its paths and credentials, from the provider's module, e.g.
 * Azure's `/openai/deployments/{name}/chat/completions` with `api-version` and `api-key`), with SSE
 * streaming, deterministic answers that say they are simulated, realistic `usage` counts,
 * configurable latency and failure injection.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateTokens, type SimulatedDialect } from '../adapters/providers/provider-module';
import { BUILT_IN_PROVIDER_IDS, providerModule } from '../adapters/providers/registry';
import type { ProviderId } from '../core/ai/route-table';
import { sampleOf } from './json-sample';

export type SimFault =
  | { kind: 'status'; status: number; retryAfterMs?: number; retryAfter?: string; code?: string; param?: string }
  /** Accepts the connection and never answers (no headers). */
  | { kind: 'timeout' }
  /** Sends 200 and the stream's headers, then nothing. */
  | { kind: 'silence' }
  /** Starts the answer, then stops sending without closing. */
  | { kind: 'stall' }
  | { kind: 'reset' }
  /** Starts the answer, then cuts the connection. */
  | { kind: 'midstream' };

const SSE = 'text/event-stream; charset=utf-8';

/** The simulated provider's own limits, reported in `x-ratelimit-*` headers as OpenAI does (per minute). */
const SIM_LIMITS = { requests: 10_000, tokens: 2_000_000 };

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  /** Credential header names that arrived (values are never recorded). */
  authHeaders: string[];
  /** The `x-*` headers that arrived (custom headers a provider instance sends). */
  customHeaders: Record<string, string>;
}

export interface SimulatedUpstreamOptions {
  provider: ProviderId;
  /** The provider's wire dialect; by default the registered provider's own. */
  dialect?: SimulatedDialect;
  apiKey: string;
  latencyMs?: number;
  chunkDelayMs?: number;
  /** Limits reported in `x-ratelimit-*` headers (per minute); default 10,000 requests and 2M tokens. */
  limits?: { requests: number; tokens: number };
}

const STATUS_MESSAGES: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Simulated bad request.'],
  401: ['invalid_request_error', 'Incorrect API key provided: sk-simu************************wxyz.'],
  403: ['permission_error', 'Simulated permission denied.'],
  404: ['invalid_request_error', 'Simulated: the model does not exist.'],
  408: ['timeout_error', 'Simulated request timeout.'],
  409: ['conflict_error', 'Simulated conflict.'],
  422: ['invalid_request_error', 'Simulated unprocessable entity.'],
  429: ['rate_limit_error', 'Simulated rate limit reached.'],
};

export { estimateTokens };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join(' ');
  return '';
}

export class SimulatedUpstream {
  /** The last 1,000 requests received (count calls with `calls`: this list stops growing). */
  readonly requests: RecordedRequest[] = [];
  /** Every request received since the start. */
  calls = 0;

  /** The requests received after the first `calls` (a count read from `calls` earlier); at most the last 1,000. */
  requestsSince(calls: number): RecordedRequest[] {
    const count = this.calls - calls;
    if (count > this.requests.length) throw new Error(`${count} requests since then, more than the ${this.requests.length} kept`);
    return count > 0 ? this.requests.slice(-count) : [];
  }
  private readonly server: Server;
  private fault: { fault: SimFault; remaining: number } | undefined;
  private counter = 0;
  private minute = 0;
  private used = { requests: 0, tokens: 0 };
  private readonly dialect: SimulatedDialect;
  latencyMs: number;
  chunkDelayMs: number;
  /** Set by `listen()`: the OpenAI base URL, or the Azure endpoint. */
  baseUrl = '';
  /** Streams whose reader went away before the end (the gateway cancels upstreams of departed clients). */
  abandonedStreams = 0;

  constructor(private readonly options: SimulatedUpstreamOptions) {
    const dialect = options.dialect ?? providerModule(options.provider)?.simulation;
    if (!dialect) throw new Error(`no simulated dialect for provider "${options.provider}"`);
    this.dialect = dialect;
    this.latencyMs = options.latencyMs ?? 0;
    this.chunkDelayMs = options.chunkDelayMs ?? 0;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  get provider(): ProviderId {
    return this.options.provider;
  }

  /** Starts listening on 127.0.0.1 and resolves the base URL (OpenAI: `.../v1`; Azure: the endpoint). */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const { port: bound } = this.server.address() as AddressInfo;
    this.baseUrl = this.dialect.baseUrl(`http://127.0.0.1:${bound}`);
    return this.baseUrl;
  }

  /** Injects a failure for the next `times` requests (default: until cleared). */
  setFault(fault: SimFault | undefined, times = Number.POSITIVE_INFINITY): void {
    this.fault = fault ? { fault, remaining: times } : undefined;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(): SimFault | undefined {
    if (!this.fault) return undefined;
    const { fault } = this.fault;
    this.fault.remaining -= 1;
    if (this.fault.remaining <= 0) this.fault = undefined;
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://sim');
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    this.calls += 1;
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      body,
      authHeaders: ['authorization', 'api-key'].filter((h) => req.headers[h] !== undefined),
      customHeaders: Object.fromEntries(
        Object.entries(req.headers).flatMap(([name, value]) =>
          name.startsWith('x-') && !name.startsWith('x-stainless') && typeof value === 'string' ? [[name, value]] : [],
        ),
      ),
    });
    if (this.requests.length > 1000) this.requests.splice(0, this.requests.length - 1000);

    const route = this.dialect.route({ method: req.method ?? 'GET', url, headers: req.headers }, this.options.apiKey);
    if (!route.accepted) return this.sendError(res, route.status, route.type, route.error);
    // A provider with its own API (Bedrock): its request read as an OpenAI one, the answer written back in its shape.
    const wire = this.dialect.wire;
    const original = body ?? {};
    if (wire && body) body = wire.request(body, route.operation);
    if (route.stream && body) body = { ...body, stream: true, stream_options: { include_usage: true } };
    const needs = route.operation === 'chat' ? 'messages' : 'input';
    if (route.operation === 'chat' ? !body || !Array.isArray(body['messages']) : body?.['input'] === undefined)
      return this.sendError(res, 400, 'invalid_request_error', `Missing required parameter: '${needs}'.`);

    const fault = this.takeFault();
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'timeout') return; // never answer: the client's timeout must fire
    if (fault?.kind === 'silence') {
      res.writeHead(200, { 'content-type': wire?.streamContentType ?? SSE, 'x-simulated-upstream': this.options.provider });
      res.flushHeaders();
      return; // headers, then silence: the first-event timeout must fire
    }
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (fault?.kind === 'status') {
      const [type, message] = STATUS_MESSAGES[fault.status] ?? ['server_error', `Simulated upstream error ${fault.status}.`];
      const headers: Record<string, string> = {};
      if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      return this.sendError(res, fault.status, type, message, fault.code, headers, fault.param);
    }
    const model = route.model ?? (typeof body!['model'] === 'string' ? body!['model'] : 'unknown');
    if (route.operation === 'embeddings') return this.embed(res, body!, model);
    const end = fault?.kind === 'midstream' ? 'cut' : fault?.kind === 'stall' ? 'stall' : undefined;
    if (route.operation === 'responses') return this.respond(res, body!, model, end);
    if (body!['stream'] === true) return this.stream(res, body!, model, end, original);
    return this.complete(res, body!, model, end !== undefined, original);
  }

  /**
   * Embeddings: one deterministic unit vector per input (the same text always gets the same vector),
   * `dimensions` long (default 1536, 3072 for `*-large`), as floats or base64 little-endian float32.
   */
  private embed(res: ServerResponse, body: Record<string, unknown>, model: string) {
    const input = body['input'];
    const inputs: unknown[] =
      typeof input === 'string' || (Array.isArray(input) && typeof input[0] === 'number') ? [input] : (input as unknown[]);
    const dimensions = Number(body['dimensions']) || (model.includes('large') ? 3072 : 1536);
    let promptTokens = 0;
    const data = inputs.map((item, index) => {
      const text = typeof item === 'string' ? item : JSON.stringify(item);
      promptTokens += typeof item === 'string' ? estimateTokens(item) : (item as unknown[]).length;
      const vector = simulatedVector(text, dimensions);
      const embedding = body['encoding_format'] === 'base64' ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
      return { object: 'embedding', index, embedding };
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-simulated-upstream': this.options.provider });
    const list = { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
    res.end(this.dialect.wire ? this.dialect.wire.embeddings(list) : JSON.stringify(list));
  }

  private sendError(
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    code?: string,
    headers: Record<string, string> = {},
    param?: string,
  ) {
    const wire = this.dialect.wire?.error(status, message, type);
    res.writeHead(status, { 'content-type': 'application/json', ...wire?.headers, ...headers });
    res.end(wire?.body ?? JSON.stringify({ error: { message, type, param: param ?? null, code: code ?? null } }));
  }

  /**
   * What the simulated model answers: a tool call when the request offers tools and has not sent
   * their results yet (arguments that satisfy the tool's schema), JSON that satisfies the requested
   * `response_format`, or a plain sentence that says it is simulated; `n` choices of it.
   */
  private answer(body: Record<string, unknown>, model: string) {
    const messages = body['messages'] as Array<Record<string, unknown>>;
    const lastUser = [...messages].reverse().find((m) => m['role'] === 'user');
    const question = textOf(lastUser?.['content']).replace(/\s+/g, ' ').trim().slice(0, 80);
    const text =
      `[simulated ${this.options.provider} ${model}] This answer comes from the local simulated upstream, not a real model. ` +
      `You asked: "${question}". Set provider keys to get real answers.`;
    this.counter += 1;
    const toolCall = chooseToolCall(body, messages, `call_sim${this.counter}`);
    const content = toolCall ? null : structuredContent(body, text);
    const promptTokens = messages.reduce((sum, m) => sum + 4 + estimateTokens(textOf(m['content'])), 3);
    const choices = Math.min(Math.max(Number(body['n'] ?? 1) || 1, 1), 8);
    const completionTokens = estimateTokens(content ?? toolCall!.arguments) * choices;
    return {
      id: `chatcmpl-sim-${this.options.provider}-${this.counter}`,
      created: Math.floor(Date.now() / 1000),
      content,
      toolCall,
      finishReason: toolCall ? 'tool_calls' : 'stop',
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    };
  }

  private complete(res: ServerResponse, body: Record<string, unknown>, model: string, cut: boolean, original: Record<string, unknown>) {
    const a = this.answer(body, model);
    const completion = {
      id: a.id,
      object: 'chat.completion',
      created: a.created,
      model,
      choices: Array.from({ length: a.choices }, (_, index) => ({
        index,
        message: {
          role: 'assistant',
          content: a.content,
          refusal: null,
          annotations: [],
          ...(a.toolCall
            ? {
                tool_calls: [{ id: a.toolCall.id, type: 'function', function: { name: a.toolCall.name, arguments: a.toolCall.arguments } }],
              }
            : {}),
        },
        logprobs: null,
        finish_reason: a.finishReason,
        ...this.dialect.choiceExtras,
      })),
      usage: a.usage,
      system_fingerprint: 'fp_simulated',
    };
    const payload = this.dialect.wire ? this.dialect.wire.completion(completion, original) : JSON.stringify(completion);
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-simulated-upstream': this.options.provider,
      ...this.limitHeaders(a.usage.total_tokens),
    });
    if (cut) {
      // Destroy only once the partial body is flushed, so the client sees a cut body, not a reset.
      res.write(payload.slice(0, Math.floor(payload.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(payload);
  }

  /** OpenAI's rate-limit headers for the current minute. */
  private limitHeaders(tokens: number): Record<string, string> {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used = { requests: 0, tokens: 0 };
    }
    this.used.requests += 1;
    this.used.tokens += tokens;
    const reset = `${((minute + 1) * 60_000 - Date.now()) / 1000}s`;
    const limits = this.options.limits ?? SIM_LIMITS;
    return {
      'x-ratelimit-limit-requests': String(limits.requests),
      'x-ratelimit-remaining-requests': String(Math.max(0, limits.requests - this.used.requests)),
      'x-ratelimit-reset-requests': reset,
      'x-ratelimit-limit-tokens': String(limits.tokens),
      'x-ratelimit-remaining-tokens': String(Math.max(0, limits.tokens - this.used.tokens)),
      'x-ratelimit-reset-tokens': reset,
    };
  }

  private async stream(
    res: ServerResponse,
    body: Record<string, unknown>,
    model: string,
    end: 'cut' | 'stall' | undefined,
    original: Record<string, unknown>,
  ) {
    const a = this.answer(body, model);
    const includeUsage = (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
    const base = { id: a.id, object: 'chat.completion.chunk', created: a.created, model, system_fingerprint: 'fp_simulated' };
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      ...base,
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const events: Array<Record<string, unknown>> = [];
    for (let index = 0; index < a.choices; index++) {
      const call = a.toolCall;
      if (call) {
        // As OpenAI streams a tool call: its id and name first, then the arguments in pieces.
        events.push(
          chunk([
            {
              index,
              delta: {
                role: 'assistant',
                content: null,
                tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
              },
              logprobs: null,
              finish_reason: null,
            },
          ]),
        );
        for (let i = 0; i < call.arguments.length; i += 12) {
          events.push(
            chunk([
              {
                index,
                delta: { tool_calls: [{ index: 0, function: { arguments: call.arguments.slice(i, i + 12) } }] },
                logprobs: null,
                finish_reason: null,
              },
            ]),
          );
        }
      } else {
        events.push(chunk([{ index, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]));
        const pieces = a.content!.split(/(?<= )/);
        for (let i = 0; i < pieces.length; i += 3) {
          events.push(chunk([{ index, delta: { content: pieces.slice(i, i + 3).join('') }, logprobs: null, finish_reason: null }]));
        }
      }
      events.push(chunk([{ index, delta: {}, logprobs: null, finish_reason: a.finishReason }]));
    }
    if (includeUsage) events.push({ ...base, choices: [], usage: a.usage });

    const wire = this.dialect.wire;
    if (wire) return this.sendEvents(res, wire.stream(events, original), a.usage.total_tokens, end, wire.streamContentType);
    const sse = [
      ...(this.dialect.streamPreamble ?? []).map((preamble) => `data: ${preamble}\n\n`),
      ...events.map((event) => `data: ${JSON.stringify(event)}\n\n`),
      'data: [DONE]\n\n',
    ];
    await this.sendEvents(res, sse, a.usage.total_tokens, end);
  }

  /**
   * The Responses API (`/v1/responses`): a `response` object with one output message (the same text as
   * chat), or its stream of typed events, from `response.created` to `response.completed`.
   */
  private async respond(res: ServerResponse, body: Record<string, unknown>, model: string, end: 'cut' | 'stall' | undefined) {
    const input = body['input'];
    const text =
      typeof input === 'string'
        ? input
        : Array.isArray(input)
          ? input.map((item) => textOf((item as { content?: unknown })?.content)).join(' ')
          : '';
    const question = text.replace(/\s+/g, ' ').trim().slice(0, 80);
    const answer =
      `[simulated ${this.options.provider} ${model}] This answer comes from the local simulated upstream, not a real model. ` +
      `You asked: "${question}". Set provider keys to get real answers.`;
    this.counter += 1;
    const inputTokens = 3 + estimateTokens(text) + estimateTokens(typeof body['instructions'] === 'string' ? body['instructions'] : '');
    const outputTokens = estimateTokens(answer);
    const id = `resp_sim${this.counter}`;
    const itemId = `msg_sim${this.counter}`;
    const part = (t: string) => ({ type: 'output_text', text: t, annotations: [] });
    const response = (status: 'in_progress' | 'completed', done: boolean) => ({
      id,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status,
      model,
      output: done ? [{ type: 'message', id: itemId, status: 'completed', role: 'assistant', content: [part(answer)] }] : [],
      usage: done
        ? {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: inputTokens + outputTokens,
          }
        : null,
      error: null,
      incomplete_details: null,
      instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
      metadata: body['metadata'] ?? {},
      parallel_tool_calls: true,
      temperature: typeof body['temperature'] === 'number' ? body['temperature'] : 1,
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      store: body['store'] !== false,
      text: { format: { type: 'text' } },
      truncation: 'disabled',
    });
    if (body['stream'] !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-simulated-upstream': this.options.provider });
      res.end(JSON.stringify(response('completed', true)));
      return;
    }
    let sequence = 0;
    const event = (type: string, fields: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
    const where = { item_id: itemId, output_index: 0, content_index: 0 };
    const events = [
      event('response.created', { response: response('in_progress', false) }),
      event('response.output_item.added', {
        output_index: 0,
        item: { type: 'message', id: itemId, status: 'in_progress', role: 'assistant', content: [] },
      }),
      event('response.content_part.added', { ...where, part: part('') }),
    ];
    const pieces = answer.split(/(?<= )/);
    for (let i = 0; i < pieces.length; i += 3)
      events.push(event('response.output_text.delta', { ...where, delta: pieces.slice(i, i + 3).join('') }));
    events.push(
      event('response.output_text.done', { ...where, text: answer }),
      event('response.content_part.done', { ...where, part: part(answer) }),
      event('response.output_item.done', {
        output_index: 0,
        item: { type: 'message', id: itemId, status: 'completed', role: 'assistant', content: [part(answer)] },
      }),
      event('response.completed', { response: response('completed', true) }),
    );
    await this.sendEvents(res, events, inputTokens + outputTokens, end);
  }

  /** Writes a stream's events (paced by `chunkDelayMs`), then ends it, cuts it (`cut`) or leaves it silent (`stall`). */
  private async sendEvents(
    res: ServerResponse,
    events: Array<string | Uint8Array>,
    tokens: number,
    end: 'cut' | 'stall' | undefined,
    contentType = SSE,
  ) {
    res.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-cache',
      'x-simulated-upstream': this.options.provider,
      ...this.limitHeaders(tokens),
    });
    const stopAt = end ? Math.min(3, events.length - 1) : events.length;
    for (let i = 0; i < stopAt; i++) {
      if (res.destroyed) {
        this.abandonedStreams += 1;
        return;
      }
      await new Promise<void>((resolve) => res.write(events[i], () => resolve()));
      if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs);
    }
    if (end === 'cut') res.socket?.destroy();
    else if (end === 'stall')
      return; // the connection stays open, silent: the idle timeout must fire
    else res.end();
  }
}

/** The first function tool the request lets the model call now, with arguments that satisfy its schema. */
function chooseToolCall(body: Record<string, unknown>, messages: Array<Record<string, unknown>>, id: string) {
  const tools = (Array.isArray(body['tools']) ? body['tools'] : []) as Array<{
    type?: string;
    function?: { name?: string; parameters?: unknown };
  }>;
  const functions = tools.filter((t) => t.type === 'function' && typeof t.function?.name === 'string');
  const choice = body['tool_choice'] as string | { type?: string; function?: { name?: string } } | undefined;
  if (functions.length === 0 || choice === 'none') return undefined;
  // With tool results already in the conversation, `auto` answers in words (what agent loops wait for).
  if ((choice === undefined || choice === 'auto') && messages.at(-1)?.['role'] === 'tool') return undefined;
  const named = typeof choice === 'object' ? choice.function?.name : undefined;
  const tool = (named ? functions.find((t) => t.function!.name === named) : functions[0]) ?? functions[0]!;
  const parameters = tool.function!.parameters ?? { type: 'object', properties: {} };
  return { id, name: tool.function!.name!, arguments: JSON.stringify(sampleOf(parameters)) };
}

/** The answer's text: JSON for `response_format` json_object or json_schema (valid against the schema), else `text`. */
function structuredContent(body: Record<string, unknown>, text: string): string {
  const format = body['response_format'] as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_schema') return JSON.stringify(sampleOf(format.json_schema?.schema ?? { type: 'object' }));
  if (format?.type === 'json_object') return JSON.stringify({ message: text });
  return text;
}

/** A unit vector derived from the text's SHA-256 (a xorshift stream seeded by it). */
function simulatedVector(text: string, dimensions: number): Float32Array {
  const seed = createHash('sha256').update(text).digest();
  let state = seed.readUInt32LE(0) || 1;
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    vector[i] = (state >>> 0) / 0xffffffff - 0.5;
    norm += vector[i]! * vector[i]!;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i]! *= scale;
  return vector;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses `SIM_FAIL` (`azure-openai:503,openai:timeout,openai:429:2`): provider, fault, optional count. */
export function parseSimFail(
  spec: string | undefined,
  known: readonly string[] = BUILT_IN_PROVIDER_IDS,
): Map<ProviderId, { fault: SimFault; times: number }> {
  const out = new Map<ProviderId, { fault: SimFault; times: number }>();
  if (!spec) return out;
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [provider, what, count] = item.split(':');
    if (!provider || !known.includes(provider)) throw new Error(`SIM_FAIL: unknown provider "${provider}" in "${item}"`);
    let fault: SimFault;
    if (what === 'timeout' || what === 'silence' || what === 'stall' || what === 'reset' || what === 'midstream') fault = { kind: what };
    else if (what && /^\d{3}$/.test(what)) fault = { kind: 'status', status: Number(what) };
    else throw new Error(`SIM_FAIL: unknown fault "${what}" in "${item}" (use a status code, timeout, silence, stall, reset or midstream)`);
    const times = count === undefined ? Number.POSITIVE_INFINITY : Number(count);
    if (count !== undefined && (!Number.isInteger(times) || times < 1)) throw new Error(`SIM_FAIL: bad count "${count}" in "${item}"`);
    out.set(provider, { fault, times });
  }
  return out;
}
