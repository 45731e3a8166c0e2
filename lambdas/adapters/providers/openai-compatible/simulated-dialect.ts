/** OpenAI's own wire dialect for the simulated upstream: `POST /v1/chat/completions` and `/v1/embeddings` with a bearer key. */
import type { SimulatedDialect } from '../provider-module';

export const openAiDialect: SimulatedDialect = {
  baseUrl: (origin) => `${origin}/v1`,
  route: ({ method, url, headers }, apiKey) => {
    if (method !== 'POST') return { accepted: false, status: 405, type: 'invalid_request_error', error: 'Simulated upstream: use POST.' };
    const operation = url.pathname === '/v1/chat/completions' ? 'chat' : url.pathname === '/v1/embeddings' ? 'embeddings' : undefined;
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
