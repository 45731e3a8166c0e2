/** The route table with runtime provider configurations applied: overrides, new providers, active, default, priority. */
import defaultRoutes from '../../../../config/routes.json';
import {
  effectiveRouteTable,
  ProviderConfigs,
  TaskUnreachable,
  type ProviderConfigDocument,
  type StoredProviderConfig,
} from '../../../../lambdas/core/ai/provider-configs';
import { CapturingTelemetry, FakeClock } from '../../../helpers/fakes';
import { parseRouteTable, planRoute, tierTargets } from '../../../../lambdas/core/ai/route-table';

const base = parseRouteTable(defaultRoutes, 'config/routes.json');
const config = (fields: Partial<StoredProviderConfig> & Pick<StoredProviderConfig, 'type' | 'models'>): StoredProviderConfig => ({
  default: false,
  active: true,
  priority: 0,
  keyVersion: null,
  updatedAt: '2026-11-26T00:00:00.000Z',
  updatedBy: 'key_admin',
  ...fields,
});
const providersOf = (table: ReturnType<typeof effectiveRouteTable>, task: 'general' | 'content_planning' = 'general') =>
  planRoute(table, task, undefined).map((t) => `${t.provider}/${t.model}`);

it('is the route table itself without runtime configurations', () => {
  expect(effectiveRouteTable(base, {})).toEqual(base);
});

it('adds an OpenAI-compatible provider, and a default one ends every task', () => {
  const table = effectiveRouteTable(base, {
    mistral: config({ type: 'openai-compatible', baseURL: 'https://api.mistral.ai/v1', models: ['mistral-small'], default: true }),
  });
  expect(table.providers['mistral']).toEqual({
    type: 'openai-compatible',
    baseURL: 'https://api.mistral.ai/v1',
    models: ['mistral-small'],
  });
  expect(providersOf(table)).toEqual(['openai/gpt-4o-mini', 'azure-openai/gpt-4o-mini', 'mistral/mistral-small']);
  expect(providersOf(table, 'content_planning')).toEqual(['azure-openai/gpt-4o', 'openai/gpt-4o', 'mistral/mistral-small']);
});

it('takes an inactive provider out of targets and tiers, and orders providers by priority (the task order among equals)', () => {
  const table = effectiveRouteTable(base, {
    'azure-openai': config({ type: 'azure-openai', models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini'], priority: -1 }),
    openai: config({ type: 'openai', models: ['gpt-4o', 'gpt-4o-mini'], active: false }),
  });
  expect(providersOf(table)).toEqual(['azure-openai/gpt-4o-mini']);
  expect(tierTargets(table, 'general', 'fast').every((t) => t.provider === 'azure-openai')).toBe(true);
  const reordered = effectiveRouteTable(base, {
    'azure-openai': config({ type: 'azure-openai', models: ['gpt-4o', 'gpt-4o-mini'], priority: -1 }),
  });
  expect(providersOf(reordered)).toEqual(['azure-openai/gpt-4o-mini', 'openai/gpt-4o-mini']);
});

it('drops targets whose model the override no longer lists, and refuses a task left without any', () => {
  const narrowed = effectiveRouteTable(base, { openai: config({ type: 'openai', models: ['gpt-4.1'] }) });
  expect(providersOf(narrowed)).toEqual(['azure-openai/gpt-4o-mini']);
  expect(() =>
    effectiveRouteTable(base, {
      openai: config({ type: 'openai', models: ['gpt-4o'], active: false }),
      'azure-openai': config({ type: 'azure-openai', models: ['gpt-4o'], active: false }),
    }),
  ).toThrow(TaskUnreachable);
});

describe('ProviderConfigs.ready', () => {
  const deps = (read: () => Promise<ProviderConfigDocument>, clock: FakeClock) =>
    new ProviderConfigs(
      {
        base,
        store: { read, write: async () => true },
        vault: { put: async () => undefined, get: async () => undefined, delete: async () => undefined },
        credentials: { get: async () => undefined },
        clock,
        telemetry: new CapturingTelemetry(),
        providers: {
          validate: () => undefined,
          parse: (_table, _id, document) => document,
          builtIn: ['openai', 'azure-openai', 'bedrock'],
        },
      },
      { refreshMs: 10_000, maxStaleMs: 30_000, waitMs: 50 },
    );

  it('waits for the first read, then serves from memory until the view is 30 s old', async () => {
    const clock = new FakeClock(1_000_000);
    let reads = 0;
    const configs = deps(async () => {
      reads += 1;
      return {
        version: 1,
        configs: { mistral: config({ type: 'openai-compatible', baseURL: 'https://api.mistral.ai/v1', models: ['m'] }) },
      };
    }, clock);
    await configs.ready();
    expect(reads).toBe(1);
    expect(configs.current().providers['mistral']).toBeDefined();
    clock.advance(29_000);
    await configs.ready();
    expect(reads).toBe(1);
    clock.advance(2_000);
    await configs.ready();
    expect(reads).toBe(2);
  });

  it('through a store outage, waits at most waitMs once, not on every request', async () => {
    const clock = new FakeClock(1_000_000);
    let reads = 0;
    const configs = deps(() => {
      reads += 1;
      return Promise.reject(new Error('store down'));
    }, clock);
    const started = Date.now();
    await configs.ready();
    expect(Date.now() - started).toBeLessThan(1000);
    await configs.ready();
    await configs.ready();
    expect(reads).toBe(1);
    // The deployed route table stays in force.
    expect(configs.current()).toBe(base);
  });
});
