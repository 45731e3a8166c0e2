/**
 * What the Lambda bundles replace, shared by the CDK functions and `npm run bench`'s bundle
 * measurement so the two stay the same bundle.
 */
import { join } from 'node:path';

const HERE = __dirname;

/** Package -> file that stands in for it (esbuild `alias`). */
export const LAMBDA_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': join(HERE, 'lambda-credentials.ts'),
  bowser: join(HERE, 'no-browser-user-agent.ts'),
};

/** The same, as esbuild command-line arguments (for `NodejsFunction`'s `esbuildArgs`). */
export function aliasArgs(): Record<string, string> {
  return Object.fromEntries(Object.entries(LAMBDA_ALIASES).map(([from, to]) => [`--alias:${from}`, to]));
}

/**
 * A shell command for `afterBundling` that bundles `entry` (a path under the project) into a file of its
 * own beside the handler, with the same aliases: code loaded at run time only when first needed.
 */
export function sideBundle(inputDir: string, outputDir: string, entry: string, outfile: string): string {
  const aliases = Object.entries(aliasArgs())
    .map(([flag, file]) => `"${flag}=${file}"`)
    .join(' ');
  return `"${inputDir}/node_modules/.bin/esbuild" "${inputDir}/${entry}" --bundle --platform=node --format=cjs --target=node22 --minify --log-level=warning ${aliases} --outfile="${outputDir}/${outfile}"`;
}

/** The Bedrock runtime SDK as its own file (see `lambdas/adapters/providers/bedrock/sdk.ts`). */
export const BEDROCK_SDK_ENTRY = 'node_modules/@aws-sdk/client-bedrock-runtime/dist-cjs/index.js';
