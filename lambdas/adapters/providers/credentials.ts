/** Provider credentials: their validated shape, and the port that supplies them. */
import * as z from 'zod';
import type { ProviderId } from '../../core/ai/route-table';

export const OpenAiCredentialsSchema = z.object({
  apiKey: z.string().min(1),
  baseURL: z.url().optional(),
  organization: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
});

export const AzureOpenAiCredentialsSchema = z.object({
  apiKey: z.string().min(1),
  endpoint: z.url(),
  apiVersion: z.string().min(1).default('2024-10-21'),
});

export type OpenAiCredentials = z.infer<typeof OpenAiCredentialsSchema>;
export type AzureOpenAiCredentials = z.infer<typeof AzureOpenAiCredentialsSchema>;

export type ProviderCredentials =
  | { provider: 'openai'; credentials: OpenAiCredentials }
  | { provider: 'azure-openai'; credentials: AzureOpenAiCredentials };

/** Where provider credentials come from (environment locally, Secrets Manager on AWS). */
export interface CredentialSource {
  /** Credentials for `provider`, or `undefined` when it is not configured. */
  get(provider: ProviderId): Promise<ProviderCredentials | undefined>;
}

/** Validates raw credential data; `undefined` when it is absent or incomplete (for example an empty placeholder secret). */
export function parseCredentials(provider: ProviderId, data: unknown): ProviderCredentials | undefined {
  if (provider === 'openai') {
    const parsed = OpenAiCredentialsSchema.safeParse(data);
    return parsed.success ? { provider, credentials: parsed.data } : undefined;
  }
  const parsed = AzureOpenAiCredentialsSchema.safeParse(data);
  return parsed.success ? { provider, credentials: parsed.data } : undefined;
}

/** Credentials from fixed values (the environment, or simulated upstreams). */
export class StaticCredentialSource implements CredentialSource {
  constructor(private readonly values: Partial<Record<ProviderId, unknown>>) {}

  async get(provider: ProviderId): Promise<ProviderCredentials | undefined> {
    return parseCredentials(provider, this.values[provider]);
  }
}
