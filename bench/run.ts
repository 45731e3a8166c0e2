/**
 * `npm run bench`: autocannon against (1) the fake upstream directly, (2) this gateway in front of
 * it as `npm start` runs it (limiter and usage records on), (3) the same gateway with `AI_METERING=off`
 * (the stateless path), (4) Portkey's open-source gateway in front of it, each in its own process on
 * loopback, at 1 and 50 connections. Prints req/s and latency added over the direct path, and writes
 * bench/results/<date>.json. Not a test: numbers depend on the machine.
 */
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureBundle } from './bundle';
import { measureLimiter } from './limiter';
import { measureBedrock } from './bedrock';
import { measureCostEngine } from './cost-engine';
import { measureMemorySizes } from './memory';
import { measureOutage } from './outage';
import type { ChildProcess } from 'node:child_process';
import { children, cpuMs, peakRssMiB, sequentialTimes, start, startBackends, startGateway } from './processes';

const ROOT = join(__dirname, '..');
const UPSTREAM_KEY = 'sk-bench-upstream';
const GATEWAY_KEY = 'sk-bench-gateway-user';
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const CONNECTIONS = [1, 50];
const SEQUENTIAL = Number(process.env['BENCH_SEQUENTIAL'] ?? 3000);
/** Requests sent 5 ms apart, so one's post-response work (its usage record) is done before the next. */
const SPACED = Number(process.env['BENCH_SPACED'] ?? 1000);
const SPACED_GAP_MS = 5;
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write a short hello to Sam.' }], max_tokens: 64 });

interface Run {
  connections: number;
  requestsPerSec: number;
  /** Requests answered in the run (the CPU per request's denominator). */
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, headers: Record<string, string>, connections: number, duration: number): Promise<Run> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: BODY,
    connections,
    duration,
  });
  return {
    connections,
    requestsPerSec: Math.round(result.requests.average),
    requests: result.requests.total,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * autocannon reports latency in whole milliseconds; the 1-connection added latency needs finer
 * grain, so one keep-alive connection also sends requests back to back, timed with hrtime.
 */
async function sequentialLatency(url: string, headers: Record<string, string>, count: number, gapMs = 0) {
  const times = await sequentialTimes(url, headers, BODY, count, gapMs);
  const at = (q: number) => Number(times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3));
  return { p50: at(0.5), p99: at(0.99) };
}

/** `process`: the server's process, whose CPU per request is measured at each load (absent: not measured). */
async function measure(name: string, url: string, headers: Record<string, string>, process_?: ChildProcess) {
  await load(url, headers, 10, WARMUP); // JIT, connection pools, caches
  const sequential = await sequentialLatency(url, headers, SEQUENTIAL);
  const spaced = await sequentialLatency(url, headers, SPACED, SPACED_GAP_MS);
  process.stdout.write(
    `  ${name.padEnd(10)} sequential: p50 ${sequential.p50} ms  p99 ${sequential.p99} ms; ${SPACED_GAP_MS} ms apart: p50 ${spaced.p50} ms  p99 ${spaced.p99} ms\n`,
  );
  const runs: Array<Run & { cpuMsPerRequest?: number }> = [];
  for (const connections of CONNECTIONS) {
    const cpuBefore = cpuMs(process_);
    const loaded = await load(url, headers, connections, DURATION);
    const cpuAfter = cpuMs(process_);
    // Not measured where /proc is unavailable (the verdict then says so).
    const run: Run & { cpuMsPerRequest?: number } =
      cpuBefore !== null && cpuAfter !== null
        ? { ...loaded, cpuMsPerRequest: Number(((cpuAfter - cpuBefore) / loaded.requests).toFixed(2)) }
        : loaded;
    if (run.non2xx > 0 || run.errors > 0)
      throw new Error(`${name}: ${run.non2xx} non-2xx answers and ${run.errors} errors at ${connections} connections`);
    runs.push(run);
    process.stdout.write(
      `  ${name.padEnd(10)} ${String(connections).padStart(2)} conn: ${String(run.requestsPerSec).padStart(6)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms${run.cpuMsPerRequest === undefined ? '' : `  CPU ${run.cpuMsPerRequest} ms/request`}\n`,
    );
  }
  return { name, sequential, spaced, runs };
}

