/**
 * OpenAI's `/v1/embeddings` on Bedrock's Titan Text Embeddings (V2): one `InvokeModel` call per input
 * (Titan embeds one text per call; at most `CONCURRENCY` in flight), answered as OpenAI's list with the
 * inputs' token counts summed into `usage`, as floats or base64 little-endian float32 as asked.
 * Titan's sizes are 256, 512 and 1,024 dimensions; token-id inputs are refused (Titan takes text).
 */
import { unsupported } from './converse-request';

type Json = Record<string, unknown>;

/** Inputs embedded at once per request (each a call of its own). */
const CONCURRENCY = 8;
const TITAN_DIMENSIONS = [256, 512, 1024];
/** Inputs per request: each is a call of its own, and all must end within the target's timeouts. */
export const MAX_INPUTS = 256;

/** The texts of an OpenAI embeddings body, and the Titan body for one of them; throws a 400 `ProviderCallError`. */
export function titanRequests(body: Json): Array<Record<string, unknown>> {
  const input = body['input'];
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : [];
  if (texts.length === 0 || !texts.every((t): t is string => typeof t === 'string'))
    throw unsupported('input', 'Titan embeds text: send strings, not token ids');
  if (texts.length > MAX_INPUTS) throw unsupported('input', `at most ${MAX_INPUTS} inputs per request (Titan embeds one per call)`);
  const dimensions = body['dimensions'];
  if (dimensions !== undefined && !TITAN_DIMENSIONS.includes(dimensions as number))
    throw unsupported('dimensions', `Titan Text Embeddings V2 makes ${TITAN_DIMENSIONS.join(', ')} dimensions`);
  return texts.map((inputText) => ({ inputText, ...(dimensions !== undefined ? { dimensions } : {}), normalize: true }));
}

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"`. */
function base64Floats(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

/** OpenAI's embeddings list for Titan's answers, in input order. */
export function embeddingList(answers: Array<{ embedding: number[]; inputTextTokenCount: number }>, model: string, base64: boolean) {
  const tokens = answers.reduce((sum, a) => sum + a.inputTextTokenCount, 0);
  return {
    object: 'list',
    data: answers.map((a, index) => ({ object: 'embedding', index, embedding: base64 ? base64Floats(a.embedding) : a.embedding })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** Runs `work` over `items` with at most `CONCURRENCY` at once, results in order; the first failure stops the rest. */
export async function inOrder<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  await Promise.all(lanes);
  return results;
}
