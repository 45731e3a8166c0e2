/**
 * Amazon Bedrock (Claude, Llama, Mistral, Nova...) through the Converse API, signed with IAM: no key.
 * Configured by `BEDROCK_REGION` (the stack sets it on AWS, where the function's role is granted the
 * route table's models and inference profiles), with `BEDROCK_ENDPOINT` for a VPC endpoint. Locally the
 * SDK's credential chain signs (environment, profile, SSO...). The route table's `deployments` map the
 * public model names to Bedrock model ids or inference profiles (`us.anthropic.claude-...` for
 * cross-region inference).
 */
import * as z from 'zod';
import { ConfigError } from '../../../core/errors';
import { envString, envUrl } from '../../environment/env-schemas';
import { defineProvider } from '../provider-module';
import { BedrockProvider } from './bedrock-provider';
import { bedrockDialect } from './simulated-dialect';

const Credentials = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1'),
    endpoint: z.url().optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
  })
  .refine((c) => (c.accessKeyId === undefined) === (c.secretAccessKey === undefined), 'accessKeyId and secretAccessKey go together');

export const bedrockProvider = defineProvider({
  id: 'bedrock',
  credentials: Credentials,
  environment: {
    variables: { BEDROCK_REGION: envString, BEDROCK_ENDPOINT: envUrl },
    credentials: (env) => {
      if (env['BEDROCK_REGION'] === undefined) {
        if (env['BEDROCK_ENDPOINT'] !== undefined) throw new ConfigError('BEDROCK_ENDPOINT needs BEDROCK_REGION');
        return undefined;
      }
      return { region: env['BEDROCK_REGION'], ...(env['BEDROCK_ENDPOINT'] ? { endpoint: env['BEDROCK_ENDPOINT'] } : {}) };
    },
  },
  create: (credentials) => new BedrockProvider('bedrock', credentials),
  simulation:
    process.env['HO_LAMBDA_BUNDLE'] === 'true'
      ? undefined
      : {
          ...bedrockDialect,
          // The simulator checks the access key id of the SigV4 signature.
          credentials: (endpoint, key) => ({ region: 'us-east-1', endpoint, accessKeyId: key, secretAccessKey: key }),
        },
});
