/**
 * Every provider the gateway can route to. Built-in providers are one folder each: a folder
 * exporting a `defineProvider(...)` module (see `provider-module.ts`), and one line here. Any number
 * of OpenAI-compatible endpoints come from the route table (`"type": "openai-compatible"` entries).
 */
import type { RouteTable } from '../../core/ai/route-table';
import { ConfigError } from '../../core/errors';
import { azureOpenAiProvider } from './azure-openai';
import { bedrockProvider } from './bedrock';
import { openAiProvider } from './openai';
import { openAiCompatibleProvider } from './openai-compatible/instance';
import type { RegisteredProvider } from './provider-module';

export const BUILT_IN_PROVIDERS: readonly RegisteredProvider[] = [openAiProvider, azureOpenAiProvider, bedrockProvider];

/** Ids of the built-in providers. */
export const BUILT_IN_PROVIDER_IDS: readonly string[] = BUILT_IN_PROVIDERS.map((provider) => provider.id);

const memo = new WeakMap<object, readonly RegisteredProvider[]>();

/** Ids an instance may not take: the built-in providers', and `local` (whose LOCAL_API_KEY is the gateway's own key). */
const RESERVED_IDS = new Set([...BUILT_IN_PROVIDER_IDS, 'local']);

/**
 * The built-in providers the route table lists under `providers`, and its OpenAI-compatible instances
 * (one list per table): a provider the table does not list gets no simulator, secret, grant or alarm.
 * Throws a `ConfigError` (at start and at synth alike) for an entry that is neither, an instance with
 * a reserved id, or two providers whose variables or stack outputs would collide.
 */
export function providersOf(table: Pick<RouteTable, 'providers'>): readonly RegisteredProvider[] {
  let providers = memo.get(table);
  if (!providers) {
    const problems: string[] = [];
    const instances = Object.entries(table.providers).flatMap(([id, catalog]) => {
      if (catalog.type === undefined) {
        if (!BUILT_IN_PROVIDER_IDS.includes(id))
          problems.push(
            `unknown provider ${id} (built in: ${BUILT_IN_PROVIDER_IDS.join(', ')}; any other endpoint needs "type": "openai-compatible" and its "baseURL")`,
          );
        return [];
      }
      if (RESERVED_IDS.has(id)) {
        problems.push(`"${id}" is reserved: give the openai-compatible entry another id`);
        return [];
      }
      return [openAiCompatibleProvider(id, catalog)];
    });
    providers = [...BUILT_IN_PROVIDERS.filter((p) => table.providers[p.id] !== undefined), ...instances];
    const seen = new Map<string, string>();
    for (const p of providers)
      for (const name of [...Object.keys(p.environment.variables), ...(p.aws ? [p.aws.secretIdVariable, p.aws.outputName] : [])]) {
        const other = seen.get(name);
        if (other !== undefined && other !== p.id) problems.push(`providers ${other} and ${p.id} would both use ${name}: rename one`);
        seen.set(name, p.id);
      }
    if (problems.length > 0) throw new ConfigError(`route table: ${problems.join('; ')}`);
    memo.set(table, providers);
  }
  return providers;
}

/** The provider with this id among `providers` (default: the built-in ones), if any. */
export function providerModule(id: string, providers: readonly RegisteredProvider[] = BUILT_IN_PROVIDERS): RegisteredProvider | undefined {
  return providers.find((provider) => provider.id === id);
}
