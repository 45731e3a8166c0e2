/**
 * The Bedrock runtime SDK, loaded at the first Bedrock call. In the Lambda bundles it is a file of its
 * own beside the handler (`bedrock-runtime.js`, built by the stack's bundling), so deployments that
 * never call Bedrock do not load or even parse its 100 KiB at cold start; elsewhere it is the package.
 */
import { requireBeside } from '../../aws/beside-handler';

export type BedrockSdk = typeof import('@aws-sdk/client-bedrock-runtime');

/** The file the CDK bundling writes next to the Lambda handler. */
export const BUNDLED_BEDROCK_SDK = 'bedrock-runtime.js';

let sdk: BedrockSdk | undefined;

export function bedrockSdk(): BedrockSdk {
  sdk ??= requireBeside<BedrockSdk>(BUNDLED_BEDROCK_SDK, '@aws-sdk/client-bedrock-runtime');
  return sdk;
}
