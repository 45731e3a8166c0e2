/** Reading OpenAI `usage` objects (completions, the final stream chunk, embeddings). */
import type { Usage } from './ports';

function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const u = value as Record<string, unknown>;
  const prompt = u['prompt_tokens'];
  // Embeddings report no completion tokens: there is no output to bill.
  const completion = u['completion_tokens'] ?? (u['total_tokens'] === prompt ? 0 : undefined);
  if (typeof prompt !== 'number' || typeof completion !== 'number') return undefined;
  const cached = (u['prompt_tokens_details'] as Record<string, unknown> | undefined)?.['cached_tokens'];
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: typeof u['total_tokens'] === 'number' ? u['total_tokens'] : prompt + completion,
    ...(typeof cached === 'number' ? { cachedTokens: cached } : {}),
  };
}

/** `usage` of a parsed completion or stream chunk, if it has one. */
export function usageOf(json: unknown): Usage | undefined {
  return json && typeof json === 'object' ? readUsage((json as Record<string, unknown>)['usage']) : undefined;
}
