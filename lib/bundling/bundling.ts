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
