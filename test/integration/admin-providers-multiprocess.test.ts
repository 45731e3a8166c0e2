/**
 * A runtime provider configuration reaches every instance: two gateway processes (like two Lambda
 * instances) on one DynamoDB engine and one credential store. A provider created through one is served,
 * with its key, by the other within the refresh period; replaced and deleted the same way.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAiDialect } from '../../lambdas/adapters/providers/openai-compatible/simulated-dialect';
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { SimulatedUpstream } from '../../lambdas/local/simulated-upstream';
import { startWorker, stopWorker, type Worker } from '../helpers/worker-process';

const KEY = 'sk-runtime-providers-user';
const ADMIN = 'sk-runtime-providers-admin';
const MISTRAL_KEY = 'mst-runtime-key-0123456789abcdef';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds or `ms` pass; resolves how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await sleep(100);
  }
  return Date.now() - started;
}

describe('runtime provider configurations across processes', () => {
  let dynamo: LocalDynamo;
  const mistral = new SimulatedUpstream({ provider: 'mistral', dialect: openAiDialect, apiKey: MISTRAL_KEY, chunkDelayMs: 0 });
  const workers: Worker[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'runtime-providers-'));

  beforeAll(async () => {
    dynamo = await startDynalite();
    await mistral.listen();
    const env = {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      DATA_DIR: dataDir,
      LOCAL_API_KEY: KEY,
      LOCAL_ADMIN_KEY: ADMIN,
      PROVIDER_CONFIG_REFRESH_SECONDS: '1',
      HEARTBEAT_INTERVAL_SECONDS: '0',
      SIM_CHUNK_DELAY_MS: '0',
    };
    for (let i = 0; i < 2; i++) workers.push(await startWorker('gateway-worker.ts', env));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await mistral.close();
    await dynamo.close();
  });

  const call = (url: string, path: string, init: RequestInit & { key?: string } = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${init.key ?? KEY}`, 'content-type': 'application/json' } });
  const ask = async (url: string) => {
    const response = await call(url, '/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'mistral-small', messages: [{ role: 'user', content: 'Hello from the other instance.' }] }),
    });
    await response.arrayBuffer();
    return response;
  };

  it('serves a provider created through one process from the other within the refresh period, with its key', async () => {
    const [a, b] = [workers[0]!, workers[1]!];
    const created = await call(a.url, '/admin/providers', {
      method: 'POST',
      key: ADMIN,
      body: JSON.stringify({
        id: 'mistral',
        type: 'openai-compatible',
        baseURL: mistral.baseUrl,
        apiKey: MISTRAL_KEY,
        models: ['mistral-small'],
      }),
    });
    expect(created.status).toBe(201);
    // The key is kept in the local credential store, readable by its owner only.
    expect(statSync(join(dataDir, 'provider-credentials.json')).mode & 0o777).toBe(0o600);

    const took = await within(5000, async () => (await call(b.url, '/admin/providers/mistral', { key: ADMIN })).status === 200);
    expect(took).toBeLessThan(5000);
    const response = await ask(b.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-provider')).toBe('mistral');
    expect(mistral.requests.at(-1)!.authHeaders).toEqual(['authorization']);

    // A new key set through B reaches A.
    const rotated = 'mst-rotated-key-fedcba9876543210';
    const replaced = await call(b.url, '/admin/providers/mistral', {
      method: 'PUT',
      key: ADMIN,
      body: JSON.stringify({ type: 'openai-compatible', baseURL: mistral.baseUrl, apiKey: rotated, models: ['mistral-small'] }),
    });
    expect(replaced.status).toBe(200);
    // The upstream still takes the first key only: A uses the rotated one once its test call fails with `auth`.
    await within(5000, async () => {
      const test = (await (await call(a.url, '/admin/providers/mistral/test', { method: 'POST', key: ADMIN })).json()) as {
        ok: boolean;
        error?: { type: string };
      };
      return !test.ok && test.error?.type === 'auth';
    });

    const deleted = await call(a.url, '/admin/providers/mistral', { method: 'DELETE', key: ADMIN });
    expect(deleted.status).toBe(200);
    await within(5000, async () => (await ask(b.url)).status === 404);
  }, 60_000);
});
