import { build } from 'esbuild';
import { LAMBDA_ALIASES } from '../lib/bundling/bundling';
(async () => {
  for (const mainFields of [undefined, ['module', 'main']]) {
  const r = await build({ entryPoints: ['lambdas/handlers/gateway.ts'], bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true, outfile: '/tmp/meta-out/index.js', metafile: true, logLevel: 'silent', alias: LAMBDA_ALIASES, ...(mainFields ? { mainFields } : {}) });
  const out = Object.values(r.metafile!.outputs)[0]!;
  const byPkg: Record<string, number> = {};
  for (const [file, info] of Object.entries(out.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = m ? m[1]! : file.includes('simulat') ? 'SIM ' + file : file.startsWith('lambdas') ? 'lambdas/' + file.split('/')[1] : file;
    byPkg[key] = (byPkg[key] ?? 0) + info.bytesInOutput;
  }
  console.log(String(mainFields), 'total', (out.bytes / 1024).toFixed(0), 'KiB');
  for (const [k, v] of Object.entries(byPkg).sort((a, b) => b[1] - a[1]).slice(0, 24)) console.log((v / 1024).toFixed(1).padStart(8), k);
  }
})();
