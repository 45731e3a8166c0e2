/**
 * Azure OpenAI: the `openai` SDK's `AzureOpenAI` client, `api-key` header, deployment names in the
 * path and an `api-version` query. Locally `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_ENDPOINT` and
 * `OPENAI_API_VERSION`; on AWS a secret. The route table maps models to deployments.
 */
import { AzureOpenAI } from 'openai';
import * as z from 'zod';
import { ConfigError } from '../../../core/errors';
import { envString, envUrl } from '../../environment/env-schemas';
import { OpenAiSdkProvider, providerFetch } from '../openai-compatible/openai-sdk-provider';
import { defineProvider } from '../provider-module';

const DEFAULT_API_VERSION = '2024-10-21';
const SIMULATED_API_VERSION = '2025-04-01-preview';

/** Azure serves the Responses API from api-version 2025-03-01-preview on (and as `preview`, `latest`, `v1`). */
export function servesResponses(apiVersion: string): boolean {
  return (
    ['preview', 'latest', 'v1'].includes(apiVersion) || (/^\d{4}-\d{2}-\d{2}/.test(apiVersion) && apiVersion.slice(0, 10) >= '2025-03-01')
  );
}

const Credentials = z.object({
  apiKey: z.string().min(1),
  endpoint: z.url(),
  apiVersion: z.string().min(1).default(DEFAULT_API_VERSION),
});

export const azureOpenAiProvider = defineProvider({
  id: 'azure-openai',
  credentials: Credentials,
  environment: {
    variables: {
      AZURE_OPENAI_API_KEY: envString,
      AZURE_OPENAI_ENDPOINT: envUrl,
      OPENAI_API_VERSION: z.string().min(1).default(DEFAULT_API_VERSION),
    },
    credentials: (env) => {
      const [apiKey, endpoint] = [env['AZURE_OPENAI_API_KEY'], env['AZURE_OPENAI_ENDPOINT']];
      if ((apiKey === undefined) !== (endpoint === undefined))
        throw new ConfigError('AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT must be set together');
      return apiKey === undefined ? undefined : { apiKey, endpoint, apiVersion: env['OPENAI_API_VERSION'] };
    },
  },
  aws: {
    secretIdVariable: 'AZURE_OPENAI_SECRET_ID',
    secretTemplate: { apiKey: '', endpoint: '', apiVersion: DEFAULT_API_VERSION },
    outputName: 'AzureOpenAiSecretArn',
  },
  create: ({ apiKey, endpoint, apiVersion }) =>
    new OpenAiSdkProvider(
      'azure-openai',
      // baseURL instead of `endpoint`: the SDK would otherwise also read OPENAI_BASE_URL meant for OpenAI.
      new AzureOpenAI({ maxRetries: 0, fetch: providerFetch, apiKey, apiVersion, baseURL: `${endpoint.replace(/\/+$/, '')}/openai` }),
      new Set(servesResponses(apiVersion) ? ['embeddings', 'responses'] : ['embeddings']),
    ),
  simulation:
    process.env['HO_LAMBDA_BUNDLE'] === 'true'
      ? undefined
      : {
          baseUrl: (origin) => origin,
          route: ({ method, url, headers }, apiKey) => {
            if (method !== 'POST')
              return { accepted: false, status: 405, type: 'invalid_request_error', error: 'Simulated upstream: use POST.' };
            // Deployment routes name the deployment in the path; the Responses API takes it as the body's `model`.
            const match = /^\/openai\/(?:deployments\/([^/]+)\/(chat\/completions|embeddings)|(responses))$/.exec(url.pathname);
            if (!match) return { accepted: false, status: 404, type: 'invalid_request_error', error: 'Resource not found' };
            if (!url.searchParams.get('api-version'))
              return { accepted: false, status: 400, type: 'invalid_request_error', error: 'api-version query parameter is required.' };
            if (headers['api-key'] !== apiKey) {
              return {
                accepted: false,
                status: 401,
                type: 'invalid_request_error',
                error: 'Access denied due to invalid subscription key or wrong API endpoint.',
              };
            }
            if (match[3]) return { accepted: true, operation: 'responses' };
            return { accepted: true, model: decodeURIComponent(match[1]!), operation: match[2] === 'embeddings' ? 'embeddings' : 'chat' };
          },
          choiceExtras: { content_filter_results: { hate: { filtered: false, severity: 'safe' } } },
          // Azure opens streams with its prompt filter results, in a chunk that is not an OpenAI chunk.
          streamPreamble: [
            JSON.stringify({
              choices: [],
              created: 0,
              id: '',
              model: '',
              object: '',
              prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
            }),
          ],
          // A Responses-capable version, so the simulated Azure takes part in /v1/responses fallback too.
          credentials: (endpoint, apiKey) => ({ apiKey, endpoint, apiVersion: SIMULATED_API_VERSION }),
        },
});
