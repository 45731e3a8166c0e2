/**
 * What the Bedrock path costs over the OpenAI path: (1) the translation alone, in process (an OpenAI
 * request to Converse, and a ConverseStream answer of 16 events back to OpenAI chunks); (2) one gateway
 * process serving the same request from a simulated OpenAI and from a simulated Bedrock (each its own
 * process), at one connection (added p50) and at 10 connections (the gateway's CPU per request from
 * /proc). The second includes the AWS SDK's SigV4 signing and event-stream decoding, which the
 * OpenAI path does not pay either.
 *
 *   tsx bench/bedrock.ts      (standalone: starts its own upstreams and dynalite)
 */
import autocannon from 'autocannon';
import { toConverseRequest } from '../lambdas/adapters/providers/bedrock/converse-request';
import { ChunkTranslator } from '../lambdas/adapters/providers/bedrock/converse-response';
import { children, quantile, requireCpuMs, sequentialTimes, standalone, startGateway, startUpstream } from './processes';

const KEY = 'sk-bench-bedrock';
const CPU_REQUESTS = Number(process.env['BENCH_BEDROCK_REQUESTS'] ?? 3000);

const request = (model: string) => ({
  model,
  messages: [
    { role: 'system', content: 'You write short, warm messages to fans.' },
    { role: 'user', content: 'Write a short hello to Sam, who just subscribed.' },
  ],
  max_tokens: 64,
  temperature: 0.7,
});

/** A ConverseStream answer as Bedrock sends it: start, 12 text deltas, block stop, message stop, metadata. */
const STREAM = [
  { messageStart: { role: 'assistant' as const } },
  ...Array.from({ length: 12 }, (_, i) => ({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: `word${i} and more ` } } })),
  { contentBlockStop: { contentBlockIndex: 0 } },
  { messageStop: { stopReason: 'end_turn' as const } },
  { metadata: { usage: { inputTokens: 30, outputTokens: 40, totalTokens: 70 }, metrics: { latencyMs: 300 } } },
];

const percentile = (sorted: number[], q: number) => Number(quantile(sorted, q).toFixed(4));

function translationTiming() {
  const body = request('claude-3-5-haiku');
  const once = () => {
    toConverseRequest(body, 'us.anthropic.claude-3-5-haiku-20241022-v1:0');
    const translator = new ChunkTranslator({ id: 'chatcmpl-bedrock-1', model: 'm', created: 0 });
    for (const event of STREAM) translator.translate(event);
  };
  for (let i = 0; i < 2000; i++) once();
  const times: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const started = process.hrtime.bigint();
    once();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { events: STREAM.length, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) };
}

export async function measureBedrock(options: { dynamo: string }) {
  const translation = translationTiming();
  const openai = await startUpstream(KEY, 'openai');
  const bedrockUpstream = await startUpstream(KEY, 'bedrock');
  const gatewayKey = 'sk-bench-bedrock-user';
  const gateway = await startGateway({
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: openai,
    BEDROCK_REGION: 'us-east-1',
    BEDROCK_ENDPOINT: bedrockUpstream,
    // The simulated Bedrock checks the SigV4 access key id; the SDK's chain reads these.
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: KEY,
    LOCAL_API_KEY: gatewayKey,
    DYNAMODB_ENDPOINT: options.dynamo,
    LOG_LEVEL: 'WARN',
    HEARTBEAT_INTERVAL_SECONDS: '0',
  });
  const pid = children.at(-1)!.pid!;
  const url = `${gateway}/v1/chat/completions`;
  const headers = { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' };
  const path = async (model: string) => {
    const body = JSON.stringify(request(model));
    await autocannon({ url, method: 'POST', headers, body, connections: 10, amount: 1000 });
    const sequential = await sequentialTimes(url, headers, body, 1500);
    const before = requireCpuMs({ pid });
    const run = await autocannon({ url, method: 'POST', headers, body, connections: 10, amount: CPU_REQUESTS });
    const cpu = requireCpuMs({ pid }) - before;
    if (run.non2xx > 0 || run.errors > 0) throw new Error(`bedrock bench: ${run.non2xx} non-2xx and ${run.errors} errors for ${model}`);
    return {
      sequentialP50Ms: percentile(sequential, 0.5),
      requestsPerSec10Conn: Math.round(run.requests.average),
      gatewayCpuMsPerRequest: Number((cpu / CPU_REQUESTS).toFixed(3)),
    };
  };
  // Alternated, twice each, and the better of each path's two rounds kept: JIT warm-up and the machine's
  // noise then weigh on both paths alike.
  const rounds = { openAi: [] as Array<Awaited<ReturnType<typeof path>>>, bedrock: [] as Array<Awaited<ReturnType<typeof path>>> };
  for (let round = 0; round < 2; round++) {
    rounds.openAi.push(await path('gpt-4o-mini'));
    rounds.bedrock.push(await path('claude-3-5-haiku'));
  }
  const best = (runs: Array<Awaited<ReturnType<typeof path>>>) => ({
    sequentialP50Ms: Math.min(...runs.map((r) => r.sequentialP50Ms)),
    requestsPerSec10Conn: Math.max(...runs.map((r) => r.requestsPerSec10Conn)),
    gatewayCpuMsPerRequest: Math.min(...runs.map((r) => r.gatewayCpuMsPerRequest)),
  });
  const openAi = best(rounds.openAi);
  const bedrock = best(rounds.bedrock);
  return {
    translation,
    rounds,
    openAi,
    bedrock,
    addedSequentialP50Ms: Number((bedrock.sequentialP50Ms - openAi.sequentialP50Ms).toFixed(3)),
    addedCpuMsPerRequest: Number((bedrock.gatewayCpuMsPerRequest - openAi.gatewayCpuMsPerRequest).toFixed(3)),
  };
}

if (require.main === module) standalone(KEY, ({ dynamo }) => measureBedrock({ dynamo }));
