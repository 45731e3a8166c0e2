/**
 * OpenAI (api.openai.com, or any OpenAI-compatible base URL): the official `openai` SDK client,
 * `Authorization: Bearer` keys. Locally `OPENAI_API_KEY` and `OPENAI_BASE_URL`; on AWS a secret.
 */
import OpenAI from 'openai';
import * as z from 'zod';
import { envString, envUrl } from '../../environment/env-schemas';
import { OpenAiSdkProvider, providerFetch } from '../openai-compatible/openai-sdk-provider';
import { openAiDialect } from '../openai-compatible/simulated-dialect';
import { defineProvider } from '../provider-module';

const Credentials = z.object({
  apiKey: z.string().min(1),
  baseURL: z.url().optional(),
  organization: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
});

export const openAiProvider = defineProvider({
  id: 'openai',
  credentials: Credentials,
  environment: {
    variables: { OPENAI_API_KEY: envString, OPENAI_BASE_URL: envUrl },
    credentials: (env) =>
      env['OPENAI_API_KEY'] === undefined
        ? undefined
        : { apiKey: env['OPENAI_API_KEY'], ...(env['OPENAI_BASE_URL'] ? { baseURL: env['OPENAI_BASE_URL'] } : {}) },
  },
  aws: { secretIdVariable: 'OPENAI_SECRET_ID', secretTemplate: { apiKey: '' }, outputName: 'OpenAiSecretArn' },
  create: ({ apiKey, baseURL, organization, project }) =>
    new OpenAiSdkProvider(
      'openai',
      new OpenAI({
        maxRetries: 0,
        fetch: providerFetch,
        apiKey,
        baseURL: baseURL ?? 'https://api.openai.com/v1',
        organization: organization ?? null,
        project: project ?? null,
      }),
    ),
  simulation:
    process.env['HO_LAMBDA_BUNDLE'] === 'true' ? undefined : { ...openAiDialect, credentials: (baseURL, apiKey) => ({ apiKey, baseURL }) },
});
