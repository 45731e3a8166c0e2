/**
 * Any OpenAI-compatible endpoint as a provider (Gemini's OpenAI endpoint, Mistral, Groq, Together,
 * vLLM, Ollama...): one instance per route-table entry of `type: "openai-compatible"`, named by the
 * entry's id, with its base URL, models and optional headers in the route table and its key in the
 * environment (`<ID>_API_KEY`, the id upper-cased with `-` as `_`) or, on AWS, in a secret of its own.
 */
import OpenAI from 'openai';
import * as z from 'zod';
import type { ProviderCatalog } from '../../../core/ai/route-table';
import { envString } from '../../environment/env-schemas';
import { defineProvider, type RegisteredProvider } from '../provider-module';
import { OpenAiSdkProvider, providerFetch } from './openai-sdk-provider';
import { openAiDialect } from './simulated-dialect';

/** `groq` -> `GROQ`, `together-ai` -> `TOGETHER_AI`: the prefix of the instance's variables. */
export function environmentPrefix(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

/** Sent as the key of an endpoint that takes none (a local Ollama or vLLM), which ignores it. */
const NO_KEY = 'none';

export function openAiCompatibleProvider(id: string, catalog: ProviderCatalog): RegisteredProvider {
  const prefix = environmentPrefix(id);
  const keyVariable = `${prefix}_API_KEY`;
  const pascal = id.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
  // Its key, and a base URL that replaces the route table's (the simulated upstream's, or one kept in
  // the secret). An endpoint that takes no key is configured with an empty secret too.
  const credentials = z.object({
    apiKey: catalog.apiKeyRequired === false ? z.string().transform((key) => key || NO_KEY) : z.string().min(1),
    baseURL: z.url().optional(),
  });
  return defineProvider({
    id,
    credentials,
    environment: {
      variables: { [keyVariable]: envString },
      credentials: (env) =>
        env[keyVariable] !== undefined ? { apiKey: env[keyVariable] } : catalog.apiKeyRequired === false ? { apiKey: NO_KEY } : undefined,
    },
    aws: { secretIdVariable: `${prefix}_SECRET_ID`, secretTemplate: { apiKey: '' }, outputName: `${pascal}SecretArn` },
    create: ({ apiKey, baseURL }) =>
      new OpenAiSdkProvider(
        id,
        new OpenAI({
          maxRetries: 0,
          fetch: providerFetch,
          apiKey,
          baseURL: baseURL ?? catalog.baseURL!,
          defaultHeaders: catalog.headers ?? {},
        }),
        new Set(catalog.responsesApi ? ['embeddings', 'responses'] : ['embeddings']),
      ),
    simulation:
      process.env['HO_LAMBDA_BUNDLE'] === 'true'
        ? undefined
        : { ...openAiDialect, credentials: (baseURL, apiKey) => ({ apiKey, baseURL }) },
  });
}
