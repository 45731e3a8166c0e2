/** The route table with runtime provider configurations applied: overrides, new providers, active, default, priority. */
import defaultRoutes from '../../../../config/routes.json';
import {
  effectiveRouteTable,
  ProviderConfigs,
  TaskUnreachable,
  type ProviderConfigDocument,
  type ProviderConfigsDeps,
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

/** A `ProviderConfigs` over stand-ins: no keys, no deploy-time credentials, every table valid, unless `parts` say otherwise. */
function configsOver(parts: Partial<ProviderConfigsDeps> & Pick<ProviderConfigsDeps, 'store'>): ProviderConfigs {
  return new ProviderConfigs(
    {
      base,
      vault: { put: async () => undefined, get: async () => undefined, delete: async () => undefined },
      credentials: { get: async () => undefined },
      clock: new FakeClock(1_000_000),
      telemetry: new CapturingTelemetry(),
      providers: { validate: () => undefined, parse: (_table, _id, document) => document, builtIn: ['openai', 'azure-openai', 'bedrock'] },
      ...parts,
    },
    { refreshMs: 10_000, maxStaleMs: 30_000, waitMs: 50 },
  );
}

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

it('puts a default provider last, whatever its priority', () => {
  const table = effectiveRouteTable(base, {
    mistral: config({ type: 'openai-compatible', baseURL: 'https://api.mistral.ai/v1', models: ['m'], default: true, priority: -5 }),
  });
  expect(providersOf(table).at(-1)).toBe('mistral/m');
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
    configsOver({ store: { read, write: async () => true }, clock });

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

  it('waits at most waitMs for a store that does not answer, and through an outage not on every request', async () => {
    const clock = new FakeClock(1_000_000);
    let reads = 0;
    let fail: (error: Error) => void = () => undefined;
    const configs = deps(() => {
      reads += 1;
      return new Promise((_, reject) => (fail = reject));
    }, clock);
    const started = Date.now();
    await configs.ready();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    // The read then fails: the next requests do not wait for another one until the view is 30 s old.
    fail(new Error('store down'));
    await new Promise((resolve) => setImmediate(resolve));
    await configs.ready();
    await configs.ready();
    expect(reads).toBe(1);
    // The deployed route table stays in force.
    expect(configs.current()).toBe(base);
  });

  it('keeps the key in force when a change loses its race: the new key is only a version nobody reads', async () => {
    const clock = new FakeClock(1_000_000);
    const stored = new Map<string, { apiKey: string }>();
    let document: ProviderConfigDocument = {
      version: 1,
      configs: { mistral: config({ type: 'openai-compatible', baseURL: 'https://api.mistral.ai/v1', models: ['m'], keyVersion: 'v1' }) },
    };
    stored.set('mistral@v1', { apiKey: 'old-key' });
    let writes = 0;
    const deps: Partial<ProviderConfigsDeps> & Pick<ProviderConfigsDeps, 'store'> = {
      store: {
        read: async () => document,
        write: async (next) => {
          writes += 1;
          // Another admin's change lands first.
          document = { ...document, version: next.version };
          return false;
        },
      },
      vault: {
        put: async (id, version, secret) => void stored.set(`${id}@${version}`, secret),
        get: async (id, version) => stored.get(`${id}@${version}`),
        delete: async () => undefined,
      },
      // Every provider has credentials: the change is refused only by the race.
      credentials: { get: async (provider) => ({ provider, credentials: {} }) },
      clock,
    };
    const configs = configsOver(deps);
    await configs.refresh();
    const change = configs.change(
      'replace',
      'mistral',
      {
        type: 'openai-compatible',
        baseURL: 'https://api.mistral.ai/v1',
        apiKey: 'new-key',
        models: ['m'],
        default: false,
        active: true,
        priority: 0,
      },
      'key_admin',
      () => 'v2',
    );
    await expect(change).rejects.toMatchObject({ status: 409 });
    expect(writes).toBe(1);
    expect(stored.get('mistral@v2')).toEqual({ apiKey: 'new-key' });
    expect((await configs.get('mistral'))?.credentials['apiKey']).toBe('old-key');
    // A cold instance reading the store and the vault now gets the key in force too, not the loser's.
    const cold = configsOver(deps);
    await cold.refresh();
    expect((await cold.get('mistral'))?.credentials['apiKey']).toBe('old-key');
  });
});

describe('a stored document that no longer fits the deployment', () => {
  it('keeps the last good view in force and listable, and lets an admin repair it by removing the misfit', async () => {
    const clock = new FakeClock(1_000_000);
    let document: ProviderConfigDocument = {
      version: 3,
      configs: { broken: config({ type: 'openai-compatible', baseURL: 'https://broken.example/v1', models: ['x'] }) },
    };
    const telemetry = new CapturingTelemetry();
    const configs = configsOver({
      store: {
        read: async () => document,
        write: async (next) => {
          if (next.version !== document.version + 1) return false;
          document = next;
          return true;
        },
      },
      credentials: { get: async (provider) => ({ provider, credentials: {} }) },
      clock,
      telemetry,
      providers: {
        // This deployment refuses the provider `broken` (say its id collides with a variable now).
        validate: (table) => {
          if (table.providers['broken']) throw new Error('route table: broken collides');
        },
        parse: (_table, _id, credentials) => credentials,
        builtIn: ['openai', 'azure-openai', 'bedrock'],
      },
    });
    await configs.refresh();
    expect(configs.current()).toBe(base);
    expect((await configs.describe()).map((p) => p.id)).toEqual(['openai', 'azure-openai', 'bedrock']);
    expect(telemetry.events.some((e) => e.message === 'provider configurations not applied')).toBe(true);
    await configs.change('remove', 'broken', undefined, 'key_admin', () => 'v');
    expect(document).toEqual({ version: 4, configs: {} });
  });
});

it('never pairs the deploy-time key with a runtime destination when the runtime key cannot be read, and reads it again next time', async () => {
  let fails = true;
  const configs = configsOver({
    store: {
      read: async () => ({
        version: 1,
        configs: { openai: config({ type: 'openai', baseURL: 'https://proxy.example/v1', models: ['gpt-4o-mini'], keyVersion: 'v1' }) },
      }),
      write: async () => true,
    },
    vault: {
      put: async () => undefined,
      get: async () => {
        if (fails) throw new Error('secrets unavailable');
        return { apiKey: 'runtime-key' };
      },
      delete: async () => undefined,
    },
    credentials: { get: async (provider) => ({ provider, credentials: { apiKey: 'deploy-time-key' } }) },
  });
  await configs.refresh();
  expect(await configs.get('openai')).toBeUndefined();
  fails = false;
  await configs.refresh();
  expect((await configs.get('openai'))?.credentials).toEqual({ apiKey: 'runtime-key', baseURL: 'https://proxy.example/v1' });
});

it('does not put back an older document read before its own change landed, though the read ended after it', async () => {
  let document: ProviderConfigDocument = { version: 1, configs: {} };
  let readAnswer: ProviderConfigDocument | undefined;
  const gate = () => {
    let open!: () => void;
    let reached!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    return { open, arrived, pass: () => (reached(), opened) };
  };
  const put = gate();
  const get = gate();
  const configs = configsOver({
    store: {
      read: async () => readAnswer ?? document,
      write: async (next) => {
        if (next.version !== document.version + 1) return false;
        document = next;
        return true;
      },
    },
    vault: {
      put: () => put.pass(),
      get: async (_id, version) => (version === 'k-other' ? get.pass().then(() => ({ apiKey: 'other' })) : undefined),
      delete: async () => undefined,
    },
    credentials: { get: async (provider) => ({ provider, credentials: {} }) },
  });
  await configs.refresh();
  // An admin adds a provider; its key is being stored.
  const input = {
    type: 'openai-compatible' as const,
    baseURL: 'https://api.groq.com/openai/v1',
    apiKey: 'gsk',
    models: ['llama'],
    default: false,
    active: true,
    priority: 0,
  };
  const change = configs.change('create', 'groq', input, 'key_admin', () => 'k1');
  await put.arrived;
  // Meanwhile a refresh reads version 1 (with a key to fetch), and is still reading keys when the change lands as version 2.
  readAnswer = {
    version: 1,
    configs: { other: config({ type: 'openai-compatible', baseURL: 'https://o.example/v1', models: ['o'], keyVersion: 'k-other' }) },
  };
  const reading = configs.refresh();
  await get.arrived;
  put.open();
  await change;
  expect(configs.current().providers['groq']).toBeDefined();
  get.open();
  await reading;
  expect(configs.current().providers['groq']).toBeDefined();
  expect(configs.current().providers['other']).toBeUndefined();
});
