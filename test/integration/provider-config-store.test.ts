/** The runtime provider configurations' store on dynalite: one versioned item, one winner among concurrent writers. */
import { DynamoDbProviderConfigStore } from '../../lambdas/adapters/dynamodb/dynamodb-provider-config-store';
import type { StoredProviderConfig } from '../../lambdas/core/ai/provider-configs';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';

let dynamo: TestDynamo;
let store: DynamoDbProviderConfigStore;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  store = new DynamoDbProviderConfigStore(dynamo.doc, dynamo.table('provider-health'));
});
afterAll(() => dynamo.close());

const config = (models: string[]): StoredProviderConfig => ({
  type: 'openai-compatible',
  baseURL: 'https://api.mistral.ai/v1',
  models,
  default: false,
  active: true,
  priority: 0,
  keyVersion: 'k1',
  updatedAt: '2026-11-26T00:00:00.000Z',
  updatedBy: 'key_admin',
});

it('starts empty, writes over the version it read, and lets one of concurrent writers win', async () => {
  expect(await store.read()).toEqual({ version: 0, configs: {} });
  expect(await store.write({ version: 1, configs: { mistral: config(['a']) } })).toBe(true);
  expect(await store.write({ version: 1, configs: { mistral: config(['b']) } })).toBe(false);
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => store.write({ version: 2, configs: { mistral: config([`writer-${i}`]) } })),
  );
  expect(results.filter(Boolean)).toHaveLength(1);
  const stored = await store.read();
  expect(stored.version).toBe(2);
  expect(stored.configs['mistral']!.models[0]).toBe(`writer-${results.indexOf(true)}`);
});
