/**
 * Lambda memory sizing with evidence. A Lambda function gets CPU in proportion to its memory (1,769 MB
 * is one vCPU); here each size's share is given to the gateway with a CPU cgroup quota (cgroup v1
 * `cpu.cfs_quota_us`, or v2 `cpu.max`), and at each size the bench measures what that share costs:
 * `require()` of the Lambda bundle (the cold start this code controls), the latency the gateway adds
 * at one connection with the limiter and usage records on, and its CPU time per request. With the
 * arm64 list price it gives the cost per million requests at 1 s and 3 s of provider time.
 *
 * Needs a writable cgroup hierarchy (root in a container or VM); elsewhere it says why and skips.
 *
 *   tsx bench/memory.ts          (standalone: starts its own upstream and dynalite)
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { measureBundle } from './bundle';
import { CHAT_BODY as BODY, children, quantile, requireCpuMs, peakRssMiB, sequentialTimes, standalone, start } from './processes';

/** The sizes considered: Lambda's floor for this workload (RSS) up to one full vCPU. */
export const MEMORY_SIZES_MB = [512, 768, 1024, 1536, 1769] as const;
const ONE_VCPU_MB = 1769;
/** arm64, us-east-1 list prices (aws.amazon.com/lambda/pricing, first 7.5 billion GB-s a month). */
const PRICE_PER_GB_SECOND = 0.0000133334;
const PRICE_PER_MILLION_REQUESTS = 0.2;
/**
 * The quota's period. Lambda does not publish how it enforces the share; a short period holds the
 * share over a request's own few milliseconds (a 100 ms period would let a short request burst at full
 * speed and hide the cost until p99), so this errs on the slow side.
 */
const PERIOD_US = Number(process.env['BENCH_CFS_PERIOD_US'] ?? 10_000);
const KEY = 'sk-bench-memory-user';

export interface MemorySize {
  memoryMb: number;
  vcpu: number;
  requireMsMedian: number;
  /** One connection, requests back to back: the gateway's p50 / p99 minus the direct path's. */
  addedP50Ms: number;
  addedP99Ms: number;
  cpuMsPerRequest: number;
  /** Billed duration = provider time + the added p50; arm64 price; requests included. */
  usdPerMillion: { provider1s: number; provider3s: number };
}

export type MemorySizing =
  { skipped: string } | { method: string; requests: number; directP50Ms: number; gatewayPeakRssMiB: number | null; sizes: MemorySize[] };

/** A CPU cgroup limited to `vcpu` of one CPU, or why none can be made here. */
function cpuCgroup(name: string, vcpu: number): { path: string; remove(): void } | { skipped: string } {
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  const quota = Math.round(vcpu * PERIOD_US);
  try {
    if (existsSync(`${v1}/cpu.cfs_quota_us`)) {
      const path = `${v1}/${name}`;
      mkdirSync(path, { recursive: true });
      writeFileSync(`${path}/cpu.cfs_period_us`, String(PERIOD_US));
      writeFileSync(`${path}/cpu.cfs_quota_us`, String(quota));
      return { path, remove: () => rmdirSync(path) };
    }
    if (existsSync(`${v2}/cgroup.controllers`)) {
      const path = `${v2}/${name}`;
      mkdirSync(path, { recursive: true });
      writeFileSync(`${path}/cpu.max`, `${quota} ${PERIOD_US}`);
      return { path, remove: () => rmdirSync(path) };
    }
    return { skipped: 'no CPU cgroup controller at /sys/fs/cgroup' };
  } catch (error) {
    return { skipped: `cannot create a CPU cgroup (${(error as Error).message}); run as root to measure memory sizes` };
  }
}