async function main() {
  process.stdout.write(`bench: ${DURATION}s per run after ${WARMUP}s warm-up, ${cpus().length} cores\n`);
  const bundle = await measureBundle();
  process.stdout.write(
    `  Lambda bundle ${(bundle.bytes / 1024).toFixed(0)} KiB, module load (require) median ${bundle.requireMsMedian} ms; ` +
      `Bedrock SDK in its own file ${((bundle.bedrockSdk?.bytes ?? 0) / 1024).toFixed(0)} KiB, loaded at the first Bedrock call in ${bundle.bedrockSdk?.requireMsMedian} ms\n`,
  );
  const limiter = await measureLimiter();
  process.stdout.write(
    `  limiter on dynalite: ${limiter.decisionsPerSecond} decisions/s at 50 concurrent callers, ${limiter.roundTripsPerDecision} round trips per decision; ` +
      `per AI request ${limiter.gatewayRoundTripsPerRequest.beforeProviderCall} DynamoDB call before the provider call, ${limiter.gatewayRoundTripsPerRequest.afterProviderCall} after it before the answer and ${limiter.gatewayRoundTripsPerRequest.afterResponse} usage record write after the answer, plus, in batches off the request path, ${limiter.gatewayRoundTripsPerRequest.batchedAggregates} aggregate updates and ${limiter.gatewayRoundTripsPerRequest.batchedSettlements} token settlements per request; ` +
      `token settlement on the quota ${limiter.settlementLagMs.p50} ms after the answer (p50, max ${limiter.settlementLagMs.max} ms); ` +
      `key-cache miss: lookup in parallel with admission in ${limiter.keyCacheMiss.lookupOverlappedAdmission}/${limiter.keyCacheMiss.requests} requests\n`,
  );
  const { upstream, dynamo } = await startBackends(UPSTREAM_KEY);
  const gateway = await startGateway({
    OPENAI_API_KEY: UPSTREAM_KEY,
    OPENAI_BASE_URL: upstream,
    // Azure OpenAI (the fallback, never called here) is simulated inside the gateway process: the bench
    // upstream speaks OpenAI's dialect only, and Azure's paths there would fail every heartbeat.
    LOCAL_API_KEY: GATEWAY_KEY,
    DYNAMODB_ENDPOINT: dynamo,
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'INFO',
  });
  // The stateless path: the same gateway with AI metering off (no limiter write, no usage record).
  const stateless = await startGateway({
    OPENAI_API_KEY: UPSTREAM_KEY,
    OPENAI_BASE_URL: upstream,
    LOCAL_API_KEY: GATEWAY_KEY,
    DYNAMODB_ENDPOINT: dynamo,
    AI_METERING: 'off',
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'INFO',
  });
  const portkeyPort = String(18_000 + Math.floor(Math.random() * 2000));
  const portkey = await start(
    'node',
    [
      '--require',
      './bench/bind-loopback.cjs',
      'node_modules/@portkey-ai/gateway/build/start-server.js',
      `--port=${portkeyPort}`,
      '--headless',
    ],
    {},
    (line) => (line.includes('Ready for connections') ? `http://127.0.0.1:${portkeyPort}` : undefined),
  );

  const results = [
    await measure('direct', `${upstream}/chat/completions`, { authorization: `Bearer ${UPSTREAM_KEY}` }),
    // children: [upstream, dynalite, gateway, stateless gateway, portkey], in start order.
    await measure('gateway', `${gateway}/v1/chat/completions`, { authorization: `Bearer ${GATEWAY_KEY}` }, children[2]),
    await measure('stateless', `${stateless}/v1/chat/completions`, { authorization: `Bearer ${GATEWAY_KEY}` }, children[3]),
    await measure('portkey', `${portkey}/v1/chat/completions`, {
      authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': upstream,
    }),
  ];

  const memory = {
    upstreamPeakRssMiB: peakRssMiB(children[0]),
    dynalitePeakRssMiB: peakRssMiB(children[1]),
    gatewayPeakRssMiB: peakRssMiB(children[2]),
    statelessGatewayPeakRssMiB: peakRssMiB(children[3]),
    portkeyPeakRssMiB: peakRssMiB(children[4]),
  };
  const direct = results[0]!.runs;
  const directSequential = results[0]!.sequential;
  const directSpaced = results[0]!.spaced;
  const summary = results.map(({ name, sequential, spaced, runs }) => ({
    name,
    sequential: {
      ...sequential,
      addedP50Ms: Number((sequential.p50 - directSequential.p50).toFixed(3)),
      addedP99Ms: Number((sequential.p99 - directSequential.p99).toFixed(3)),
    },
    spaced: {
      ...spaced,
      gapMs: SPACED_GAP_MS,
      addedP50Ms: Number((spaced.p50 - directSpaced.p50).toFixed(3)),
      addedP99Ms: Number((spaced.p99 - directSpaced.p99).toFixed(3)),
    },
    runs: runs.map((run, i) => ({
      ...run,
      addedP50Ms: Number((run.p50 - direct[i]!.p50).toFixed(2)),
      addedP99Ms: Number((run.p99 - direct[i]!.p99).toFixed(2)),
    })),
  }));

  process.stdout.write('\n  target      conn    req/s   p50 ms   p99 ms   added p50   added p99\n');
  for (const { name, runs } of summary) {
    for (const r of runs) {
      process.stdout.write(
        `  ${name.padEnd(10)} ${String(r.connections).padStart(4)} ${String(r.requestsPerSec).padStart(8)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.addedP50Ms).padStart(11)} ${String(r.addedP99Ms).padStart(11)}\n`,
      );
    }
  }
  process.stdout.write('\n  sequential (1 connection, hrtime)   p50 ms   p99 ms   added p50   added p99\n');
  for (const { name, sequential, spaced } of summary) {
    for (const [label, s] of [
      [name, sequential],
      [`${name}, ${SPACED_GAP_MS} ms apart`, spaced],
    ] as const) {
      process.stdout.write(
        `  ${label.padEnd(34)} ${String(s.p50).padStart(6)} ${String(s.p99).padStart(8)} ${String(s.addedP50Ms).padStart(11)} ${String(s.addedP99Ms).padStart(11)}\n`,
      );
    }
  }
  const ours = summary[1]!.runs;
  const light = summary[2]!;
  const peer = summary[3]!.runs;
  // The stateful path's targets (limiter and usage on, as `npm start` runs).
  const verdict = {
    addedP50SpacedMs: summary[1]!.spaced.addedP50Ms,
    addedP50SpacedAtMost3Ms: summary[1]!.spaced.addedP50Ms <= 3,
    throughputAt50Conn: ours[1]!.requestsPerSec,
    portkeyThroughputAt50Conn: peer[1]!.requestsPerSec,
    throughputRatio: Number((ours[1]!.requestsPerSec / peer[1]!.requestsPerSec).toFixed(2)),
    atLeastHalfPortkey: ours[1]!.requestsPerSec >= 0.5 * peer[1]!.requestsPerSec,
    gatewayCpuMsPerRequestAt50Conn: ours[1]!.cpuMsPerRequest,
    cpuAtMost3Ms: ours[1]!.cpuMsPerRequest === undefined ? undefined : ours[1]!.cpuMsPerRequest <= 3,
    // The stateless path's targets (AI_METERING=off): added p50 at 1 connection, back to back.
    stateless: {
      addedP50Ms: light.sequential.addedP50Ms,
      addedP50Under1Ms: light.sequential.addedP50Ms < 1,
      throughputAt50Conn: light.runs[1]!.requestsPerSec,
      throughputRatio: Number((light.runs[1]!.requestsPerSec / peer[1]!.requestsPerSec).toFixed(2)),
      atLeast1_5xPortkey: light.runs[1]!.requestsPerSec >= 1.5 * peer[1]!.requestsPerSec,
      gatewayCpuMsPerRequestAt50Conn: light.runs[1]!.cpuMsPerRequest,
    },
  };
  process.stdout.write(
    `\n  peak RSS: gateway ${memory.gatewayPeakRssMiB} MiB (stateless ${memory.statelessGatewayPeakRssMiB} MiB), Portkey ${memory.portkeyPeakRssMiB} MiB, upstream ${memory.upstreamPeakRssMiB} MiB\n`,
  );
  process.stdout.write(
    `\n  targets (stateful path): added p50 at 1 conn, ${SPACED_GAP_MS} ms apart <= 3 ms: ${verdict.addedP50SpacedAtMost3Ms ? 'met' : 'MISSED'} (${verdict.addedP50SpacedMs} ms); ` +
      `throughput at 50 conn >= 0.5x Portkey: ${verdict.atLeastHalfPortkey ? 'met' : 'MISSED'} (${verdict.throughputAt50Conn} vs ${verdict.portkeyThroughputAt50Conn} req/s, ${verdict.throughputRatio}x); ` +
      `gateway CPU <= 3 ms per request at 50 conn: ${verdict.cpuAtMost3Ms === undefined ? 'not measured (no /proc)' : verdict.cpuAtMost3Ms ? 'met' : 'MISSED'} (${verdict.gatewayCpuMsPerRequestAt50Conn} ms)\n`,
  );
  process.stdout.write(
    `  targets (stateless path, AI_METERING=off): added p50 at 1 conn < 1 ms: ${verdict.stateless.addedP50Under1Ms ? 'met' : 'MISSED'} (${verdict.stateless.addedP50Ms} ms); ` +
      `throughput at 50 conn >= 1.5x Portkey: ${verdict.stateless.atLeast1_5xPortkey ? 'met' : 'MISSED'} (${verdict.stateless.throughputAt50Conn} req/s, ${verdict.stateless.throughputRatio}x; CPU ${verdict.stateless.gatewayCpuMsPerRequestAt50Conn} ms per request)\n`,
  );

  const outage = await measureOutage();
  process.stdout.write(
    `\n  outage (primary hangs, firstByteMs ${outage.firstByteMs} ms, cooldown ${outage.cooldownMs} ms): first fallback answer after ${outage.firstFallbackMs.streamed} ms streamed, ${outage.firstFallbackMs.nonStreamed} ms not; ` +
      `breaker open after ${outage.breakerOpenedAfterMs} ms, ${outage.requestsToDeadUpstream} requests reached the dead upstream; ` +
      `added latency while open p50 ${outage.addedWhileOpen.p50} ms, p99 ${outage.addedWhileOpen.p99} ms; ` +
      `closed ${outage.recoveryToClosedMs} ms after recovery with ${outage.probesDuringRecovery} probe(s); targets ${JSON.stringify(outage.targets)}\n`,
  );

  const costEngine = await measureCostEngine({ upstream, upstreamKey: UPSTREAM_KEY, dynamo });
  process.stdout.write(
    `\n  cost engine: classifier on a ${costEngine.classifier.promptChars}-character prompt p50 ${costEngine.classifier.p50Ms} ms, p99 ${costEngine.classifier.p99Ms} ms; ` +
      `cache p50: miss ${costEngine.latency.missP50Ms} ms, hit from memory ${costEngine.latency.memoryHitP50Ms} ms, hit from DynamoDB ${costEngine.latency.tableHitP50Ms} ms; ` +
      `mixed workload (${costEngine.workload.requests} requests): hit rate on repeats ${costEngine.workload.hitRateOnRepeated}, ` +
      `cost $${costEngine.workload.costUsd.toFixed(4)} vs always-quality $${costEngine.workload.alwaysQualityUsd.toFixed(4)} (saving ${costEngine.workload.savingVsAlwaysQuality}; routing alone ${costEngine.workload.routingAloneSaving}), ` +
      `complex prompts on a quality model ${costEngine.workload.complexToQuality}\n`,
  );

  const bedrock = await measureBedrock({ dynamo });
  process.stdout.write(
    `\n  Bedrock: translation (request + ${bedrock.translation.events}-event stream) p50 ${bedrock.translation.p50Ms} ms, p99 ${bedrock.translation.p99Ms} ms; ` +
      `whole path against OpenAI, same gateway and load: gateway CPU ${bedrock.bedrock.gatewayCpuMsPerRequest} vs ${bedrock.openAi.gatewayCpuMsPerRequest} ms per request (+${bedrock.addedCpuMsPerRequest} ms, SigV4 and event-stream decoding included), ` +
      `sequential p50 ${bedrock.bedrock.sequentialP50Ms} vs ${bedrock.openAi.sequentialP50Ms} ms\n`,
  );

  process.stdout.write('\n  Lambda memory sizes (CPU share by cgroup quota; limiter and usage on, 1 connection):\n');
  const memorySizing = await measureMemorySizes({ upstream, upstreamKey: UPSTREAM_KEY, dynamo });
  if ('skipped' in memorySizing) process.stdout.write(`  skipped: ${memorySizing.skipped}\n`);

  const date = new Date().toISOString().slice(0, 10);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }, durationSeconds: DURATION, gatewayLogLevel: process.env['BENCH_LOG_LEVEL'] ?? 'INFO', results: summary, memory, lambdaBundle: bundle, limiter, outage, costEngine, bedrock, memorySizing, verdict }, null, 2)}\n`,
  );
  process.stdout.write(`  written to ${file}\n`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
