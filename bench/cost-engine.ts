/**
 * The cost engine, measured: the complexity classifier's time on a 2,000-token prompt; cache hit
 * latency from process memory and from DynamoDB against a miss; and a replayable mixed workload (a
 * pool of repeated questions and the labelled simple/complex prompts, seeded order) through a gateway
 * with the cache on and `model: "auto"`, reporting the hit rate on the repeated part, the cost against
 * always using the quality tier, and the share of complex prompts that reached a quality model.
 *
 *   tsx bench/cost-engine.ts      (standalone: starts its own upstream and dynalite)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { DynamoDbUsageStore } from '../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { classifyComplexity, ComplexityModelSchema } from '../lambdas/core/ai/complexity';
import type { UsageRecord } from '../lambdas/core/metering/usage-record';
import { FIXTURE, requestOf, type LabelledPrompt } from '../scripts/fit-complexity';
import { standalone, startGateway } from './processes';

const KEY = 'sk-bench-cost-engine';

/** A small seeded generator (mulberry32): the same workload every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(3));
};

/** The classifier on a 2,000-token prompt (about 8,000 characters of prose with an instruction). */
function classifierTiming() {
  const model = ComplexityModelSchema.parse(JSON.parse(readFileSync(join(__dirname, '..', 'config', 'complexity.json'), 'utf8')));
  const sentence = 'The creator posted three photos from the beach trip and asked the fans which one they liked best. ';
  const content = `${sentence.repeat(82)}\nSummarise the text above in one line, then list every decision it asks for and explain why each matters.`;
  const body = {
    model: 'auto',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content },
    ],
  };
  for (let i = 0; i < 500; i++) classifyComplexity(body, 'general', model);
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const started = process.hrtime.bigint();
    classifyComplexity(body, 'general', model);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { promptChars: content.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

async function post(url: string, agent: Agent, body: unknown, headers: Record<string, string> = {}) {
  const started = process.hrtime.bigint();
  const response = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  await response.body.text();
  if (response.statusCode !== 200) throw new Error(`cost-engine bench: HTTP ${response.statusCode}`);
  return {
    ms: Number(process.hrtime.bigint() - started) / 1e6,
    cache: String(response.headers['x-cache'] ?? ''),
    requestId: String(response.headers['x-request-id']),
  };
}

function costGateway(options: { upstream: string; upstreamKey: string; dynamo: string; flags: string; memoryMb: string }) {
  return startGateway({
    OPENAI_API_KEY: options.upstreamKey,
    OPENAI_BASE_URL: options.upstream,
    LOCAL_API_KEY: KEY,
    DYNAMODB_ENDPOINT: options.dynamo,
    FLAGS_FILE: options.flags,
    RESPONSE_CACHE_MEMORY_MB: options.memoryMb,
    LOG_LEVEL: 'WARN',
    HEARTBEAT_INTERVAL_SECONDS: '0',
  });
}

export async function measureCostEngine(options: { upstream: string; upstreamKey: string; dynamo: string }) {
  const classifier = classifierTiming();
  const dir = mkdtempSync(join(tmpdir(), 'ho-bench-cost-'));
  const flags = join(dir, 'flags.json');
  writeFileSync(
    flags,
    JSON.stringify({
      hybrid_orchestrator: { enabled: true, rollout_percentage: 100, allow_users: [], deny_users: [] },
      response_caching: { enabled: true },
    }),
  );
  const gateway = await costGateway({ ...options, flags, memoryMb: '32' });
  // A second instance on the same table with no memory cache: its hits come from DynamoDB.
  const tableOnly = await costGateway({ ...options, flags, memoryMb: '0' });
  const agent = new Agent({ connections: 1 });
  try {
    // Latency: misses (unique questions), hits from memory, hits from the table.
    const runs = Number(process.env['BENCH_CACHE_REQUESTS'] ?? 300);
    const question = (i: number) => ({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Bench question ${i}: what time is it in Paris?` }],
    });
    for (let i = 0; i < 50; i++) await post(gateway, agent, question(1e6 + i)); // warm-up
    const misses: number[] = [];
    for (let i = 0; i < runs; i++) misses.push((await post(gateway, agent, question(i))).ms);
    const memoryHits: number[] = [];
    const tableHits: number[] = [];
    for (let i = 0; i < runs; i++) {
      const hit = await post(gateway, agent, question(i));
      if (hit.cache !== 'HIT') throw new Error(`expected a hit from memory, got ${hit.cache}`);
      memoryHits.push(hit.ms);
    }
    const tableAgent = new Agent({ connections: 1 });
    for (let i = 0; i < runs; i++) {
      const hit = await post(tableOnly, tableAgent, question(i));
      if (hit.cache !== 'HIT') throw new Error(`expected a hit from the table, got ${hit.cache}`);
      tableHits.push(hit.ms);
    }
    await tableAgent.close();
    const latency = {
      missP50Ms: percentile(misses, 50),
      memoryHitP50Ms: percentile(memoryHits, 50),
      tableHitP50Ms: percentile(tableHits, 50),
      missP99Ms: percentile(misses, 99),
      memoryHitP99Ms: percentile(memoryHits, 99),
      tableHitP99Ms: percentile(tableHits, 99),
    };

    // The mixed workload: 40 questions asked again and again (300 requests), and every other labelled prompt once.
    const prompts = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { prompts: LabelledPrompt[] }).prompts;
    const random = seeded(42);
    const pool = prompts.slice(0, 40);
    const unique = prompts.slice(40);
    const workload: Array<{ prompt: LabelledPrompt; repeated: boolean }> = [
      ...Array.from({ length: 300 }, () => ({ prompt: pool[Math.floor(random() * pool.length)]!, repeated: true })),
      ...unique.map((prompt) => ({ prompt, repeated: false })),
    ];
    for (let i = workload.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [workload[i], workload[j]] = [workload[j]!, workload[i]!];
    }
    const sent: Array<{ requestId: string; cache: string; repeated: boolean; label: string }> = [];
    for (const { prompt, repeated } of workload) {
      const answer = await post(gateway, agent, requestOf(prompt), { 'x-task-type': prompt.taskType });
      sent.push({ requestId: answer.requestId, cache: answer.cache, repeated, label: prompt.label });
    }
    // Usage records are written after the answers: give the last ones a moment.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: 'us-east-1',
        endpoint: options.dynamo,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const store = new DynamoDbUsageStore(client, {
      records: 'hybrid-orchestrator-usage',
      aggregates: 'hybrid-orchestrator-usage-aggregates',
    });
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const records = new Map<string, UsageRecord>();
    for (const r of [...(await store.recordsOfDay(yesterday)), ...(await store.recordsOfDay(today))]) records.set(r.requestId, r);
    client.destroy();

    const rows = sent.map((s) => ({ ...s, record: records.get(s.requestId) }));
    const missing = rows.filter((r) => !r.record).length;
    // What each answer costs on the quality tier: its own figure, or for a hit the figure of the miss that stored it.
    const qualityByHash = new Map<string, number>();
    for (const r of rows)
      if (r.record?.cache !== 'hit' && r.record?.requestHash) qualityByHash.set(r.record.requestHash, r.record.qualityCostMicros ?? 0);
    let cost = 0;
    let alwaysQuality = 0;
    for (const r of rows) {
      if (!r.record) continue;
      cost += r.record.costMicros ?? 0;
      alwaysQuality += r.record.cache === 'hit' ? (qualityByHash.get(r.record.requestHash ?? '') ?? 0) : (r.record.qualityCostMicros ?? 0);
    }
    const repeated = rows.filter((r) => r.repeated);
    const complexAnswered = rows.filter((r) => r.label === 'complex' && r.record && r.record.cache !== 'hit');
    const routingOnly = rows.filter((r) => r.record && r.record.cache !== 'hit');
    const routingCost = routingOnly.reduce((s, r) => s + (r.record!.costMicros ?? 0), 0);
    const routingQuality = routingOnly.reduce((s, r) => s + (r.record!.qualityCostMicros ?? 0), 0);
    const workloadReport = {
      requests: rows.length,
      repeatedRequests: repeated.length,
      recordsMissing: missing,
      hitRateOnRepeated: Number((repeated.filter((r) => r.cache === 'HIT').length / repeated.length).toFixed(4)),
      hitRateOverall: Number((rows.filter((r) => r.cache === 'HIT').length / rows.length).toFixed(4)),
      costUsd: cost / 1e6,
      alwaysQualityUsd: alwaysQuality / 1e6,
      savingVsAlwaysQuality: alwaysQuality > 0 ? Number((1 - cost / alwaysQuality).toFixed(4)) : null,
      routingAloneSaving: routingQuality > 0 ? Number((1 - routingCost / routingQuality).toFixed(4)) : null,
      complexToQuality: Number((complexAnswered.filter((r) => r.record!.tier === 'quality').length / complexAnswered.length).toFixed(4)),
    };
    return { classifier, latency, workload: workloadReport };
  } finally {
    await agent.close();
  }
}

if (require.main === module) {
  standalone('sk-bench-upstream', ({ upstream, dynamo }) => measureCostEngine({ upstream, upstreamKey: 'sk-bench-upstream', dynamo }));
}
