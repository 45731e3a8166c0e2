/**
 * Every provider the gateway can route to. Built-in providers are one folder each: a folder
 * exporting a `defineProvider(...)` module (see `provider-module.ts`), and one line here. Any number
 * of OpenAI-compatible endpoints come from the route table (`"type": "openai-compatible"` entries).
 */
import type { RouteTable } from '../../core/ai/route-table';
import { azureOpenAiProvider } from './azure-openai';
import { openAiProvider } from './openai';
import { openAiCompatibleProvider } from './openai-compatible/instance';
import type { RegisteredProvider } from './provider-module';

export const BUILT_IN_PROVIDERS: readonly RegisteredProvider[] = [openAiProvider, azureOpenAiProvider];

/** Ids of the built-in providers. */
export const BUILT_IN_PROVIDER_IDS: readonly string[] = BUILT_IN_PROVIDERS.map((provider) => provider.id);

const memo = new WeakMap<object, readonly RegisteredProvider[]>();

/** The built-in providers and the route table's OpenAI-compatible instances (one list per table). */
export function providersOf(table: Pick<RouteTable, 'providers'>): readonly RegisteredProvider[] {
  let providers = memo.get(table);
  if (!providers) {
    const instances = Object.entries(table.providers).flatMap(([id, catalog]) =>
      catalog.type === 'openai-compatible' && !BUILT_IN_PROVIDER_IDS.includes(id) ? [openAiCompatibleProvider(id, catalog)] : [],
    );
    providers = [...BUILT_IN_PROVIDERS, ...instances];
    memo.set(table, providers);
  }
  return providers;
}

/** The provider with this id among `providers` (default: the built-in ones), if any. */
export function providerModule(id: string, providers: readonly RegisteredProvider[] = BUILT_IN_PROVIDERS): RegisteredProvider | undefined {
  return providers.find((provider) => provider.id === id);
}
