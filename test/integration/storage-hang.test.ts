/**
 * A DynamoDB that accepts connections and then stops answering (dynalite paused with SIGSTOP): every
 * request still gets a bounded 503 in its path's shape with Retry-After, a write abandoned by its
 * request never lands when the engine comes back, and shutdown finishes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ADMIN_KEY, chatBody, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const TIMEOUT_MS = 600;
let engine: ChildProcess;
let gw: TestGateway;

beforeAll(async () => {
  engine = fork(join(__dirname, '..', 'helpers', 'dynalite-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { endpoint } = await new Promise<{ endpoint: string }>((resolve) => engine.once('message', resolve));
  gw = await startTestGateway({
    env: { DYNAMODB_ENDPOINT: endpoint, DYNAMODB_TIMEOUT_MS: String(TIMEOUT_MS), API_KEY_CACHE_TTL_SECONDS: '60' },
  });
  // Keys are cached while the engine answers, so the requests below reach the stores that then hang.
  expect((await gw.call('/v1/models')).status).toBe(200);
  expect((await gw.call('/admin/api-keys?userId=nobody', { key: ADMIN_KEY })).status).toBe(200);
}, 30_000);

afterAll(() => {
  engine.kill('SIGCONT');
  engine.kill();
});

const timed = async (run: () => Promise<Response>) => {
  const started = Date.now();
  const response = await run();
  const body = await response.text();
  return { response, body: JSON.parse(body), ms: Date.now() - started };
};

describe('when DynamoDB stops answering', () => {
  it('answers every kind of request with a bounded 503 in its shape, and a late write never lands', async () => {
    engine.kill('SIGSTOP');
    try {
      const created = await timed(() =>
        gw.call('/admin/api-keys', { method: 'POST', key: ADMIN_KEY, body: JSON.stringify({ userId: 'u_hang', plan: 'pro' }) }),
      );
      expect(created.response.status).toBe(503);
      expect(created.response.headers.get('retry-after')).toBe('1');
      expect(created.body).toMatchObject({ error: { code: 'dependency_unavailable', type: 'service_unavailable' } });
      expect(created.ms).toBeLessThan(TIMEOUT_MS * 4);

      const chat = await timed(() => gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) }));
      expect(chat.response.status).toBe(503);
      expect(chat.body).toMatchObject({ error: { code: 'rate_limiter_unavailable' } });
      expect(chat.ms).toBeLessThan(TIMEOUT_MS * 4);

      const message = await timed(() =>
        gw.call('/api/onlyfans/messages', { method: 'POST', body: JSON.stringify({ creatorId: 'c_1', fanId: 'f_1', text: 'hi' }) }),
      );
      expect(message.response.status).toBe(503);
      expect(message.body).toMatchObject({ error: { code: 'UNAVAILABLE', retryAfterSeconds: 1 } });
      expect(message.ms).toBeLessThan(TIMEOUT_MS * 4);
    } finally {
      engine.kill('SIGCONT');
    }
    // The engine answers again: the key whose request was answered 503 must not exist.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const keys = await gw.call('/admin/api-keys?userId=u_hang', { key: ADMIN_KEY });
    expect(keys.status).toBe(200);
    expect((await keys.json()).data).toEqual([]);
  }, 30_000);

  it('still shuts down within a bounded time, its last usage records spilled to disk', async () => {
    expect((await gw.call('/v1/models')).status).toBe(200);
    engine.kill('SIGSTOP');
    try {
      // A request whose usage record cannot be written: it is still being retried when shutdown starts.
      await (await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })).text();
      const started = Date.now();
      await gw.close();
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      engine.kill('SIGCONT');
    }
  }, 30_000);
});
