/**
 * Every provider the gateway can route to, one folder each. Adding a provider: a folder exporting a
 * `defineProvider(...)` module (see `provider-module.ts`), and one line here.
 */
import { azureOpenAiProvider } from './azure-openai';
import { openAiProvider } from './openai';
import type { RegisteredProvider } from './provider-module';

export const PROVIDERS: readonly RegisteredProvider[] = [openAiProvider, azureOpenAiProvider];

/** The registered provider with this id, if any. */
export function providerModule(id: string): RegisteredProvider | undefined {
  return PROVIDERS.find((provider) => provider.id === id);
}

/** Ids of every registered provider. */
export const REGISTERED_PROVIDER_IDS: readonly string[] = PROVIDERS.map((provider) => provider.id);
