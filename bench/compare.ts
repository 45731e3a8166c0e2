/**
 * `npm run bench:compare -- <checkout> <checkout> [...]`: the gateways of several checkouts (each with
 * its own `node_modules`, or a link to one) side by side, against one simulated upstream and one
 * dynalite, in alternating order over `COMPARE_ROUNDS` rounds: requests 5 ms apart (added p50 over the
 * direct path), then autocannon at 50 connections (req/s, gateway CPU per request from /proc). The
 * stateful path, or with `COMPARE_STATELESS=1` the stateless one (`AI_METERING=off`). What a change buys, measured in one run where the machine's mood is the same for both. Not a test. CPU is read
 * until `SETTLE_MS` after each load (comparisons before 2026-11-27 06:45 UTC stopped at the load's end).
 * A `checkout|node-options` argument runs that checkout with `NODE_OPTIONS`.
 */
import { resolve } from 'node:path';
import {
  CHAT_BODY as BODY,
  children,
  inRoundOrder,
  load,
  loadWithCpu,
  quantile,
  sequentialTimes,
  startBackends,
  startGateway,
} from './processes';

const KEY = 'sk-bench-compare-user';
const UPSTREAM_KEY = 'sk-bench-upstream';
const ROUNDS = Number(process.env['COMPARE_ROUNDS'] ?? 4);
const SPACED = Number(process.env['COMPARE_SPACED'] ?? 800);
const DURATION = Number(process.env['COMPARE_DURATION'] ?? 8);

async function main() {
  const specs = process.argv.slice(2).map((arg) => {
    const [dir, nodeOptions] = arg.split('|');
    return { label: arg, dir: resolve(dir!), nodeOptions: nodeOptions ?? '' };
  });
  if (specs.length < 2) throw new Error('usage: npm run bench:compare -- <checkout> <checkout> [...]');
  const { upstream, dynamo } = await startBackends(UPSTREAM_KEY);
  const gateways = [];
  for (const spec of specs) {
    const url = await startGateway(
      {
        OPENAI_API_KEY: UPSTREAM_KEY,
        OPENAI_BASE_URL: upstream,
        LOCAL_API_KEY: KEY,
        DYNAMODB_ENDPOINT: dynamo,
        LOG_LEVEL: 'WARN',
        NODE_OPTIONS: spec.nodeOptions,
        // COMPARE_STATELESS=1: the stateless path (no limiter write, no usage record).
        ...(process.env['COMPARE_STATELESS'] ? { AI_METERING: 'off' } : {}),
      },
      [],
      spec.dir,
    );
    gateways.push({
      name: spec.label,
      url: `${url}/v1/chat/completions`,
      headers: { authorization: `Bearer ${KEY}` },
      process: children.at(-1)!,
    });
  }
  const p50 = (times: number[]) => quantile(times, 0.5);
  for (const g of gateways) await load(g.url, g.headers, 10, 3);
  for (let round = 0; round < ROUNDS; round++) {
    const direct = p50(await sequentialTimes(`${upstream}/chat/completions`, { authorization: `Bearer ${UPSTREAM_KEY}` }, BODY, 500, 5));
    for (const g of inRoundOrder(gateways, round)) {
      const spaced = p50(await sequentialTimes(g.url, g.headers, BODY, SPACED, 5));
      const run = await loadWithCpu(g, 50, DURATION);
      if (run.cpuMsPerRequest === undefined) throw new Error('CPU time is read from /proc, which this system does not have');
      process.stdout.write(
        `round ${round} ${g.name}: ${run.requestsPerSec} req/s, CPU ${run.cpuMsPerRequest.toFixed(2)} ms/request at 50 connections; added p50 ${(spaced - direct).toFixed(3)} ms, 5 ms apart\n`,
      );
    }
  }
}

/** Stops the gateways first and waits for them (they drain their usage records into dynalite), then the backends. */
async function stopAll() {
  const [backends, gateways] = [children.slice(0, 2), children.slice(2)];
  await Promise.all(
    gateways.map(
      (child) =>
        new Promise((exited) => (child.exitCode !== null ? exited(undefined) : (child.once('exit', exited), child.kill('SIGTERM')))),
    ),
  );
  for (const child of backends) child.kill('SIGTERM');
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench:compare failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(stopAll);
