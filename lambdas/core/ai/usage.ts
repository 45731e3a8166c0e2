/** Reading OpenAI `usage` objects (completions, the final stream chunk, embeddings, the Responses API). */
import type { Usage } from './ports';

function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const u = value as Record<string, unknown>;
  // Chat and embeddings say prompt/completion; the Responses API says input/output.
  const prompt = u['prompt_tokens'] ?? u['input_tokens'];
  // Embeddings report no completion tokens: there is no output to bill.
  const completion = u['completion_tokens'] ?? u['output_tokens'] ?? (u['total_tokens'] === prompt ? 0 : undefined);
  if (typeof prompt !== 'number' || typeof completion !== 'number') return undefined;
  const details = (u['prompt_tokens_details'] ?? u['input_tokens_details']) as Record<string, unknown> | undefined;
  const cached = details?.['cached_tokens'];
  const written = details?.['cache_write_tokens'];
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: typeof u['total_tokens'] === 'number' ? u['total_tokens'] : prompt + completion,
    ...(typeof cached === 'number' ? { cachedTokens: cached } : {}),
    ...(typeof written === 'number' && written > 0 ? { cacheWriteTokens: written } : {}),
  };
}

/** `usage` of a parsed completion, stream chunk, embeddings list or Responses object or event, if it has one. */
export function usageOf(json: unknown): Usage | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const object = json as Record<string, unknown>;
  // A Responses stream reports usage in its final event, on the response it carries.
  const response = object['response'] as Record<string, unknown> | undefined;
  return readUsage(object['usage']) ?? (response && typeof response === 'object' ? readUsage(response['usage']) : undefined);
}
