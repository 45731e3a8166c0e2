/**
 * Bedrock's wire dialect for the simulated upstream: `POST /model/{modelId}/converse`,
 * `/converse-stream` and `/invoke` (Titan embeddings, one text per call), SigV4-signed (the access key id is checked), errors named by `x-amzn-errortype`,
 * and streams in AWS's binary event-stream encoding (`application/vnd.amazon.eventstream`), written
 * with Smithy's own codec so the SDK's parser reads them as it reads Bedrock's.
 *
 * Prompt caching is simulated too: the first request with a cache point writes the prefix before it
 * (`cacheWriteInputTokens`), later requests with the same prefix read it (`cacheReadInputTokens`).
 */
import { createHash } from 'node:crypto';
import { estimateTokens, type SimulatedDialect, type SimulatedWire } from '../provider-module';

type Json = Record<string, unknown>;

const EXCEPTION_BY_STATUS: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  409: 'ConflictException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  503: 'ServiceUnavailableException',
};

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  length: 'max_tokens',
  content_filter: 'content_filtered',
};

/** Text of Converse blocks, for the simulated model's question and the cache prefix. */
function blockText(blocks: unknown): string {
  return ((blocks ?? []) as Json[])
    .map((block) => {
      if (typeof block['text'] === 'string') return block['text'];
      const result = block['toolResult'] as Json | undefined;
      if (result) return blockText(result['content']);
      if (block['toolUse']) return JSON.stringify((block['toolUse'] as Json)['input'] ?? {});
      return '';
    })
    .join(' ');
}

/** The OpenAI chat request a Converse request stands for. */
function toOpenAi(body: Json): Json {
  const messages: Json[] = [];
  const system = blockText(body['system']);
  if (system) messages.push({ role: 'system', content: system });
  for (const message of (body['messages'] ?? []) as Json[]) {
    const blocks = (message['content'] ?? []) as Json[];
    if (message['role'] === 'assistant') {
      const calls = blocks.flatMap((b) => {
        const use = b['toolUse'] as Json | undefined;
        return use
          ? [{ id: use['toolUseId'], type: 'function', function: { name: use['name'], arguments: JSON.stringify(use['input'] ?? {}) } }]
          : [];
      });
      messages.push({
        role: 'assistant',
        content: blockText(blocks.filter((b) => !b['toolUse'])),
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      continue;
    }
    for (const block of blocks) {
      const result = block['toolResult'] as Json | undefined;
      if (result) messages.push({ role: 'tool', tool_call_id: result['toolUseId'], content: blockText(result['content']) });
    }
    const text = blockText(blocks.filter((b) => !b['toolResult']));
    if (text || blocks.some((b) => b['image'])) messages.push({ role: 'user', content: text });
  }
  const config = (body['toolConfig'] ?? undefined) as Json | undefined;
  const choice = config?.['toolChoice'] as Json | undefined;
  const format = ((body['outputConfig'] as Json | undefined)?.['textFormat'] as Json | undefined)?.['structure'] as Json | undefined;
  const schema = (format?.['jsonSchema'] as Json | undefined)?.['schema'];
  return {
    messages,
    ...(config
      ? {
          tools: ((config['tools'] ?? []) as Json[]).map((tool) => {
            const spec = tool['toolSpec'] as Json;
            return { type: 'function', function: { name: spec['name'], parameters: (spec['inputSchema'] as Json)['json'] } };
          }),
          tool_choice: choice?.['any'] ? 'required' : choice?.['tool'] ? { type: 'function', function: choice['tool'] } : 'auto',
        }
      : {}),
    ...(typeof schema === 'string'
      ? { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: JSON.parse(schema) } } }
      : {}),
  };
}

/** Simulated prompt caching: cache-point prefixes this process has seen (bounded). */
const cachedPrefixes = new Set<string>();

/** Converse usage for the simulated answer's OpenAI usage: the prompt part before the last cache point is written once, then read. */
function converseUsage(usage: Json, request: Json) {
  const prompt = Number(usage['prompt_tokens'] ?? 0);
  const output = Number(usage['completion_tokens'] ?? 0);
  const blocks = [
    ...((request['system'] ?? []) as Json[]),
    ...((request['messages'] ?? []) as Json[]).flatMap((m) => (m['content'] ?? []) as Json[]),
  ];
  const last = blocks.map((b) => Boolean(b['cachePoint'])).lastIndexOf(true);
  let read = 0;
  let write = 0;
  if (last >= 0) {
    const prefix = blocks.slice(0, last);
    const cacheable = Math.min(estimateTokens(blockText(prefix)), Math.max(0, prompt - 1));
    const key = createHash('sha256').update(JSON.stringify(prefix)).digest('hex');
    if (cachedPrefixes.has(key)) read = cacheable;
    else {
      if (cachedPrefixes.size >= 1000) cachedPrefixes.clear();
      cachedPrefixes.add(key);
      write = cacheable;
    }
  }
  return {
    inputTokens: prompt - read - write,
    outputTokens: output,
    totalTokens: prompt + output,
    ...(last >= 0 ? { cacheReadInputTokens: read, cacheWriteInputTokens: write } : {}),
  };
}

