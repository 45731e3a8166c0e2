/**
 * Bedrock's Converse answers in OpenAI's shape: a `ConverseResponse` as a `chat.completion`, and
 * ConverseStream events as `chat.completion.chunk` payloads (text deltas, tool calls started by
 * `contentBlockStart` and continued by `toolUse` input deltas, the finish reason of `messageStop`, and
 * the usage of the final `metadata` event in a chunk with no choices, as OpenAI sends it).
 *
 * Usage: Converse counts cache reads and writes apart from `inputTokens`; OpenAI's `prompt_tokens`
 * includes cached tokens. So `prompt_tokens` is the sum of the three, `prompt_tokens_details.cached_tokens`
 * the cache reads and `prompt_tokens_details.cache_write_tokens` the cache writes (priced apart).
 */
import type { ContentBlock, ConverseResponse, ConverseStreamOutput, StopReason, TokenUsage } from '@aws-sdk/client-bedrock-runtime';

const FINISH_REASONS: Record<StopReason, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
  malformed_model_output: 'stop',
  // The model's tool call could not be read: no usable call to run.
  malformed_tool_use: 'stop',
};

export function finishReason(reason: StopReason | string | undefined): string {
  return FINISH_REASONS[reason as StopReason] ?? 'stop';
}

/** OpenAI's `usage` for Converse token counts. */
export function openAiUsage(usage: TokenUsage) {
  const read = usage.cacheReadInputTokens ?? 0;
  const write = usage.cacheWriteInputTokens ?? 0;
  const prompt = (usage.inputTokens ?? 0) + read + write;
  const completion = usage.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: read, ...(write > 0 ? { cache_write_tokens: write } : {}) },
  };
}

/** What identifies an answer in its OpenAI shape. */
export interface AnswerIdentity {
  id: string;
  model: string;
  created: number;
}

/** A `chat.completion` for a Converse response. */
export function completionOf(response: ConverseResponse, identity: AnswerIdentity): Record<string, unknown> {
  const blocks: ContentBlock[] = response.output?.message?.content ?? [];
  const text = blocks.flatMap((b) => (typeof b.text === 'string' ? [b.text] : [])).join('');
  const toolCalls = blocks.flatMap((b) =>
    b.toolUse
      ? [
          {
            id: b.toolUse.toolUseId,
            type: 'function',
            function: { name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input ?? {}) },
          },
        ]
      : [],
  );
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(response.stopReason),
      },
    ],
    ...(response.usage ? { usage: openAiUsage(response.usage) } : {}),
  };
}

/**
 * Turns ConverseStream events into chunk payloads, one stream at a time. `stopped` once `messageStop`
 * came, `complete` once the `metadata` event (usage) followed it.
 */
export class ChunkTranslator {
  stopped = false;
  complete = false;
  /** OpenAI's tool-call index per Converse content block that is a tool use. */
  private readonly toolIndex = new Map<number, number>();
  /** Tool-use blocks that have had input: one without any (a tool with no parameters) is sent `{}`. */
  private readonly toolInput = new Set<number>();

  constructor(private readonly identity: AnswerIdentity) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
    const { id, model, created } = this.identity;
    return JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
  }

  private delta(delta: Record<string, unknown>, finish: string | null = null): string {
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: finish }]);
  }

  /** The chunk payloads an event becomes (none for events OpenAI has no counterpart of). */
  translate(event: ConverseStreamOutput): string[] {
    if (event.messageStart) return [this.delta({ role: 'assistant', content: '' })];
    if (event.contentBlockStart) {
      const { contentBlockIndex: block = 0, start } = event.contentBlockStart;
      if (!start?.toolUse) return [];
      const index = this.toolIndex.size;
      this.toolIndex.set(block, index);
      return [
        this.delta({
          tool_calls: [{ index, id: start.toolUse.toolUseId, type: 'function', function: { name: start.toolUse.name, arguments: '' } }],
        }),
      ];
    }
    if (event.contentBlockDelta) {
      const { contentBlockIndex: block = 0, delta } = event.contentBlockDelta;
      if (typeof delta?.text === 'string') return delta.text === '' ? [] : [this.delta({ content: delta.text })];
      if (delta?.toolUse) {
        const index = this.toolIndex.get(block);
        if (index === undefined || !delta.toolUse.input) return [];
        this.toolInput.add(block);
        return [this.delta({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] })];
      }
      return [];
    }
    if (event.contentBlockStop) {
      // Bedrock sends no input for a tool called without arguments; OpenAI clients parse `arguments` as JSON.
      const block = event.contentBlockStop.contentBlockIndex ?? 0;
      const index = this.toolIndex.get(block);
      if (index === undefined || this.toolInput.has(block)) return [];
      this.toolInput.add(block);
      return [this.delta({ tool_calls: [{ index, function: { arguments: '{}' } }] })];
    }
    if (event.messageStop) {
      this.stopped = true;
      return [this.delta({}, finishReason(event.messageStop.stopReason))];
    }
    if (event.metadata) {
      if (!this.stopped) return [];
      this.complete = true;
      return event.metadata.usage ? [this.chunk([], { usage: openAiUsage(event.metadata.usage) })] : [];
    }
    return [];
  }
}
