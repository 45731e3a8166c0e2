/**
 * Limiter numbers for `npm run bench`, in-process against dynalite:
 * - decisions per second (50 concurrent callers over 1,000 users) and DynamoDB round trips per decision,
 *   for a calendar-window policy (`ai_requests`) and a sliding one (`onlyfans_messaging`: an exact log
 *   for the minute, bucket rings for the hour and day);
 * - DynamoDB round trips per AI request through the real gateway (admission before the provider call,
 *   the usage record after the answer, the consumer's batched writes), whether the key lookup on a cache
 *   miss overlaps the admission, and how long after its answer a request's token settlement lands.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCounterStore } from '../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../lambdas/core/rate-limit/rate-limiter';
import { ensureTables, startDynalite } from '../lambdas/local/dynamodb-local';
import { startLocalGateway } from '../lambdas/local/local-gateway';
import { systemClock, systemRandom } from '../lambdas/shared/system';
import { RATE_LIMITS_TABLE } from '../lambdas/shared/tables';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient as Doc } from '@aws-sdk/lib-dynamodb';

interface Call {
  command: string;
  table: string;
  settlement: boolean;
  start: number;
  end: number;
}

/** Records every DynamoDB command the clients send, with its start and end times. */
function recordCalls(...clients: Array<Pick<DynamoDBDocumentClient, 'middlewareStack'>>): Call[] {
  const calls: Call[] = [];
  for (const client of clients) {
    // A client with `cacheMiddleware` keeps the stacks it resolved: drop them, so they pick the recorder up.
    delete (client as { handlers?: unknown }).handlers;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as {
          TableName?: string;
          RequestItems?: Record<string, unknown>;
          ExpressionAttributeNames?: Record<string, string>;
        };
        const call = {
          command: String(context.commandName),
          // A BatchWriteItem names its table in RequestItems (the gateway's batches are of one table).
          table: input.TableName ?? Object.keys(input.RequestItems ?? {})[0] ?? '',
          // The consumer's token settlement moves a sync slot (`s0w`/`s1w`) of the limiter item.
          settlement: Object.values(input.ExpressionAttributeNames ?? {}).some((name) => /^s\dw$/.test(name)),
          start: performance.now(),
          end: 0,
        };
        calls.push(call);
        try {
          return await next(args);
        } finally {
          call.end = performance.now();
        }
      },
      { step: 'initialize', name: 'benchCallRecorder' },
    );
  }
  return calls;
}

interface DecisionReport {
  decisionsPerSecond: number;
  roundTripsPerDecision: number;
}

export interface LimiterReport extends DecisionReport {
  sliding: DecisionReport;
  /**
   * DynamoDB calls per AI request: before the provider call (admission), after it until the answer
   * (none), the usage record after the answer (alone, and shared when 50 finish together), and the consumer's writes per request when 50
   * concurrent requests are aggregated in batches (off the request path; on AWS by the stream
   * consumer): aggregate cells (settlement cells included) and limiter token settlements.
   */
  gatewayRoundTripsPerRequest: {
    beforeProviderCall: number;
    afterProviderCall: number;
    afterResponse: number;
    /** Usage record writes per request when 50 requests finish together: their records share batches. */
    afterResponseAt50Concurrent: number;
    /**
     * Usage record writes per request under sustained load (50 clients, each sending its next request
     * when the last is answered, 1,000 requests). (The consumer's writes are per batch, and this
     * gateway's batches are 10 times shorter than the default: they are counted in the burst above.)
     */
    afterResponseSustained50: number;
    batchedAggregates: number;
    batchedSettlements: number;
  };
  /** From an answer to its real token use on the user's quota counter (local consumer, default batching). */
  settlementLagMs: { samples: number; p50: number; max: number };
  keyCacheMiss: { requests: number; lookupOverlappedAdmission: number; roundTripsBeforeProviderCall: number };
}

