/**
 * An OpenAI Chat Completions request in Bedrock's Converse shape: system and developer messages become
 * `system`, user content parts text and image blocks, assistant tool calls `toolUse` blocks, tool
 * messages `toolResult` blocks (consecutive messages of one role merged, as Converse alternates roles),
 * `cache_control` on a part a cache point after it, and sampling settings, stop sequences, tools,
 * `tool_choice` and `json_schema` output their Converse fields.
 *
 * What Converse cannot do (`n > 1`, logprobs, penalties, seeds, image URLs it would have to fetch...) is a
 * 400 naming the field, never silently dropped. Fields that only concern OpenAI's own service (`user`,
 * `store`, `metadata`, `service_tier`...) have no meaning for Bedrock and are left out.
 */
import type {
  ContentBlock,
  ConverseStreamRequest,
  ImageFormat,
  Message,
  SystemContentBlock,
  Tool,
  ToolChoice,
  ToolConfiguration,
} from '@aws-sdk/client-bedrock-runtime';
import { openAiError, ProviderCallError } from '../../../core/errors';

/** Converse and ConverseStream take the same request. */
export type ConverseRequest = ConverseStreamRequest;

type Json = Record<string, unknown>;

/** The request asks for something Bedrock cannot do: the caller's 400, naming the field. */
export function unsupported(param: string, message: string): ProviderCallError {
  return new ProviderCallError(
    {
      errorClass: 'client_error',
      status: 400,
      body: openAiError(`Amazon Bedrock: ${message}`, 'invalid_request_error', 'unsupported_parameter', param),
    },
    `bedrock: unsupported ${param}`,
  );
}

/** Fields that describe the call to OpenAI's service itself; they have no Converse counterpart and change no answer. */
const SERVICE_ONLY = new Set([
  'model',
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
  'safety_identifier',
]);

/** A field's value that asks for nothing beyond what Converse does anyway (OpenAI's defaults). */
const DEFAULT_VALUES: Record<string, (value: unknown) => boolean> = {
  n: (v) => v === 1,
  logprobs: (v) => v === false,
  top_logprobs: (v) => v === 0,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  parallel_tool_calls: (v) => v === true,
  modalities: (v) => Array.isArray(v) && v.every((m) => m === 'text'),
};

const WHY: Record<string, string> = {
  n: 'only one choice per request (n must be 1)',
  logprobs: 'Converse returns no log probabilities',
  top_logprobs: 'Converse returns no log probabilities',
  presence_penalty: 'Converse has no presence penalty',
  frequency_penalty: 'Converse has no frequency penalty',
  logit_bias: 'Converse has no logit bias',
  parallel_tool_calls: 'Converse cannot turn off parallel tool calls',
  modalities: 'Converse answers in text only',
};

const TRANSLATED = new Set([
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'tools',
  'tool_choice',
  'response_format',
]);

const IMAGE_FORMATS: Record<string, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => String((part as Json)['text'] ?? '')).join('');
  if (content == null) return '';
  throw unsupported(param, 'content must be text');
}

/** A text block, followed by a cache point when the part carries `cache_control` (Anthropic's marker, as peers accept it). */
function textBlocks(part: Json): Array<ContentBlock & SystemContentBlock> {
  // Converse refuses blank text blocks: an empty part is left out (its cache point stays).
  const text = String(part['text'] ?? '');
  const blocks: Array<ContentBlock & SystemContentBlock> = text === '' ? [] : [{ text }];
  return part['cache_control'] ? [...blocks, { cachePoint: { type: 'default' } }] : blocks;
}

function imageBlock(part: Json, param: string): ContentBlock {
  const url = String((part['image_url'] as Json | undefined)?.['url'] ?? '');
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!match) throw unsupported(param, 'images must be sent as base64 data: URLs (Converse does not fetch image URLs)');
  const format = IMAGE_FORMATS[match[1]!.toLowerCase()];
  if (!format) throw unsupported(param, `image type ${match[1]} is not one of png, jpeg, gif or webp`);
  return { image: { format, source: { bytes: Buffer.from(match[2]!, 'base64') } } };
}