async function sequential(url: string, headers: Record<string, string>, count: number): Promise<{ p50: number; p99: number }> {
  const times = await sequentialTimes(url, headers, BODY, count);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function measureMemorySizes(options: {
  upstream: string;
  upstreamKey: string;
  dynamo: string;
  requests?: number;
}): Promise<MemorySizing> {
  const requests = options.requests ?? Number(process.env['BENCH_MEMORY_REQUESTS'] ?? 1000);
  const probe = cpuCgroup('ho-bench-probe', 1);
  if ('skipped' in probe) return probe;
  probe.remove();
  const direct = await sequential(`${options.upstream}/chat/completions`, { authorization: `Bearer ${options.upstreamKey}` }, requests);
  const sizes: MemorySize[] = [];
  let gatewayPeakRssMiB: number | null = null;
  for (const memoryMb of MEMORY_SIZES_MB) {
    const vcpu = Math.min(1, memoryMb / ONE_VCPU_MB);
    const group = cpuCgroup(`ho-bench-${memoryMb}`, vcpu);
    if ('skipped' in group) return group;
    try {
      const bundle = await measureBundle(7, group.path);
      const url = await start(
        'sh',
        ['-c', `echo $$ > ${group.path}/cgroup.procs && exec "$0" --import tsx lambdas/local/main.ts`, process.execPath],
        {
          PORT: '0',
          OPENAI_API_KEY: options.upstreamKey,
          OPENAI_BASE_URL: options.upstream,
          LOCAL_API_KEY: KEY,
          DYNAMODB_ENDPOINT: options.dynamo,
          LOG_LEVEL: 'WARN',
          RATE_LIMIT_POLICIES: JSON.stringify({
            ai_requests: { minute: 1e9, hour: 1e9, day: 1e9 },
            quotas: { pro: { day: 1e12, month: 1e12 } },
          }),
        },
        (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
      );
      const gateway = children[children.length - 1]!;
      const endpoint = `${url}/v1/chat/completions`;
      const headers = { authorization: `Bearer ${KEY}` };
      await sequential(endpoint, headers, Math.min(300, requests)); // JIT, pools, key cache
      const cpuBefore = requireCpuMs(gateway);
      const measured = await sequential(endpoint, headers, requests);
      const cpuPerRequest = (requireCpuMs(gateway) - cpuBefore) / requests;
      gatewayPeakRssMiB = Math.max(gatewayPeakRssMiB ?? 0, peakRssMiB(gateway) ?? 0);
      await new Promise<void>((resolve) => {
        gateway.removeAllListeners('exit');
        gateway.once('exit', () => resolve());
        gateway.kill('SIGTERM');
      });
      const addedP50 = measured.p50 - direct.p50;
      const cost = (providerSeconds: number) =>
        round((memoryMb / 1024) * (providerSeconds + addedP50 / 1000) * PRICE_PER_GB_SECOND * 1e6 + PRICE_PER_MILLION_REQUESTS);
      const size: MemorySize = {
        memoryMb,
        vcpu: round(vcpu, 3),
        requireMsMedian: bundle.requireMsMedian,
        addedP50Ms: round(addedP50, 3),
        addedP99Ms: round(measured.p99 - direct.p99, 3),
        cpuMsPerRequest: round(cpuPerRequest, 3),
        usdPerMillion: { provider1s: cost(1), provider3s: cost(3) },
      };
      sizes.push(size);
      process.stdout.write(
        `  ${String(memoryMb).padStart(5)} MB (${size.vcpu} vCPU): require ${size.requireMsMedian} ms, added p50 ${size.addedP50Ms} ms / p99 ${size.addedP99Ms} ms, ` +
          `CPU ${size.cpuMsPerRequest} ms/request, $${size.usdPerMillion.provider1s} / $${size.usdPerMillion.provider3s} per million at 1 s / 3 s of provider time\n`,
      );
    } finally {
      group.remove();
    }
  }
  return {
    method: 'CPU cgroup quota = memory / 1,769 MB of one CPU',
    requests,
    directP50Ms: round(direct.p50, 3),
    gatewayPeakRssMiB,
    sizes,
  };
}

if (require.main === module) {
  standalone('sk-bench-upstream', ({ upstream, dynamo }) => measureMemorySizes({ upstream, upstreamKey: 'sk-bench-upstream', dynamo }));
}
