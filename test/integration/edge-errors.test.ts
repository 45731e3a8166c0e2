/** Bad input at the edge: every mistake gets a clear 4xx in OpenAI's error shape, never a 500. */
import { connect } from 'node:net';
import { conformance } from '../helpers/openai-schemas';
import { chatBody, startTestGateway, USER_KEY, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ env: { MAX_BODY_BYTES: '4096' } });
});
afterAll(() => gw.close());

async function expectError(response: Response, status: number, match: { code?: string | null; param?: string | null; type?: string }) {
  expect(response.status).toBe(status);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  // Refused at the edge: the routing headers say no provider was tried.
  expect([response.headers.get('x-orchestrator-provider'), response.headers.get('x-orchestrator-attempts')]).toEqual(['none', '0']);
  const body = await response.json();
  expect(conformance('ErrorResponse', body)).toEqual([]);
  expect(body.error).toMatchObject(match);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|sk-simulated/);
  return body;
}

const post = (body: string, init: { key?: string | null; headers?: Record<string, string> } = {}) =>
  gw.call('/v1/chat/completions', { method: 'POST', body, ...init });

describe('request validation', () => {
  it('rejects malformed JSON with 400', async () => {
    await expectError(await post('{"model": "gpt-4o", "messages": ['), 400, { code: 'invalid_json', type: 'invalid_request_error' });
  });

  it('rejects a missing messages field, naming it', async () => {
    await expectError(await post(JSON.stringify({ model: 'gpt-4o' })), 400, { param: 'messages' });
  });

  it('rejects wrong types, naming the field', async () => {
    await expectError(await post(JSON.stringify(chatBody({ temperature: 'hot' }))), 400, { param: 'temperature' });
    await expectError(await post(JSON.stringify(chatBody({ stream: 'yes' }))), 400, { param: 'stream' });
    await expectError(await post(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 42 }] })), 400, {
      param: 'messages[0].content',
    });
    await expectError(await post(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'wizard', content: 'hi' }] })), 400, {
      param: 'messages[0].role',
    });
    await expectError(await post(JSON.stringify({ model: 'gpt-4o', messages: [] })), 400, { param: 'messages' });
    await expectError(await post(JSON.stringify(chatBody({ n: 0 }))), 400, { param: 'n' });
    // OpenAI's 16 metadata pairs, the gateway's own task_type not counted: refused here, not by the provider.
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    await expectError(await post(JSON.stringify(chatBody({ metadata: pairs(17) }))), 400, { param: 'metadata' });
    expect((await post(JSON.stringify(chatBody({ metadata: { ...pairs(16), task_type: 'general' } })))).status).toBe(200);
  });

  it('rejects an unknown task type from the header or metadata', async () => {
    await expectError(await post(JSON.stringify(chatBody()), { headers: { 'x-task-type': 'poetry' } }), 400, {
      param: 'x-task-type',
      code: 'invalid_task_type',
    });
    await expectError(await post(JSON.stringify(chatBody({ metadata: { task_type: 'poetry' } }))), 400, { param: 'metadata.task_type' });
    await expectError(await post(JSON.stringify(chatBody({ model: 'task:poetry' }))), 400, { param: 'model' });
    // A long value is quoted only in part.
    const long = await post(JSON.stringify(chatBody()), { headers: { 'x-task-type': 'p'.repeat(8000) } });
    expect(long.status).toBe(400);
    expect((await long.json()).error.message).toBe(
      `Unknown task type "${'p'.repeat(64)}…". Expected one of: content_planning, message_generation, general.`,
    );
  });

  it('rejects a body over the configured limit with 413', async () => {
    const big = JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }));
    await expectError(await post(big), 413, { code: 'request_too_large' });
  });

  it('counts the bytes of a chunked body that declares no length', async () => {
    const chunked = (text: string) =>
      gw.call('/v1/chat/completions', {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            const bytes = new TextEncoder().encode(text);
            for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
    await expectError(await chunked(JSON.stringify(chatBody({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }))), 413, {
      code: 'request_too_large',
    });
    expect((await chunked(JSON.stringify(chatBody()))).status).toBe(200);
  });
});

describe('authentication and routes', () => {
  it('answers 401 without a key, with a malformed header, and with an unknown key', async () => {
    await expectError(await post(JSON.stringify(chatBody()), { key: null }), 401, { code: 'invalid_api_key' });
    await expectError(await post(JSON.stringify(chatBody()), { key: null, headers: { authorization: `Basic ${USER_KEY}` } }), 401, {
      code: 'invalid_api_key',
    });
    await expectError(await post(JSON.stringify(chatBody()), { key: 'sk-wrong' }), 401, { code: 'invalid_api_key' });
  });

  it('answers 403 when a user key calls an admin route', async () => {
    await expectError(await gw.call('/admin/api-keys?userId=u'), 403, { code: 'forbidden' });
  });

  it('answers 404 on an unknown route and 405 on a wrong method', async () => {
    await expectError(await gw.call('/v1/audio/speech', { method: 'POST', body: '{}' }), 404, { code: 'unknown_url' });
    await expectError(await gw.call('/nope', { key: null }), 404, { code: 'unknown_url' });
    const wrong = await gw.call('/v1/chat/completions', { method: 'GET' });
    expect(wrong.headers.get('allow')).toBe('POST');
    await expectError(wrong, 405, { code: 'method_not_allowed' });
    // A model name may hold a slash: the 405 covers every path the route answers.
    const nested = await gw.call('/v1/models/org/model-1', { method: 'POST', body: '{}' });
    expect(nested.headers.get('allow')).toBe('GET');
    await expectError(nested, 405, { code: 'method_not_allowed' });
  });

  it('answers unknown /api routes in the legacy error shape', async () => {
    const response = await gw.call('/api/nope', { key: null });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'Unknown route: GET /api/nope' } });
  });

  it('keeps a safe incoming x-request-id and replaces an unsafe one', async () => {
    const kept = await gw.call('/health', { headers: { 'x-request-id': 'client-abc.123' } });
    expect(kept.headers.get('x-request-id')).toBe('client-abc.123');
    // With the gateway's own id beside it, which its logs and usage records are keyed by.
    expect(kept.headers.get('x-orchestrator-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    const replaced = await gw.call('/health', { headers: { 'x-request-id': '<script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
    expect(replaced.headers.get('x-orchestrator-request-id')).toBeNull();
  });
});

describe('requests the HTTP parser refuses', () => {
  /** Sends raw bytes and reads the raw answer. */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const { port, hostname } = new URL(gw.url);
      const socket = connect(Number(port), hostname, () => socket.write(bytes));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
  const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

  it('answers a 32 KB header with 431 in OpenAI shape', async () => {
    const answer = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
    expect(answer.startsWith('HTTP/1.1 431')).toBe(true);
    expect(conformance('ErrorResponse', bodyOf(answer))).toEqual([]);
    expect(bodyOf(answer).error.code).toBe('request_header_fields_too_large');
  });

  it('answers bad header bytes with 400 in OpenAI shape', async () => {
    const answer = await raw('GET /v1/models HTTP/1.1\r\nHost: x\r\nBad\u0001Header: y\r\n\r\n');
    expect(answer.startsWith('HTTP/1.1 400')).toBe(true);
    expect(bodyOf(answer).error).toMatchObject({ code: 'malformed_request', type: 'invalid_request_error' });
  });
});
