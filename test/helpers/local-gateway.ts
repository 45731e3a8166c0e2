/**
 * Starts the real local gateway (dynalite, simulated upstreams on loopback, the HTTP app on a
 * random port) with short timeouts and fast retries, plus an official `openai` SDK client.
 */
import OpenAI from 'openai';
import type { RouteTable } from '../../lambdas/core/ai/route-table';
import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../lambdas/local/local-gateway';
import type { AppConfig } from '../../lambdas/shared/config';
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';

export const USER_KEY = 'sk-test-user-key-0001';
export const ADMIN_KEY = 'sk-test-admin-key-0001';

/**
 * Fast settings for tests: 1 s to the first event and between events, 3 s total, 2 attempts,
 * 5-20 ms backoff, and circuit breakers off (suites about provider health turn them on), so one
 * test's injected failures do not take a provider out of rotation for the next.
 */
export function fastRoutes(table: RouteTable): RouteTable {
  return {
    ...table,
    defaults: {
      timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000, totalMs: 3000 },
      retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1000 },
      deadlineMs: 10_000,
      circuitBreaker: { ...table.defaults.circuitBreaker, enabled: false },
    },
    tasks: Object.fromEntries(
      Object.entries(table.tasks).map(([task, route]) => [
        task,
        { ...route, targets: route.targets.map(({ provider, model }) => ({ provider, model })) },
      ]),
    ) as RouteTable['tasks'],
  };
}

export interface TestGateway extends LocalGateway {
  client: OpenAI;
  /** `fetch` against the gateway with the user key. */
  call(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
}

export async function startTestGateway(
  options: {
    env?: Record<string, string>;
    configure?: (c: AppConfig) => AppConfig;
    overrides?: LocalGatewayOptions['overrides'];
    shutdownGraceMs?: number;
  } = {},
): Promise<TestGateway> {
  const local = await startLocalGateway({
    env: {
      PORT: '0',
      LOG_LEVEL: 'SILENT',
      SIM_CHUNK_DELAY_MS: '0',
      LOCAL_API_KEY: USER_KEY,
      LOCAL_ADMIN_KEY: ADMIN_KEY,
      API_KEY_CACHE_TTL_SECONDS: '1',
      // Tests count upstream requests: heartbeats run only where a test asks for them.
      HEARTBEAT_INTERVAL_SECONDS: '0',
      // Generous on a loaded CI machine: the in-process engine shares 2 cores with the whole suite.
      DYNAMODB_TIMEOUT_MS: '5000',
      // Suites that are not about the limiter send far more than 100 requests a minute.
      RATE_LIMIT_POLICIES: JSON.stringify({ ai_requests: { minute: 1_000_000, hour: 1_000_000, day: 1_000_000 } }),
      // Tests drain post-response work after requests: short aggregation batches keep that quick.
      AGGREGATION_BATCH_MS: '20',
      ...options.env,
    },
    configure: (config) => {
      const fast = { ...config, routeTable: fastRoutes(config.routeTable) };
      return options.configure ? options.configure(fast) : fast;
    },
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
  });
  const client = new OpenAI({ apiKey: USER_KEY, baseURL: `${local.url}/v1`, maxRetries: 0, timeout: 10_000 });
  return {
    ...local,
    client,
    call: (path, init = {}) => {
      const { key = USER_KEY, headers, ...rest } = init;
      return fetch(`${local.url}${path}`, {
        ...rest,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          'content-type': 'application/json',
          ...(headers as Record<string, string>),
        },
      });
    },
  };
}

export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Write a short hello to Sam.' }],
  ...extra,
});

/** Reads a server-sent-events body into its `data` payloads. */
export async function readSseData(response: Response): Promise<{ raw: string; data: string[] }> {
  const raw = await response.text();
  const data = raw
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
  return { raw, data };
}

/** The usage record of a request (by its `x-request-id`), once the post-response work has landed. */
export async function usageRecordOf(gw: TestGateway, requestId: string | null): Promise<UsageRecord> {
  await gw.gateway.background.drain();
  const day = new Date().toISOString().slice(0, 10);
  const found = (await gw.gateway.usage.recordsOfDay(day)).find((r) => r.requestId === requestId);
  expect(found).toBeDefined();
  return found!;
}

/** Takes back every fault injected into the simulated upstreams. */
export function clearFaults(gw: TestGateway): void {
  for (const sim of Object.values(gw.sims)) sim?.setFault(undefined);
}

/** Expects `status`; on a mismatch the failure shows the answer's body and the attempts the gateway made. */
export async function expectStatus(response: Response, status: number): Promise<void> {
  if (response.status === status) return;
  expect({
    status: response.status,
    attempts: response.headers.get('x-orchestrator-attempts'),
    body: await response.clone().text(),
  }).toEqual({
    status,
  });
}
