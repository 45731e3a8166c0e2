/** OpenAI's own wire dialect for the simulated upstream: `POST /v1/chat/completions`, `/v1/embeddings` and `/v1/responses` with a bearer key. */
import type { ProviderOperation } from '../../../core/ai/ports';
import type { SimulatedDialect } from '../provider-module';

const OPERATIONS: Record<string, ProviderOperation | undefined> = {
  '/v1/chat/completions': 'chat',
  '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses',
};

export const openAiDialect: SimulatedDialect = {
  baseUrl: (origin) => `${origin}/v1`,
  route: ({ method, url, headers }, apiKey) => {
    if (method !== 'POST') return { accepted: false, status: 405, type: 'invalid_request_error', error: 'Simulated upstream: use POST.' };
    const operation = OPERATIONS[url.pathname];
    if (!operation) return { accepted: false, status: 404, type: 'invalid_request_error', error: `Unknown path ${url.pathname}` };
    if (headers.authorization !== `Bearer ${apiKey}`) {
      return {
        accepted: false,
        status: 401,
        type: 'invalid_request_error',
        error: 'Incorrect API key provided: sk-simu************************wxyz.',
      };
    }
    return { accepted: true, operation };
  },
};
