/** Child processes of the bench: started, read until ready, and stopped at the end. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';

const ROOT = join(__dirname, '..');

/** Every child started, in start order (stopped by the caller at the end). */
export const children: ChildProcess[] = [];

/** Clock ticks per second of /proc's CPU times. */
let clockTicks: number | undefined;

/**
 * A process's CPU time so far (user + system, ms, all its threads), from /proc; with `mainThread`, its
 * main thread's alone (where its JavaScript runs); `null` where unavailable.
 */
export function cpuMs(process_: { pid?: number | undefined } | undefined, mainThread = false): number | null {
  try {
    const pid = process_?.pid;
    if (pid === undefined) return null;
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const fields = stat.split(') ')[1]!.split(' ');
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return null;
  }
}

/** `cpuMs` where the measurement needs it (Linux only): throws where /proc is unavailable. */
export function requireCpuMs(process_: { pid?: number | undefined } | undefined): number {
  const ms = cpuMs(process_);
  if (ms === null) throw new Error('CPU time is read from /proc, which this system does not have');
  return ms;
}

/** Peak resident memory of a child process in MiB (Linux /proc), or null where unavailable. */
export function peakRssMiB(child: ChildProcess | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${child?.pid}/status`, 'utf8');
    const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kib ? Math.round(Number(kib) / 1024) : null;
  } catch {
    return null;
  }
}

/** Starts a child in `cwd` (this checkout by default) and resolves what `ready` reads from its first matching stdout line. */
export function start(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => string | undefined,
  cwd = ROOT,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const value = ready(line);
      if (value) {
        clearTimeout(timer);
        // Keep draining stdout (request logs) so the child never blocks on a full pipe.
        lines.removeAllListeners('line');
        child.stdout!.resume();
        resolve(value);
      }
    });
  });
}

/** A simulated provider upstream in its own process (OpenAI's dialect unless `provider` says otherwise); resolves its base URL. */
export function startUpstream(key: string, provider = 'openai'): Promise<string> {
  return start('node', ['--import', 'tsx', 'bench/upstream.ts'], { SIM_KEY: key, SIM_PROVIDER: provider }, (line) =>
    line.startsWith('{') ? (JSON.parse(line) as { url: string }).url : undefined,
  );
}

/**
 * A gateway (`npm start`'s entry) in its own process with `env` (and `nodeArgs` for Node itself), the
 * limiter on with limits no bench load reaches; from the checkout `cwd` (this one by default); resolves its URL.
 */
export function startGateway(env: Record<string, string>, nodeArgs: string[] = [], cwd = ROOT): Promise<string> {
  return start(
    'node',
    [...nodeArgs, '--import', 'tsx', 'lambdas/local/main.ts'],
    {
      PORT: '0',
      RATE_LIMIT_POLICIES: JSON.stringify({
        ai_requests: { minute: 1e9, hour: 1e9, day: 1e9 },
        quotas: { pro: { day: 1e12, month: 1e12 } },
      }),
      ...env,
    },
    (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
    cwd,
  );
}

/** The bench's upstream (the simulated OpenAI provider) and DynamoDB engine, each in its own process. */
export async function startBackends(upstreamKey: string): Promise<{ upstream: string; dynamo: string }> {
  const upstream = await startUpstream(upstreamKey);
  // DynamoDB is a separate service on AWS: here, a dynalite process of its own.
  const dynamo = await start('node', ['--import', 'tsx', 'bench/dynalite.ts'], {}, (line) =>
    line.startsWith('{') ? (JSON.parse(line) as { endpoint: string }).endpoint : undefined,
  );
  return { upstream, dynamo };
}

/** Runs `main` with the backends started, then stops every child (the standalone entry of a bench module). */
export function standalone(upstreamKey: string, main: (backends: { upstream: string; dynamo: string }) => Promise<unknown>): void {
  void (async () => {
    try {
      const result = await main(await startBackends(upstreamKey));
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } finally {
      for (const child of children) child.kill('SIGTERM');
    }
  })();
}

/**
 * Sends `count` requests on one keep-alive connection, back to back or `gapMs` apart, and returns their
 * times in ms, sorted (autocannon reports whole milliseconds; this is finer).
 */
export async function sequentialTimes(
  url: string,
  headers: Record<string, string>,
  body: string,
  count: number,
  gapMs = 0,
): Promise<number[]> {
  const agent = new Agent({ connections: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        dispatcher: agent,
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`sequential probe: HTTP ${response.statusCode}`);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  } finally {
    await agent.close();
  }
  return times.sort((a, b) => a - b);
}

/** The chat request the measurements send (a short answer from the simulated upstream), and its JSON. */
export const CHAT_REQUEST = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Write a short hello to Sam.' }],
  max_tokens: 64,
};
export const CHAT_BODY = JSON.stringify(CHAT_REQUEST);

/** One autocannon run's outcome. */
export interface Run {
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

/** autocannon POSTing `CHAT_BODY` to `url` on `connections` connections for `duration` seconds. */
export async function load(url: string, headers: Record<string, string>, connections: number, duration: number): Promise<Run> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: CHAT_BODY,
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

/** A server under measurement. */
export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The server's process, whose CPU per request is measured at each load (absent: not measured). */
  process?: ChildProcess;
  /** The other processes its requests pass through (the upstream, the DynamoDB engine), measured over the same loads. */
  backends?: Record<string, ChildProcess>;
}

export type MeasuredRun = Run & {
  cpuMsPerRequest?: number;
  cpuMs?: number;
  /** The server's main thread's share of `cpuMs`. */
  mainThreadCpuMs?: number;
  /**
   * CPU over the load and `SETTLE_MS` after it (ms) of each of the target's backends, and of this process
   * (`bench`: autocannon, and reading the children's output, the servers' request log lines included).
   */
  machineCpuMs?: Record<string, number>;
};

/**
 * How long after a load its post-response work (usage records; batched aggregates, `AGGREGATION_BATCH_MS`
 * 500 ms by default) is still counted. Runs before 2026-11-27 06:45 UTC did not wait.
 */
export const SETTLE_MS = 1000;

/** CPU readings (ms) of a target's processes at one moment: the server first, then its backends; `null` where unreadable. */
export interface CpuReading {
  processes: Array<number | null>;
  /** The server's main thread. */
  mainThread: number | null;
}

/**
 * A load's CPU from readings before and after it: the server's and its main thread's, and every other
 * process's (with `benchMs`, this process's) only when every one of them was read: a budget missing one
 * (a backend that died) would overstate the ceiling. Nothing when the server was not read or no request
 * was answered.
 */
export function cpuOfLoad(
  loaded: Run,
  backendNames: readonly string[],
  before: CpuReading,
  after: CpuReading,
  benchMs: number,
): Pick<MeasuredRun, 'cpuMs' | 'cpuMsPerRequest' | 'mainThreadCpuMs' | 'machineCpuMs'> {
  const used = before.processes.map((b, i) => {
    const a = after.processes[i];
    return b === null || a === null || a === undefined ? null : a - b;
  });
  const server = used[0];
  if (server === null || server === undefined || loaded.requests === 0) return {};
  const out: Pick<MeasuredRun, 'cpuMs' | 'cpuMsPerRequest' | 'mainThreadCpuMs' | 'machineCpuMs'> = {
    cpuMs: server,
    cpuMsPerRequest: Number((server / loaded.requests).toFixed(2)),
  };
  if (before.mainThread !== null && after.mainThread !== null) out.mainThreadCpuMs = after.mainThread - before.mainThread;
  if (used.length === backendNames.length + 1 && used.every((ms) => ms !== null))
    out.machineCpuMs = Object.fromEntries([...backendNames.map((name, i) => [name, used[i + 1]!] as const), ['bench', benchMs] as const]);
  return out;
}

/**
 * One load with the server's CPU over it and `SETTLE_MS` after (its post-response work), and that of
 * every other process it keeps busy (not measured where /proc is unavailable); throws on any non-2xx
 * answer or error.
 */
export async function loadWithCpu(target: Target, connections: number, duration: number): Promise<MeasuredRun> {
  const backends = Object.entries(target.backends ?? {});
  const read = (): CpuReading => ({
    processes: [cpuMs(target.process), ...backends.map(([, child]) => cpuMs(child))],
    mainThread: cpuMs(target.process, true),
  });
  const before = read();
  const ownBefore = process.cpuUsage();
  const loaded = await load(target.url, target.headers, connections, duration);
  if (loaded.non2xx > 0 || loaded.errors > 0)
    throw new Error(`${target.name}: ${loaded.non2xx} non-2xx answers and ${loaded.errors} errors at ${connections} connections`);
  if (target.process === undefined) return loaded;
  // Also where /proc is unreadable: the next measurement must not overlap this load's leftover work.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const own = process.cpuUsage(ownBefore);
  const cpu = cpuOfLoad(
    loaded,
    backends.map(([name]) => name),
    before,
    read(),
    (own.user + own.system) / 1000,
  );
  return { ...loaded, ...cpu };
}

/**
 * CPU per request of every process a target's loads kept busy (the server, its backends, the bench
 * process) and an estimate of the req/s that allows on `cores` if the work were spread over them
 * perfectly; and the server's main thread's CPU per request and the req/s one thread allows at that.
 */
export function machineBudget(
  loads: readonly MeasuredRun[],
  cores: number,
):
  | {
      msPerRequest: Record<string, number>;
      totalMsPerRequest: number;
      ceilingReqPerSec: number;
      mainThreadMsPerRequest?: number;
      mainThreadCeilingReqPerSec?: number;
    }
  | undefined {
  const requests = loads.reduce((n, l) => n + l.requests, 0);
  if (requests === 0 || loads.some((l) => l.cpuMs === undefined || l.machineCpuMs === undefined)) return undefined;
  const names = Object.keys(loads[0]!.machineCpuMs!).sort();
  if (loads.some((l) => Object.keys(l.machineCpuMs!).sort().join() !== names.join())) return undefined;
  const totals: Record<string, number> = { server: 0 };
  for (const l of loads) {
    totals['server']! += l.cpuMs!;
    for (const [name, ms] of Object.entries(l.machineCpuMs!)) totals[name] = (totals[name] ?? 0) + ms;
  }
  const msPerRequest = Object.fromEntries(Object.entries(totals).map(([name, ms]) => [name, Number((ms / requests).toFixed(3))]));
  const total = Object.values(totals).reduce((a, b) => a + b, 0) / requests;
  // Readings in clock ticks (10 ms): a load too short to register gives no estimate rather than Infinity.
  if (!(total > 0)) return undefined;
  const budget = { msPerRequest, totalMsPerRequest: Number(total.toFixed(3)), ceilingReqPerSec: Math.round((cores * 1000) / total) };
  if (loads.some((l) => l.mainThreadCpuMs === undefined)) return budget;
  const mainThread = loads.reduce((n, l) => n + l.mainThreadCpuMs!, 0) / requests;
  if (!(mainThread > 0)) return budget;
  return { ...budget, mainThreadMsPerRequest: Number(mainThread.toFixed(3)), mainThreadCeilingReqPerSec: Math.round(1000 / mainThread) };
}

/** `items` in round `round`'s order: forwards on even rounds, backwards on odd ones, so no item always follows the same neighbour. */
export function inRoundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/** The value at quantile `q` (0.5: p50) of an ascending sample, unrounded. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
