/**
 * Token estimates for a stream cut before the provider's usage chunk: the prompt as sent, and the
 * text actually delivered to the client, counted with the model tokenizer (`TokenEstimator`).
 */
import type { TokenEstimator, Usage } from './ports';

/** The text a stream chunk delivers (content, refusals, tool calls' names and arguments or inputs). */
export function deltaText(data: string): string {
  if (!data.includes('"delta"')) return '';
  try {
    const chunk = JSON.parse(data) as {
      choices?: Array<{
        delta?: {
          content?: unknown;
          refusal?: unknown;
          tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown }; custom?: { name?: unknown; input?: unknown } }>;
        };
      }>;
    };
    let text = '';
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (!delta) continue;
      if (typeof delta.content === 'string') text += delta.content;
      if (typeof delta.refusal === 'string') text += delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        if (typeof call.function?.name === 'string') text += call.function.name;
        if (typeof call.function?.arguments === 'string') text += call.function.arguments;
        if (typeof call.custom?.name === 'string') text += call.custom.name;
        if (typeof call.custom?.input === 'string') text += call.custom.input;
      }
    }
    return text;
  } catch {
    return '';
  }
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { type?: unknown; text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** Prompt tokens the way OpenAI counts chat messages: the text plus ~4 tokens per message and 3 to prime the reply. */
export function estimatePromptTokens(body: Record<string, unknown>, tokens: TokenEstimator): number {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Array<Record<string, unknown>>) : [];
  let total = 3;
  for (const message of messages)
    total += 4 + tokens.count(contentText(message['content'])) + (typeof message['name'] === 'string' ? 1 : 0);
  if (body['tools'] !== undefined) total += tokens.count(JSON.stringify(body['tools']));
  return total;
}

/** Prompt tokens of a Responses API request: `instructions`, then `input` (a string, or items with content), and tools. */
export function estimateResponsesPromptTokens(body: Record<string, unknown>, tokens: TokenEstimator): number {
  let total = 3;
  if (typeof body['instructions'] === 'string') total += 4 + tokens.count(body['instructions']);
  const input = body['input'];
  if (typeof input === 'string') total += 4 + tokens.count(input);
  else if (Array.isArray(input))
    for (const item of input as Array<Record<string, unknown> | null>) {
      if (!item || typeof item !== 'object') continue;
      // Messages carry `content`; function-call outputs carry `output`.
      total += 4 + tokens.count(contentText(item['content'] ?? item['output']));
    }
  if (body['tools'] !== undefined) total += tokens.count(JSON.stringify(body['tools']));
  return total;
}

export function estimatedUsage(
  body: Record<string, unknown>,
  delivered: string,
  tokens: TokenEstimator,
  format: 'chat' | 'responses' = 'chat',
): Usage {
  const promptTokens = format === 'responses' ? estimateResponsesPromptTokens(body, tokens) : estimatePromptTokens(body, tokens);
  const completionTokens = tokens.count(delivered);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}
