/** Retry and fallback against real loopback upstreams that fail on purpose. */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { StaticCredentialSource } from '../../lambdas/adapters/providers/credentials';
import { conformance } from '../helpers/openai-schemas';
import { chatBody, clearFaults, expectStatus, readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());
afterEach(() => clearFaults(gw));

const post = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  gw.call('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(chatBody(extra)) });

function routing(response: Response) {
  return {
    provider: response.headers.get('x-orchestrator-provider'),
    fallback: response.headers.get('x-orchestrator-fallback'),
    attempts: response.headers.get('x-orchestrator-attempts'),
  };
}

describe('fallback to the next provider', () => {
  it.each([
    ['HTTP 500, after retrying', { kind: 'status', status: 500 }, '3'],
    ['HTTP 503, after retrying', { kind: 'status', status: 503 }, '3'],
    ['a timeout, at once (a hung provider is not retried)', { kind: 'timeout' }, '2'],
    ['a connection reset, after retrying', { kind: 'reset' }, '3'],
  ] as const)('falls back from OpenAI to Azure OpenAI on %s', async (_name, fault, attempts) => {
    gw.sims.openai!.setFault(fault);
    const { data, response } = await gw.client.chat.completions.create(chatBody() as never).withResponse();
    expect(routing(response)).toEqual({ provider: 'azure-openai', fallback: 'true', attempts });
    expect((data as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toContain('[simulated azure-openai');
  });

  it('falls back when the provider refuses connections', async () => {
    const closed: Server = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    // The port is freed only once this gateway's own servers (its simulated upstreams, on port 0) are
    // bound: freed before, one of them could be given it and answer, as happened under full-suite load.
    const refused = await startTestGateway({
      overrides: {
        credentials: new StaticCredentialSource({
          openai: { apiKey: 'sk-simulated-upstream-key', baseURL: `http://127.0.0.1:${port}/v1` },
          'azure-openai': { apiKey: 'sk-simulated-upstream-key', endpoint: gw.sims['azure-openai']!.baseUrl, apiVersion: '2024-10-21' },
        }),
      },
    });
    await new Promise((resolve) => closed.close(resolve));
    try {
      const response = await refused.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      // A wrong status shows the answer and the attempts.
      await expectStatus(response, 200);
      expect(routing(response)).toMatchObject({ provider: 'azure-openai', fallback: 'true' });
    } finally {
      await refused.close();
    }
  });

  it('retries the same provider after the retry-after it asked for, without falling back', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 429, retryAfterMs: 300 }, 1);
    const started = Date.now();
    const response = await post();
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(routing(response)).toEqual({ provider: 'openai', fallback: 'false', attempts: '2' });
  });

  it('falls back when a stream sends no first byte within firstByteMs', async () => {
    gw.sims.openai!.setFault({ kind: 'timeout' });
    const started = Date.now();
    const response = await post({ stream: true });
    expect(routing(response)).toEqual({ provider: 'azure-openai', fallback: 'true', attempts: '2' });
    await response.text();
    expect(Date.now() - started).toBeLessThan(2500); // one 1 s first-event timeout, not a 3 s total timeout
  });

  it('lets a non-streamed answer take longer than firstByteMs while its events keep coming, within totalMs', async () => {
    gw.sims.openai!.chunkDelayMs = 90;
    try {
      const started = Date.now();
      const response = await post();
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThan(1000);
      expect(routing(response)).toEqual({ provider: 'openai', fallback: 'false', attempts: '1' });
    } finally {
      gw.sims.openai!.chunkDelayMs = 0;
    }
  });

  it('falls back for a stream that fails before its first byte', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    const response = await post({ stream: true });
    expect(routing(response)).toMatchObject({ provider: 'azure-openai', fallback: 'true' });
    const { raw } = await readSseData(response);
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('under concurrency', () => {
  it('falls back for each of 100 concurrent requests, with exactly the attempts it reports', async () => {
    const openai = gw.sims.openai!;
    const azure = gw.sims['azure-openai']!;
    openai.setFault({ kind: 'status', status: 503 });
    const [openaiBefore, azureBefore] = [openai.calls, azure.calls];
    const responses = await Promise.all(Array.from({ length: 100 }, () => post()));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(new Set(responses.map((r) => JSON.stringify(routing(r))))).toEqual(
      new Set([JSON.stringify({ provider: 'azure-openai', fallback: 'true', attempts: '3' })]),
    );
    expect(new Set(responses.map((r) => r.headers.get('x-request-id'))).size).toBe(100);
    expect(openai.calls - openaiBefore).toBe(200);
    expect(azure.calls - azureBefore).toBe(100);
    await Promise.all(responses.map((r) => r.text()));
  });
});

describe('no fallback on the caller’s own mistakes', () => {
  it.each([400, 422])('returns HTTP %i from the provider unchanged', async (status) => {
    gw.sims.openai!.setFault({ kind: 'status', status });
    const azureBefore = gw.sims['azure-openai']!.calls;
    const response = await post();
    expect(response.status).toBe(status);
    expect(routing(response)).toEqual({ provider: 'openai', fallback: 'false', attempts: '1' });
    const body = await response.json();
    expect(conformance('ErrorResponse', body)).toEqual([]);
    expect(gw.sims['azure-openai']!.calls).toBe(azureBefore);
  });

  it.each([401, 403, 404])(
    "falls back when a provider refuses the gateway's own key (%i) or lacks the target's model (404), and never tells the caller its key is bad",
    async (status) => {
      gw.sims.openai!.setFault({ kind: 'status', status });
      const response = await post();
      expect(response.status).toBe(200);
      expect(routing(response)).toEqual({ provider: 'azure-openai', fallback: 'true', attempts: '2' });
      gw.sims['azure-openai']!.setFault({ kind: 'status', status });
      const failed = await post();
      expect(failed.status).toBe(502);
      const text = await failed.text();
      expect(JSON.parse(text).error).toMatchObject({ code: 'upstream_error', type: 'api_error' });
      expect(text).not.toMatch(/sk-simu|invalid_api_key|Incorrect API key/);
    },
  );

  it('passes a content filter refusal through without fallback', async () => {
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 400, code: 'content_filter' });
    const response = await post({}, { 'x-task-type': 'content_planning' });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('content_filter');
    expect(routing(response)).toMatchObject({ provider: 'azure-openai', fallback: 'false' });
  });
});

describe('when every provider fails', () => {
  it('answers 502 after server errors everywhere', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 502 });
    const response = await post();
    expect(response.status).toBe(502);
    expect(routing(response).attempts).toBe('4');
    const body = await response.json();
    expect(body.error.code).toBe('upstream_error');
    expect(conformance('ErrorResponse', body)).toEqual([]);
  });

  it('answers 504 after timeouts everywhere', async () => {
    gw.sims.openai!.setFault({ kind: 'timeout' });
    gw.sims['azure-openai']!.setFault({ kind: 'timeout' });
    const response = await post();
    expect(response.status).toBe(504);
    expect((await response.json()).error.code).toBe('upstream_timeout');
  });

  it('answers 503 when the last provider is rate limiting', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 429 });
    const response = await post();
    expect(response.status).toBe(503);
  });

  it('answers a stream request with a JSON error when nothing was sent yet', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    const response = await post({ stream: true });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/json');
  });
});

describe('mid-stream failure', () => {
  it('ends the stream with an SSE error event, never with [DONE]', async () => {
    gw.sims.openai!.setFault({ kind: 'midstream' });
    const response = await post({ stream: true });
    expect(response.status).toBe(200);
    const { raw, data } = await readSseData(response);
    expect(raw).not.toContain('[DONE]');
    const last = JSON.parse(data.at(-1)!);
    expect(last.error).toMatchObject({ type: 'api_error', code: 'stream_interrupted' });
    expect(conformance('ErrorResponse', last)).toEqual([]);
    expect(routing(response)).toMatchObject({ provider: 'openai', fallback: 'false' });
  });

  it('makes the openai SDK throw instead of ending silently', async () => {
    gw.sims.openai!.setFault({ kind: 'midstream' });
    const stream = await gw.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow(/stream failed/);
  });
});
