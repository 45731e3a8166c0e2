/**
 * The Bedrock runtime SDK, loaded at the first Bedrock call. In the Lambda bundles it is a file of its
 * own beside the handler (`bedrock-runtime.js`, built by the stack's bundling), so deployments that
 * never call Bedrock do not load or even parse its 100 KiB at cold start; elsewhere it is the package.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type BedrockSdk = typeof import('@aws-sdk/client-bedrock-runtime');

/** The file the CDK bundling writes next to the Lambda handler. */
export const BUNDLED_BEDROCK_SDK = 'bedrock-runtime.js';

// A require whose argument is not a literal: bundlers leave it to run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireAtRunTime = (id: string): unknown => require(id);

let sdk: BedrockSdk | undefined;

export function bedrockSdk(): BedrockSdk {
  if (!sdk) {
    const bundled = join(__dirname, BUNDLED_BEDROCK_SDK);
    sdk = requireAtRunTime(existsSync(bundled) ? bundled : '@aws-sdk/client-bedrock-runtime') as BedrockSdk;
  }
  return sdk;
}