function userBlocks(content: unknown, param: string): ContentBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw unsupported(param, 'content must be text or content parts');
  return content.flatMap((raw, i): ContentBlock[] => {
    const part = raw as Json;
    if (part['type'] === 'text') return textBlocks(part);
    if (part['type'] === 'image_url') return [imageBlock(part, `${param}.${i}`)];
    throw unsupported(`${param}.${i}.type`, `content parts of type ${String(part['type'])} are not supported`);
  });
}

function parseArguments(text: string, param: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text === '' ? '{}' : text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw unsupported(param, 'tool call arguments must be a JSON object');
}

function assistantBlocks(message: Json, param: string): ContentBlock[] {
  const content = message['content'];
  const blocks: ContentBlock[] = [];
  if (typeof content === 'string') {
    if (content !== '') blocks.push({ text: content });
  } else if (Array.isArray(content)) {
    for (const part of content as Json[]) {
      const text = part['type'] === 'refusal' ? part['refusal'] : part['text'];
      if (typeof text === 'string' && text !== '') blocks.push(...textBlocks({ ...part, text }));
    }
  }
  const calls = (message['tool_calls'] ?? []) as Json[];
  calls.forEach((call, i) => {
    if (call['type'] !== 'function')
      throw unsupported(`${param}.tool_calls.${i}.type`, `tool calls of type ${String(call['type'])} are not supported`);
    const fn = call['function'] as Json;
    blocks.push({
      toolUse: {
        toolUseId: String(call['id']),
        name: String(fn['name']),
        input: parseArguments(String(fn['arguments'] ?? ''), `${param}.tool_calls.${i}.function.arguments`) as never,
      },
    });
  });
  if (message['function_call']) throw unsupported(`${param}.function_call`, 'use tool_calls instead of the deprecated function_call');
  if (message['audio']) throw unsupported(`${param}.audio`, 'audio is not supported');
  return blocks;
}

/** The conversation: system blocks apart, then messages of alternating roles. */
function conversation(messages: Json[]): { system: SystemContentBlock[]; messages: Message[] } {
  const system: SystemContentBlock[] = [];
  const out: Message[] = [];
  const append = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last?.role === role) last.content!.push(...blocks);
    else out.push({ role, content: blocks });
  };
  messages.forEach((message, i) => {
    const param = `messages.${i}`;
    switch (message['role']) {
      case 'system':
      case 'developer': {
        const content = message['content'];
        if (typeof content === 'string') {
          if (content !== '') system.push({ text: content });
        } else for (const part of (content ?? []) as Json[]) system.push(...textBlocks(part));
        break;
      }
      case 'user':
        append('user', userBlocks(message['content'], `${param}.content`));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message, param));
        break;
      case 'tool':
        append('user', [
          {
            toolResult: {
              toolUseId: String(message['tool_call_id']),
              content: [{ text: textOf(message['content'], `${param}.content`) }],
            },
          },
        ]);
        break;
      default:
        throw unsupported(`${param}.role`, `messages of role ${String(message['role'])} are not supported; use tool messages`);
    }
  });
  return { system, messages: out };
}

