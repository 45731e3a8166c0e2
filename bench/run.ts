/**
 * `npm run bench`: autocannon against (1) the fake upstream directly, (2) this gateway in front of
 * it as `npm start` runs it (limiter and usage records on), (3) the same gateway with `AI_METERING=off`
 * (the stateless path), (4) Portkey's open-source gateway in front of it, each in its own process on
 * loopback, at 1 and 50 connections. Prints req/s and latency added over the direct path, and writes
 * bench/results/<date>.json. Not a test: numbers depend on the machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureBundle } from './bundle';
import { measureLimiter } from './limiter';
import { measureBedrock } from './bedrock';
import { measureCostEngine } from './cost-engine';
import { measureMemorySizes } from './memory';
import { measureOutage } from './outage';
import {
  CHAT_BODY as BODY,
  children,
  inRoundOrder,
  load,
  loadWithCpu,
  machineBudget,
  median,
  quantile,
  peakRssMiB,
  sequentialTimes,
  SETTLE_MS,
  start,
  startBackends,
  startGateway,
  type MeasuredRun,
  type Run,
  type Target,
} from './processes';

const ROOT = join(__dirname, '..');
const UPSTREAM_KEY = 'sk-bench-upstream';
const GATEWAY_KEY = 'sk-bench-gateway-user';
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
/** Rounds over which the targets alternate (see `measureAll`). */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`BENCH_ROUNDS must be a whole number of at least 1, not ${process.env['BENCH_ROUNDS']}`);
const SEQUENTIAL = Number(process.env['BENCH_SEQUENTIAL'] ?? 3000);
/** Requests sent 5 ms apart, so one's post-response work (its usage record) is done before the next. */
const SPACED = Number(process.env['BENCH_SPACED'] ?? 1000);
const SPACED_GAP_MS = 5;

/** A sorted sample's p50 and p99, in ms to the microsecond. */
function percentiles(sorted: number[]) {
  const at = (q: number) => Number(quantile(sorted, q).toFixed(3));
  return { p50: at(0.5), p99: at(0.99) };
}

/** Round `round`'s share of `total` requests (the shares add up to `total`). */
const shareOf = (total: number, round: number) => Math.floor(((round + 1) * total) / ROUNDS) - Math.floor((round * total) / ROUNDS);

/**
 * Every target in turn, over `ROUNDS` rounds whose order alternates (forwards, then backwards), so a
 * minute when the machine is slow weighs on all of them alike: per round and target, requests back to
 * back and 5 ms apart on one keep-alive connection (hrtime: autocannon reports whole milliseconds),
 * then autocannon at 50 connections. The hrtime samples are pooled over the rounds; at 50 connections
 * req/s and the latency percentiles are the median round's, `requests` and the CPU per request count
 * every round, and `rounds` keeps each round's req/s for ratios taken round by round.
 */
