/**
 * Where the gateway's CPU goes under load (`npm run bench:profile`, not part of `npm run bench`): the
 * bench's upstream and dynalite in their own processes, the gateway under `node --cpu-prof` with the
 * limiter and usage records on (or off, with `BENCH_STATELESS=1`), 50 connections for `BENCH_DURATION` seconds (default 10), then the
 * profile's self time grouped by package (or by our own top-level folder), with CPU per request.
 */
import autocannon from 'autocannon';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, requireCpuMs, startBackends, startGateway } from './processes';

const UPSTREAM_KEY = 'sk-bench-profile-upstream';
const GATEWAY_KEY = 'sk-bench-profile-gateway';
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }] });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Self time per group: a package under node_modules, our folder under lambdas/, or Node's internals. */
export function groupProfile(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const url = frame.url;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const own = /\/lambdas\/([^/]+\/[^/]+)/.exec(url)?.[1];
    const group = pkg
      ? pkg
      : own
        ? `lambdas/${own}`
        : url.startsWith('node:')
          ? `node:${url.slice(5).split('/')[0]}`
          : frame.functionName === '(garbage collector)'
            ? '(garbage collector)'
            : frame.functionName === '(idle)'
              ? '(idle)'
              : frame.functionName === '(program)'
                ? '(program)'
                : url
                  ? url.replace(/.*\/work\/[^/]+\//, '')
                  : `(native) ${frame.functionName}`;
    micros.set(group, (micros.get(group) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...micros.entries()].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const seconds = Number(process.env['BENCH_DURATION'] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'ho-profile-'));
  const { upstream, dynamo } = await startBackends(UPSTREAM_KEY);
  const url = await startGateway(
    {
      OPENAI_API_KEY: UPSTREAM_KEY,
      OPENAI_BASE_URL: upstream,
      LOCAL_API_KEY: GATEWAY_KEY,
      DYNAMODB_ENDPOINT: dynamo,
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'INFO',
      // BENCH_STATELESS=1 profiles the stateless path (no limiter write, no usage record) instead.
      ...(process.env['BENCH_STATELESS'] ? { AI_METERING: 'off' } : {}),
    },
    ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  );
  const run = (duration: number) =>
    autocannon({
      url: `${url}/v1/chat/completions`,
      method: 'POST',
      connections: 50,
      duration,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
      body: BODY,
    });
  const warm = await run(3);
  const before = children.map(requireCpuMs);
  const result = await run(seconds);
  const used = children.map((child, i) => requireCpuMs(child) - before[i]!);
  const gateway = children[2]!;
  await new Promise<void>((resolve) => {
    gateway.once('exit', () => resolve());
    gateway.kill('SIGTERM');
  });
  for (const child of children) child.kill('SIGTERM');
  // The profile of the gateway's process (the tsx loader may leave one of its own: the largest is the gateway).
  const files = readdirSync(dir).map((f) => join(dir, f));
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Parameters<typeof groupProfile>[0]);
  const profile = profiles.sort((a, b) => b.samples.length - a.samples.length)[0]!;
  const groups = groupProfile(profile).filter(([group]) => group !== '(idle)');
  const busy = groups.reduce((n, [, us]) => n + us, 0);
  // The profile covers start-up and the warm-up too: CPU per request counts every request it served.
  const requests = warm.requests.total + result.requests.total;
  process.stdout.write(
    `${requests} requests (${result.requests.average} req/s over the measured ${seconds} s); gateway CPU ${(busy / 1000 / requests).toFixed(2)} ms per request, start-up included\n`,
  );
  const names = ['upstream', 'dynalite', 'gateway'];
  process.stdout.write(
    `CPU per request over the measured ${seconds} s, by process: ${names.map((n, i) => `${n} ${(used[i]! / result.requests.total).toFixed(2)} ms`).join(', ')}\n`,
  );
  for (const [group, us] of groups.slice(0, 30)) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${group}\n`);
  if (process.env['BENCH_PROFILE_KEEP']) process.stdout.write(`profile kept in ${dir}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    for (const child of children) child.kill('SIGTERM');
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