async function decisions(durationMs: number, policy: 'ai_requests' | 'onlyfans_messaging'): Promise<DecisionReport> {
  const dynalite = await startDynalite();
  const raw = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynalite.endpoint,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  await ensureTables(raw, [{ definition: RATE_LIMITS_TABLE, name: 'bench-rate-limits' }]);
  const doc = Doc.from(raw);
  const calls = recordCalls(doc);
  const limiter = new RateLimiter(
    new DynamoDbCounterStore(doc, 'bench-rate-limits'),
    systemClock,
    // High limits: this measures the cost of admissions, not refusals (the minute stays an exact log).
    parsePolicies({ ai_requests: { minute: 1e9, hour: 1e9, day: 1e9 }, onlyfans_messaging: { minute: 50, hour: 1e9, day: 1e9 } }),
    systemRandom,
  );
  const users = 1000;
  let n = 0;
  // Warm-up: every user's first decision creates its item (a miss, then a create).
  await Promise.all(Array.from({ length: users }, (_, i) => limiter.admit({ userId: `u${i}`, plan: 'pro', policy, reserveTokens: 100 })));
  calls.length = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (performance.now() - start < durationMs) {
        const userId = `u${n++ % users}`;
        await limiter.admit({ userId, plan: 'pro', policy, reserveTokens: 100 });
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const report = { decisionsPerSecond: Math.round(n / elapsed), roundTripsPerDecision: Number((calls.length / n).toFixed(3)) };
  raw.destroy();
  await dynalite.close();
  return report;
}

/** The local gateway for `key`'s user, with limits no bench load reaches, the simulators answering at once, and `env`. */
function benchGateway(key: string, env: Record<string, string> = {}) {
  return startLocalGateway({
    env: {
      PORT: '0',
      LOG_LEVEL: 'SILENT',
      LOCAL_API_KEY: key,
      SIM_CHUNK_DELAY_MS: '0',
      RATE_LIMIT_POLICIES: JSON.stringify({ ai_requests: { minute: 1e9, hour: 1e9, day: 1e9 } }),
      ...env,
    },
  });
}

async function gatewayRoundTrips(requests: number): Promise<Pick<LimiterReport, 'gatewayRoundTripsPerRequest' | 'keyCacheMiss'>> {
  const key = 'sk-bench-limiter-user';
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  const run = async (cacheSeconds: string) => {
    const gw = await benchGateway(key, {
      API_KEY_CACHE_TTL_SECONDS: cacheSeconds,
      // Each request is drained before the next: short batches keep that quick (the burst below still batches).
      AGGREGATION_BATCH_MS: '50',
    });
    const calls = recordCalls(gw.gateway.dynamo.doc, gw.gateway.dynamo.writes.client);
    const sim = gw.sims.openai!;
    // Timestamp the moment the provider receives each request.
    let providerAt = 0;
    const push = sim.requests.push.bind(sim.requests);
    sim.requests.push = (...items) => {
      providerAt = performance.now();
      return push(...items);
    };
    const perRequest: Array<{ before: Call[]; after: Call[]; background: Call[] }> = [];
    const consumer = (c: Call) => c.table === gw.config.usage.aggregatesTable || c.settlement;
    const post = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      }).then((r) => r.text());
    await post(); // warm: the key is known
    for (let i = 0; i < requests; i += 1) {
      await gw.gateway.background.drain();
      calls.length = 0;
      await post();
      await gw.gateway.background.drain();
      // The request's own calls (admission, usage record) apart from the consumer's (aggregates,
      // settlement) and the health engine's (once a second per instance and target, not per request).
      const own = calls.filter((c) => !consumer(c) && c.table !== gw.config.health.table);
      perRequest.push({
        before: own.filter((c) => c.start < providerAt),
        after: own.filter((c) => c.start >= providerAt && c.table !== gw.config.usage.recordsTable),
        background: own.filter((c) => c.table === gw.config.usage.recordsTable),
      });
    }
    // Aggregation in batches: 50 concurrent requests, then the batch they make.
    await gw.gateway.background.drain();
    calls.length = 0;
    await Promise.all(Array.from({ length: 50 }, post));
    await gw.gateway.background.drain();
    const batchedAggregates = calls.filter((c) => c.table === gw.config.usage.aggregatesTable).length / 50;
    const batchedSettlements = calls.filter((c) => c.settlement).length / 50;
    const recordWrites = calls.filter((c) => c.table === gw.config.usage.recordsTable).length / 50;
    // Sustained: 50 clients, 1,000 requests.
    calls.length = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (sent < 1000) {
          sent += 1;
          await post();
        }
      }),
    );
    await gw.gateway.background.drain();
    const sustained = Number((calls.filter((c) => c.table === gw.config.usage.recordsTable).length / sent).toFixed(3));
    await gw.close();
    return Object.assign(perRequest, { batchedAggregates, batchedSettlements, recordWrites, sustained });
  };
  const warm = await run('30');
  const miss = await run('0');
  const avg = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
  const overlapped = miss.filter(({ before }) => {
    const lookup = before.find((c) => c.command === 'GetItemCommand');
    const admit = before.find((c) => c.command === 'UpdateItemCommand');
    return lookup && admit && lookup.start < admit.end && admit.start < lookup.end;
  }).length;
  return {
    gatewayRoundTripsPerRequest: {
      beforeProviderCall: avg(warm.map((r) => r.before.length)),
      afterProviderCall: avg(warm.map((r) => r.after.length)),
      afterResponse: avg(warm.map((r) => r.background.length)),
      afterResponseAt50Concurrent: Number(warm.recordWrites.toFixed(2)),
      afterResponseSustained50: warm.sustained,
      batchedAggregates: Number(warm.batchedAggregates.toFixed(2)),
      batchedSettlements: Number(warm.batchedSettlements.toFixed(2)),
    },
    keyCacheMiss: {
      requests: miss.length,
      lookupOverlappedAdmission: overlapped,
      roundTripsBeforeProviderCall: avg(miss.map((r) => r.before.length)),
    },
  };
}