type Codec = { encode(message: { headers: Record<string, { type: 'string'; value: string }>; body: Uint8Array }): Uint8Array };

let codec: Codec | undefined;
/** Smithy's event-stream codec, loaded on the first simulated stream. */
function eventStreamCodec(): Codec {
  if (!codec) {
    const { EventStreamCodec } = require('@smithy/core/event-streams') as typeof import('@smithy/core/event-streams');
    codec = new EventStreamCodec(
      (bytes) => Buffer.from(bytes).toString('utf8'),
      (text) => new Uint8Array(Buffer.from(text, 'utf8')),
    ) as unknown as Codec;
  }
  return codec;
}

function frame(type: string, payload: Json): Uint8Array {
  return eventStreamCodec().encode({
    headers: {
      ':event-type': { type: 'string', value: type },
      ':message-type': { type: 'string', value: 'event' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')),
  });
}

const wire: SimulatedWire = {
  // Titan's InvokeModel body (one text) as an OpenAI embeddings request; Converse as a chat request.
  request: (body, operation) =>
    operation === 'embeddings'
      ? { input: body['inputText'], dimensions: Number(body['dimensions'] ?? 1024), encoding_format: 'float' }
      : toOpenAi(body),
  embeddings: (list) => {
    const first = ((list['data'] ?? []) as Json[])[0] ?? {};
    return JSON.stringify({
      embedding: first['embedding'],
      inputTextTokenCount: Number((list['usage'] as Json | undefined)?.['prompt_tokens'] ?? 0),
    });
  },
  completion: (completion, request) => {
    const choice = ((completion['choices'] ?? []) as Json[])[0] ?? {};
    const message = (choice['message'] ?? {}) as Json;
    const calls = (message['tool_calls'] ?? []) as Json[];
    const content = calls.length
      ? calls.map((call) => {
          const fn = call['function'] as Json;
          return { toolUse: { toolUseId: call['id'], name: fn['name'], input: JSON.parse(String(fn['arguments'] || '{}')) } };
        })
      : [{ text: String(message['content'] ?? '') }];
    return JSON.stringify({
      output: { message: { role: 'assistant', content } },
      stopReason: STOP_REASONS[String(choice['finish_reason'])] ?? 'end_turn',
      usage: converseUsage((completion['usage'] ?? {}) as Json, request),
      metrics: { latencyMs: 1 },
    });
  },
  streamContentType: 'application/vnd.amazon.eventstream',
  stream: (chunks, request) => {
    const frames = [frame('messageStart', { role: 'assistant' })];
    let textOpen = false;
    const toolBlocks: number[] = [];
    for (const chunk of chunks) {
      const usage = chunk['usage'] as Json | null | undefined;
      const choice = ((chunk['choices'] ?? []) as Json[])[0];
      if (!choice) {
        if (usage) frames.push(frame('metadata', { usage: converseUsage(usage, request), metrics: { latencyMs: 1 } }));
        continue;
      }
      const delta = (choice['delta'] ?? {}) as Json;
      if (typeof delta['content'] === 'string' && delta['content'] !== '') {
        textOpen = true;
        frames.push(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: delta['content'] } }));
      }
      for (const call of (delta['tool_calls'] ?? []) as Json[]) {
        const block = Number(call['index'] ?? 0) + (textOpen ? 1 : 0);
        const fn = (call['function'] ?? {}) as Json;
        if (call['id']) {
          toolBlocks.push(block);
          frames.push(
            frame('contentBlockStart', { contentBlockIndex: block, start: { toolUse: { toolUseId: call['id'], name: fn['name'] } } }),
          );
        }
        if (fn['arguments'])
          frames.push(frame('contentBlockDelta', { contentBlockIndex: block, delta: { toolUse: { input: fn['arguments'] } } }));
      }
      if (choice['finish_reason']) {
        for (const block of textOpen ? [0, ...toolBlocks] : toolBlocks)
          frames.push(frame('contentBlockStop', { contentBlockIndex: block }));
        frames.push(frame('messageStop', { stopReason: STOP_REASONS[String(choice['finish_reason'])] ?? 'end_turn' }));
      }
    }
    return frames;
  },
  error: (status, message, type) => {
    const exception = type?.endsWith('Exception')
      ? type
      : (EXCEPTION_BY_STATUS[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException'));
    return { headers: { 'x-amzn-errortype': exception }, body: JSON.stringify({ message }) };
  },
};

export const bedrockDialect: SimulatedDialect = {
  baseUrl: (origin) => origin,
  route: ({ method, url, headers }, accessKeyId) => {
    const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(url.pathname);
    if (method !== 'POST' || !match)
      return {
        accepted: false,
        status: 404,
        type: 'UnknownOperationException',
        error: `Simulated Bedrock: no operation at ${method} ${url.pathname}`,
      };
    if (!String(headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${accessKeyId}/`))
      return {
        accepted: false,
        status: 403,
        type: 'UnrecognizedClientException',
        error: 'The security token included in the request is invalid.',
      };
    if (match[2] === 'invoke') return { accepted: true, model: decodeURIComponent(match[1]!), operation: 'embeddings' };
    return { accepted: true, model: decodeURIComponent(match[1]!), operation: 'chat', stream: match[2] === 'converse-stream' };
  },
  wire,
};
