/** The route table with runtime provider configurations applied: overrides, new providers, active, default, priority. */
import defaultRoutes from '../../../../config/routes.json';
import { effectiveRouteTable, TaskUnreachable, type StoredProviderConfig } from '../../../../lambdas/core/ai/provider-configs';
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