/**
 * How long after its answer a request's real token use reaches its user's quota counter, with the
 * local consumer at its default batching (`AGGREGATION_BATCH_MS` 500): the counter is polled every
 * 5 ms until it holds the reservations replaced by the usage the answers reported.
 */
async function settlementLag(samples: number): Promise<LimiterReport['settlementLagMs']> {
  const key = 'sk-bench-settlement-lag';
  const gw = await benchGateway(key);
  const principal = (await gw.gateway.apiKeys.authenticate(key))!;
  const used = async () => (await gw.gateway.limiter.status(principal.userId, principal.plan)).quota.tokens.day.used;
  const lags: number[] = [];
  let expected = await used();
  for (let i = 0; i < samples; i += 1) {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${i}: ${'word '.repeat(40)}` }] }),
    });
    const answer = (await response.json()) as { usage: { total_tokens: number } };
    const answeredAt = performance.now();
    expected += answer.usage.total_tokens;
    while ((await used()) !== expected) {
      if (performance.now() - answeredAt > 10_000) throw new Error('token settlement did not land within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    lags.push(performance.now() - answeredAt);
    // Spaced so each request's settlement is its own batch.
    await gw.gateway.background.drain();
  }
  await gw.close();
  lags.sort((a, b) => a - b);
  return { samples, p50: Math.round(lags[Math.floor(samples / 2)]!), max: Math.round(lags.at(-1)!) };
}

export async function measureLimiter(durationMs = 5000, requests = 200): Promise<LimiterReport> {
  const fixed = await decisions(durationMs, 'ai_requests');
  const sliding = await decisions(durationMs, 'onlyfans_messaging');
  return { ...fixed, sliding, ...(await gatewayRoundTrips(requests)), settlementLagMs: await settlementLag(10) };
}

if (require.main === module) {
  measureLimiter().then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
