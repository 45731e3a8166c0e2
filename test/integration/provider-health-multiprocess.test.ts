/**
 * Breakers shared by separate processes (like separate Lambda instances) on one DynamoDB engine: a
 * breaker opened by failures one process saw is honoured by the others, and after the cooldown the
 * recovering upstream sees exactly one probe from 20 concurrent requests spread over 3 processes.
 */
import defaultRoutes from '../../config/routes.json';
import { parseRouteTable } from '../../lambdas/core/ai/route-table';
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { SimulatedUpstream } from '../../lambdas/local/simulated-upstream';
import { chatBody, fastRoutes } from '../helpers/local-gateway';
import { startWorker, stopWorker, type Worker } from '../helpers/worker-process';

const KEY = 'sk-health-multiprocess-key';
const UPSTREAM_KEY = 'sk-simulated-upstream-key';
const COOLDOWN_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('provider health across processes', () => {
  let dynamo: LocalDynamo;
  const openai = new SimulatedUpstream({ provider: 'openai', apiKey: UPSTREAM_KEY });
  const azure = new SimulatedUpstream({ provider: 'azure-openai', apiKey: UPSTREAM_KEY });
  const workers: Worker[] = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    const table = fastRoutes(parseRouteTable(defaultRoutes, 'config/routes.json'));
    const routes = {
      ...table,
      defaults: {
        ...table.defaults,
        // A long first-event time, so a slow recovering upstream (1 s) can be the probe while the others arrive.
        timeouts: { ...table.defaults.timeouts, firstByteMs: 3000, totalMs: 5000 },
        circuitBreaker: { ...table.defaults.circuitBreaker, enabled: true, consecutiveFailures: 3, cooldownMs: COOLDOWN_MS },
      },
    };
    const env = {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      LOCAL_API_KEY: KEY,
      OPENAI_API_KEY: UPSTREAM_KEY,
      OPENAI_BASE_URL: await openai.listen(),
      AZURE_OPENAI_API_KEY: UPSTREAM_KEY,
      AZURE_OPENAI_ENDPOINT: await azure.listen(),
      ROUTES_JSON: JSON.stringify(routes),
      HEALTH_REFRESH_MS: '250',
      HEALTH_FLUSH_MS: '50',
      HEARTBEAT_INTERVAL_SECONDS: '0',
      RATE_LIMIT_POLICIES: JSON.stringify({ ai_requests: { minute: 100_000, hour: 100_000, day: 100_000 } }),
    };
    for (let i = 0; i < 3; i++) workers.push(await startWorker('gateway-worker.ts', env));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await Promise.all([openai.close(), azure.close()]);
    await dynamo.close();
  });

  const post = async (url: string) => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody()),
    });
    await response.arrayBuffer();
    return response;
  };

  it('honours in every process a breaker opened by failures seen in one, and lets exactly one probe through after the cooldown', async () => {
    const [first, ...others] = workers;
    if (!first) throw new Error('no worker started');
    openai.setFault({ kind: 'status', status: 503 });
    // Only the first process sees the failures (2 requests x 2 attempts).
    for (let i = 0; i < 2; i++) expect((await post(first.url)).headers.get('x-orchestrator-provider')).toBe('azure-openai');
    // Every instance sees the change within 2 s.
    await sleep(1000);
    const calls = openai.calls;
    for (const worker of others) {
      for (let i = 0; i < 3; i++) {
        const response = await post(worker.url);
        expect(response.status).toBe(200);
        expect(response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
        expect(response.headers.get('x-orchestrator-attempts')).toBe('1');
      }
    }
    expect(openai.calls).toBe(calls);

    // The upstream recovers, slowly enough that the probe is still in flight while the others arrive.
    openai.setFault(undefined);
    openai.latencyMs = 1000;
    await sleep(COOLDOWN_MS + 500);
    const before = openai.calls;
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(workers[i % 3]!.url)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(openai.calls - before).toBe(1);
    expect(responses.filter((r) => r.headers.get('x-orchestrator-provider') === 'openai')).toHaveLength(1);
  }, 60_000);
});