async function measureAll(targets: Target[]) {
  for (const target of targets) await load(target.url, target.headers, 10, WARMUP); // JIT, connection pools, caches
  const oneConnection: MeasuredRun[] = [];
  for (const target of targets) oneConnection.push(await loadWithCpu(target, 1, DURATION));
  const pooled = targets.map(() => ({ sequential: [] as number[], spaced: [] as number[], loads: [] as MeasuredRun[] }));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const i of inRoundOrder(
      targets.map((_, i) => i),
      round,
    )) {
      const { url, headers, name } = targets[i]!;
      pooled[i]!.sequential.push(...(await sequentialTimes(url, headers, BODY, shareOf(SEQUENTIAL, round))));
      pooled[i]!.spaced.push(...(await sequentialTimes(url, headers, BODY, shareOf(SPACED, round), SPACED_GAP_MS)));
      const loaded = await loadWithCpu(targets[i]!, 50, DURATION);
      pooled[i]!.loads.push(loaded);
      process.stdout.write(
        `  round ${round + 1}/${ROUNDS} ${name.padEnd(10)} 50 conn: ${String(loaded.requestsPerSec).padStart(6)} req/s${loaded.cpuMsPerRequest === undefined ? '' : `  CPU ${loaded.cpuMsPerRequest} ms/request`}\n`,
      );
    }
  }
  return targets.map((target, i) => {
    const { sequential, spaced, loads } = pooled[i]!;
    const requests = loads.reduce((n, l) => n + l.requests, 0);
    const cpu = loads.every((l) => l.cpuMs !== undefined) ? loads.reduce((n, l) => n + l.cpuMs!, 0) : undefined;
    const fifty: MeasuredRun & { rounds: number[] } = {
      connections: 50,
      requestsPerSec: Math.round(median(loads.map((l) => l.requestsPerSec))),
      requests,
      p50: median(loads.map((l) => l.p50)),
      p90: median(loads.map((l) => l.p90)),
      p99: median(loads.map((l) => l.p99)),
      non2xx: 0,
      errors: 0,
      ...(cpu === undefined ? {} : { cpuMsPerRequest: Number((cpu / requests).toFixed(2)) }),
      rounds: loads.map((l) => l.requestsPerSec),
    };
    const { cpuMs: _omitted, machineCpuMs: _alsoOmitted, mainThreadCpuMs: _threadOmitted, ...one } = oneConnection[i]!;
    const machine = machineBudget(loads, cpus().length);
    return {
      name: target.name,
      sequential: percentiles(sequential.sort((a, b) => a - b)),
      spaced: percentiles(spaced.sort((a, b) => a - b)),
      runs: [one, fifty],
      ...(machine ? { machineAt50Conn: machine } : {}),
    };
  });
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
      `per AI request ${limiter.gatewayRoundTripsPerRequest.beforeProviderCall} DynamoDB call before the provider call, ${limiter.gatewayRoundTripsPerRequest.afterProviderCall} after it before the answer and ${limiter.gatewayRoundTripsPerRequest.afterResponse} usage record write after the answer (${limiter.gatewayRoundTripsPerRequest.afterResponseAt50Concurrent} when 50 finish together, ${limiter.gatewayRoundTripsPerRequest.afterResponseSustained50} under sustained load from 50 clients: records share batches), plus, in batches off the request path, ${limiter.gatewayRoundTripsPerRequest.batchedAggregates} aggregate updates and ${limiter.gatewayRoundTripsPerRequest.batchedSettlements} token settlements per request; ` +
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

  // children: [upstream, dynalite, gateway, stateless gateway, portkey], in start order.
  const results = await measureAll([
    { name: 'direct', url: `${upstream}/chat/completions`, headers: { authorization: `Bearer ${UPSTREAM_KEY}` } },
    {
      name: 'gateway',
      url: `${gateway}/v1/chat/completions`,
      headers: { authorization: `Bearer ${GATEWAY_KEY}` },
      process: children[2]!,
      backends: { upstream: children[0]!, dynalite: children[1]! },
    },
    {
      name: 'stateless',
      url: `${stateless}/v1/chat/completions`,
      headers: { authorization: `Bearer ${GATEWAY_KEY}` },
      process: children[3]!,
      backends: { upstream: children[0]!, dynalite: children[1]! },
    },
    {
      name: 'portkey',
      url: `${portkey}/v1/chat/completions`,
      headers: { authorization: `Bearer ${UPSTREAM_KEY}`, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream },
      process: children[4]!,
      backends: { upstream: children[0]! },
    },
  ]);

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
  const summary = results.map(({ name, sequential, spaced, runs, machineAt50Conn }) => ({
    name,
    ...(machineAt50Conn ? { machineAt50Conn } : {}),
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
  process.stdout.write(
    `\n  CPU per request at 50 connections, by process (ms), and about how many req/s that allows on ${cpus().length} cores; the server's main thread alone, and the req/s one thread allows\n`,
  );
  for (const { name, machineAt50Conn: m } of summary) {
    if (!m) continue;
    const parts = Object.entries(m.msPerRequest).map(([process_, ms]) => `${process_} ${ms}`);
    const thread =
      m.mainThreadMsPerRequest === undefined ? '' : `; main thread ${m.mainThreadMsPerRequest} ms: ${m.mainThreadCeilingReqPerSec} req/s`;
    process.stdout.write(
      `  ${name.padEnd(10)} ${parts.join(' + ')} = ${m.totalMsPerRequest} ms: about ${m.ceilingReqPerSec} req/s${thread}\n`,
    );
  }
  /** Median over the rounds of one target's req/s over another's in the same round. */
  const ratioOf = (a: Run, b: Run) => {
    const [ra, rb] = [(a as { rounds?: number[] }).rounds ?? [a.requestsPerSec], (b as { rounds?: number[] }).rounds ?? [b.requestsPerSec]];
    return median(ra.map((x, i) => x / rb[i]!));
  };
  const shown = (ratio: number) => Number(ratio.toFixed(2));
  const ours = summary[1]!.runs;
  const light = summary[2]!;
  const peer = summary[3]!.runs;
  // The stateful path's targets (limiter and usage on, as `npm start` runs).
  const verdict = {
    addedP50SpacedMs: summary[1]!.spaced.addedP50Ms,
    addedP50SpacedAtMost3Ms: summary[1]!.spaced.addedP50Ms <= 3,
    throughputAt50Conn: ours[1]!.requestsPerSec,
    portkeyThroughputAt50Conn: peer[1]!.requestsPerSec,
    // Round by round (each pair measured minutes apart at most), the median of the ratios.
    throughputRatio: shown(ratioOf(ours[1]!, peer[1]!)),
    atLeastHalfPortkey: ratioOf(ours[1]!, peer[1]!) >= 0.5,
    gatewayCpuMsPerRequestAt50Conn: ours[1]!.cpuMsPerRequest,
    cpuAtMost3Ms: ours[1]!.cpuMsPerRequest === undefined ? undefined : ours[1]!.cpuMsPerRequest <= 3,
    // The stateless path's targets (AI_METERING=off): added p50 at 1 connection, back to back.
    stateless: {
      addedP50Ms: light.sequential.addedP50Ms,
      addedP50Under1Ms: light.sequential.addedP50Ms < 1,
      throughputAt50Conn: light.runs[1]!.requestsPerSec,
      throughputRatio: shown(ratioOf(light.runs[1]!, peer[1]!)),
      atLeast1_5xPortkey: ratioOf(light.runs[1]!, peer[1]!) >= 1.5,
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
  // A run tuned with BENCH_* variables (a quick check) does not overwrite the day's full run.
  const tuned = Object.keys(process.env).filter((name) => name.startsWith('BENCH_'));
  const file = join(dir, tuned.length > 0 ? `${date}.tuned.json` : `${date}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }, durationSeconds: DURATION, cpuSettleMs: SETTLE_MS, gatewayLogLevel: process.env['BENCH_LOG_LEVEL'] ?? 'INFO', tunedBy: tuned, results: summary, memory, lambdaBundle: bundle, limiter, outage, costEngine, bedrock, memorySizing, verdict }, null, 2)}\n`,
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
