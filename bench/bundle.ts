/**
 * Lambda bundle size and module load time: bundles lambdas/handlers/gateway.ts as the CDK does
 * (esbuild, node22, CJS, minified) and times `require()` of it in fresh Node processes, which is
 * the part of a cold start this code controls.
 */
import { build } from 'esbuild';
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUNDLED_BEDROCK_SDK } from '../lambdas/adapters/providers/bedrock/sdk';
import { BEDROCK_SDK_ENTRY, lambdaBuildOptions, sideBundle } from '../lib/bundling/bundling';

export interface BundleReport {
  bytes: number;
  requireMsMedian: number;
  /** The Bedrock SDK's own file, loaded at the first Bedrock call only: its size and the median `require()` of it. */
  bedrockSdk?: { bytes: number; requireMsMedian: number };
}

/**
 * Builds the bundle and times `require()` in `runs` fresh processes (median). With `cgroup`, each
 * process runs in that CPU cgroup (see bench/memory.ts: a Lambda memory size's CPU share).
 */
export async function measureBundle(runs = 7, cgroup?: string): Promise<BundleReport> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'ho-bundle-')), 'index.js');
  await build(lambdaBuildOptions(join(__dirname, '..', 'lambdas', 'handlers', 'gateway.ts'), outfile));
  // Lambda's runtime provides `awslambda`; outside it, a stand-in lets the module load.
  const script = `globalThis.awslambda={streamifyResponse:f=>f,HttpResponseStream:{from:s=>s}};const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write('\\nREQUIRE_MS='+String(Number(process.hrtime.bigint()-t)/1e6)+'\\n');process.exit(0)`;
  const env = { ...process.env, AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'SILENT' };
  // The module may log while it loads (a cold start's first flag refresh): read the marked line.
  const times = Array.from({ length: runs }, () =>
    Number(
      /REQUIRE_MS=([\d.]+)/.exec(
        (cgroup
          ? execFileSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, script], {
              env,
              stdio: ['ignore', 'pipe', 'pipe'],
            })
          : execFileSync(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
        ).toString(),
      )?.[1],
    ),
  );
  times.sort((a, b) => a - b);
  const report = { bytes: statSync(outfile).size, requireMsMedian: Number(times[Math.floor(runs / 2)]!.toFixed(1)) };
  if (cgroup) return report;
  const sdkFile = join(dirname(outfile), BUNDLED_BEDROCK_SDK);
  execSync(sideBundle(join(__dirname, '..'), dirname(outfile), BEDROCK_SDK_ENTRY, BUNDLED_BEDROCK_SDK), { stdio: 'pipe' });
  const sdkScript = `const t=process.hrtime.bigint();require(${JSON.stringify(sdkFile)});process.stdout.write('REQUIRE_MS='+String(Number(process.hrtime.bigint()-t)/1e6))`;
  const sdkTimes = Array.from({ length: runs }, () =>
    Number(/REQUIRE_MS=([\d.]+)/.exec(execFileSync(process.execPath, ['-e', sdkScript], { env }).toString())?.[1]),
  ).sort((a, b) => a - b);
  return { ...report, bedrockSdk: { bytes: statSync(sdkFile).size, requireMsMedian: Number(sdkTimes[Math.floor(runs / 2)]!.toFixed(1)) } };
}

if (require.main === module) {
  void measureBundle().then((r) =>
    process.stdout.write(
      `bundle ${(r.bytes / 1024).toFixed(0)} KiB, require() median ${r.requireMsMedian} ms; Bedrock SDK file ${((r.bedrockSdk?.bytes ?? 0) / 1024).toFixed(0)} KiB, require() median ${r.bedrockSdk?.requireMsMedian} ms\n`,
    ),
  );
}
