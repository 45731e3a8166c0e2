/**
 * The `POST /v1/chat/completions` request, validated at the edge. Objects are loose: fields we do
 * not know pass through to the provider unchanged.
 */
import * as z from 'zod';
import { OPTIMIZE_FOR } from '../core/ai/smart-routing';

const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const ImagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const AudioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string().min(1), format: z.enum(['wav', 'mp3']) }),
});
const FilePart = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
const RefusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const textContent = z.union([z.string(), z.array(TextPart).min(1)]);
const name = z.string().min(1).max(256).optional();

/** A call the model made, sent back with the conversation: of a function tool or of a custom one. */
const ToolCall = z.discriminatedUnion('type', [
  z.looseObject({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
  }),
  z.looseObject({
    id: z.string().min(1),
    type: z.literal('custom'),
    custom: z.looseObject({ name: z.string().min(1), input: z.string() }),
  }),
]);

const Message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: textContent, name }),
  z.looseObject({ role: z.literal('developer'), content: textContent, name }),
  z.looseObject({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPart, ImagePart, AudioPart, FilePart])).min(1)]),
    name,
  }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPart, RefusalPart]))]).nullish(),
    refusal: z.string().nullish(),
    name,
    tool_calls: z.array(ToolCall).optional(),
    function_call: z.looseObject({ name: z.string(), arguments: z.string() }).nullish(),
    audio: z.looseObject({ id: z.string() }).nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1) }),
  z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string().min(1) }),
]);

const FunctionTool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'function names are 1-64 of a-z, A-Z, 0-9, _ and -'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});
const CustomTool = z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string().min(1) }) });

const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
  z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string().min(1) }) }),
  z.looseObject({
    type: z.literal('allowed_tools'),
    allowed_tools: z.looseObject({ mode: z.enum(['auto', 'required']), tools: z.array(z.record(z.string(), z.unknown())) }),
  }),
]);

const ResponseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** Metadata keys that are instructions to the gateway and never reach a provider. */
export const GATEWAY_METADATA_KEYS = ['task_type'] as const;

/** OpenAI's `metadata`: at most 16 pairs, keys up to 64 characters, values up to 512; the `reserved` keys (the gateway's) are not counted. */
export const metadataSchema = (reserved: readonly string[] = []) =>
  z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).filter((k) => !reserved.includes(k)).length <= 16, 'metadata has at most 16 keys');

export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(Message).min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).min(1).max(4)]).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullish(),
  response_format: ResponseFormat.optional(),
  tools: z
    .array(z.union([FunctionTool, CustomTool]))
    .max(128)
    .optional(),
  tool_choice: ToolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  user: z.string().max(256).optional(),
  metadata: metadataSchema(GATEWAY_METADATA_KEYS).nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  // Smart routing (`model: "auto"`): the gateway's own fields, never sent to a provider.
  optimize_for: z.enum(OPTIMIZE_FOR).optional(),
  max_latency_ms: z.number().int().min(1).max(900_000).optional(),
  max_cost_usd: z.number().positive().max(1000).optional(),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** `POST /v1/smart/completions`: the same request, `model` optional (always `auto`). */
export const SmartCompletionRequestSchema = ChatCompletionRequestSchema.extend({ model: z.literal('auto').default('auto') });

/** Body fields that are instructions to the gateway (smart routing) and never reach a provider. */
const GATEWAY_FIELDS = ['optimize_for', 'max_latency_ms', 'max_cost_usd'] as const;

/** `body` with `metadata` as providers see it: the gateway's metadata keys removed, and metadata left empty dropped. */
export function withProviderMetadata(
  body: Record<string, unknown>,
  metadata: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  if (!metadata) return body;
  const kept = Object.fromEntries(Object.entries(metadata).filter(([key]) => !(GATEWAY_METADATA_KEYS as readonly string[]).includes(key)));
  return Object.keys(kept).length > 0 ? { ...body, metadata: kept } : body;
}

/** The request as providers see it: the gateway's own hints removed (and empty metadata dropped). */
export function upstreamBody(request: ChatCompletionRequest): Record<string, unknown> {
  const { metadata, ...all } = request;
  return withProviderMetadata(
    Object.fromEntries(Object.entries(all).filter(([key]) => !(GATEWAY_FIELDS as readonly string[]).includes(key))),
    metadata,
  );
}