/** `usedTools`: the names of the tools the conversation already called; `usesTools`: it has tool calls or results. */
function toolConfig(body: Json, usedTools: string[], usesTools: boolean): ToolConfiguration | undefined {
  const tools = (body['tools'] ?? []) as Json[];
  const choice = body['tool_choice'] as string | Json | undefined | null;
  // Converse has no "none": leaving the tools out is the same, unless the conversation already used
  // them (Converse then needs them declared, and the model could call them).
  if (choice === 'none' && usesTools)
    throw unsupported('tool_choice', 'tool_choice "none" cannot be sent with a conversation that used tools');
  if (tools.length === 0) {
    if (choice != null && choice !== 'none' && choice !== 'auto') throw unsupported('tool_choice', 'tool_choice needs tools');
    // Converse needs the tools a conversation used declared, even to summarise it: their names, any input.
    return usedTools.length > 0
      ? { tools: usedTools.map((name) => ({ toolSpec: { name, inputSchema: { json: { type: 'object' } as never } } })) }
      : undefined;
  }
  if (choice === 'none') return undefined;
  const specs: Tool[] = tools.map((tool, i) => {
    if (tool['type'] !== 'function') throw unsupported(`tools.${i}.type`, `tools of type ${String(tool['type'])} are not supported`);
    const fn = tool['function'] as Json;
    return {
      toolSpec: {
        name: String(fn['name']),
        ...(typeof fn['description'] === 'string' ? { description: fn['description'] } : {}),
        inputSchema: { json: (fn['parameters'] ?? { type: 'object', properties: {} }) as never },
      },
    };
  });
  let toolChoice: ToolChoice | undefined;
  if (choice === 'required') toolChoice = { any: {} };
  else if (choice === 'auto' || choice == null) toolChoice = { auto: {} };
  else if (typeof choice === 'object' && choice['type'] === 'function')
    toolChoice = { tool: { name: String((choice['function'] as Json | undefined)?.['name']) } };
  else throw unsupported('tool_choice', 'tool_choice must be none, auto, required or a function');
  return { tools: specs, toolChoice };
}

function outputConfig(body: Json): Pick<ConverseRequest, 'outputConfig'> {
  const format = body['response_format'] as Json | undefined | null;
  if (format == null || format['type'] === 'text') return {};
  if (format['type'] === 'json_schema') {
    const spec = (format['json_schema'] ?? {}) as Json;
    return {
      outputConfig: {
        textFormat: {
          type: 'json_schema',
          structure: {
            jsonSchema: {
              schema: JSON.stringify(spec['schema'] ?? { type: 'object' }),
              ...(typeof spec['name'] === 'string' ? { name: spec['name'] } : {}),
              ...(typeof spec['description'] === 'string' ? { description: spec['description'] } : {}),
            },
          },
        },
      },
    };
  }
  throw unsupported(
    'response_format',
    `response_format ${String(format['type'])} is not supported; use json_schema (models with structured output)`,
  );
}

/** The Converse request for `body`, an OpenAI chat-completions request validated at the edge; throws a 400 `ProviderCallError`. */
export function toConverseRequest(body: Json, modelId: string): ConverseRequest {
  for (const [field, value] of Object.entries(body)) {
    if (value === null || value === undefined || SERVICE_ONLY.has(field) || TRANSLATED.has(field)) continue;
    const isDefault = DEFAULT_VALUES[field];
    if (isDefault?.(value)) continue;
    throw unsupported(field, WHY[field] ?? `${field} is not supported`);
  }
  const { system, messages } = conversation((body['messages'] ?? []) as Json[]);
  const usedTools = [...new Set(messages.flatMap((m) => m.content!.flatMap((b) => (b.toolUse?.name ? [b.toolUse.name] : []))))];
  const usesTools = usedTools.length > 0 || messages.some((m) => m.content!.some((b) => b.toolResult !== undefined));
  const maxTokens = body['max_completion_tokens'] ?? body['max_tokens'];
  const stop = body['stop'];
  // OpenAI takes 0 to 2; Converse's models 0 to 1. A higher one is refused before the call (the next target may take it).
  if (typeof body['temperature'] === 'number' && body['temperature'] > 1)
    throw unsupported('temperature', 'Converse takes a temperature from 0 to 1');
  const inference = {
    ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
    ...(typeof body['temperature'] === 'number' ? { temperature: body['temperature'] } : {}),
    ...(typeof body['top_p'] === 'number' ? { topP: body['top_p'] } : {}),
    ...(typeof stop === 'string' ? { stopSequences: [stop] } : Array.isArray(stop) ? { stopSequences: stop as string[] } : {}),
  };
  const tools = toolConfig(body, usedTools, usesTools);
  return {
    modelId,
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(Object.keys(inference).length > 0 ? { inferenceConfig: inference } : {}),
    ...(tools ? { toolConfig: tools } : {}),
    ...outputConfig(body),
  };
}
