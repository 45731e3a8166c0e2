/**
 * What the Lambda bundles replace, shared by the CDK functions and `npm run bench`'s bundle
 * measurement so the two stay the same bundle.
 */
import { join } from 'node:path';
import { BUNDLED_SNS, BUNDLED_SQS } from '../../lambdas/adapters/aws/beside-handler';

const HERE = __dirname;

/** Package -> file that stands in for it (esbuild `alias`). */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': join(HERE, 'lambda-credentials.ts'),
  bowser: join(HERE, 'no-browser-user-agent.ts'),
};

/**
 * Package entry points, ESM first: the AWS SDK's `module` builds let esbuild drop the commands and
 * schemas a client is never sent (the CommonJS `main` builds are one module per client, kept whole).
 * Measured: the gateway bundle 1,043 -> 894 KiB (876 KiB with the lazily loaded clients in modules of their own).
 */
export const LAMBDA_MAIN_FIELDS = ['module', 'main'];

/**
 * Build-time constants of the Lambda bundles (esbuild `define`): `HO_LAMBDA_BUNDLE` drops the code only
 * a laptop runs, such as the simulated upstreams' wire dialects (see `ProviderModule.simulation`).
 */
export const LAMBDA_DEFINE: Record<string, string> = { 'process.env.HO_LAMBDA_BUNDLE': JSON.stringify('true') };

/** esbuild options equal to the CDK's Lambda bundling (what the bench measures and a test runs). */
export function lambdaBuildOptions(entry: string, outfile: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node' as const,
    target: 'node22',
    format: 'cjs' as const,
    minify: true,
    outfile,
    logLevel: 'silent' as const,
    alias: LAMBDA_ALIASES,
    mainFields: LAMBDA_MAIN_FIELDS,
    define: LAMBDA_DEFINE,
  };
}

/** The same, as esbuild command-line arguments (for `NodejsFunction`'s `esbuildArgs`). */
export function aliasArgs(): Record<string, string> {
  return Object.fromEntries(Object.entries(LAMBDA_ALIASES).map(([from, to]) => [`--alias:${from}`, to]));
}

/**
 * A shell command for `afterBundling` that bundles `entry` (a path under the project) into a file of its
 * own beside the handler, with the same aliases and build-time constants, and its source map (for
 * `npm run symbolicate`): code loaded at run time only when first needed.
 */
export function sideBundle(inputDir: string, outputDir: string, entry: string, outfile: string): string {
  const aliases = Object.entries(aliasArgs())
    .map(([flag, file]) => `"${flag}=${file}"`)
    .join(' ');
  const defines = Object.entries(LAMBDA_DEFINE)
    .map(([name, value]) => `'--define:${name}=${value}'`)
    .join(' ');
  return `"${inputDir}/node_modules/.bin/esbuild" "${inputDir}/${entry}" --bundle --platform=node --format=cjs --target=node22 --minify --sourcemap --main-fields=${LAMBDA_MAIN_FIELDS.join(',')} --log-level=warning ${aliases} ${defines} --outfile="${outputDir}/${outfile}"`;
}

/** The Bedrock runtime SDK as its own file (see `lambdas/adapters/providers/bedrock/sdk.ts`). */
export const BEDROCK_SDK_ENTRY = 'node_modules/@aws-sdk/client-bedrock-runtime/dist-cjs/index.js';

/**
 * Our own modules every Lambda ships as files of their own beside its handler, loaded at their first
 * use (`requireBeside`): SNS for alerts and SQS for spilled usage records, which most invocations never
 * need. Each function's bundling writes them (see `nodeFunction`).
 */
export const AWS_CLIENT_SIDE_FILES: ReadonlyArray<{ entry: string; file: string }> = [
  { entry: 'lambdas/adapters/aws/sns-client.ts', file: BUNDLED_SNS },
  { entry: 'lambdas/adapters/aws/sqs-client.ts', file: BUNDLED_SQS },
];
