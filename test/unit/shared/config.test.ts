import { gzipSync } from 'node:zlib';
import defaultRoutes from '../../../config/routes.json';
import { ConfigError } from '../../../lambdas/core/errors';
import { loadConfig } from '../../../lambdas/shared/config';

describe('loadConfig', () => {
  it('has working defaults for a laptop', () => {
    const config = loadConfig('local', {});
    expect(config).toMatchObject({
      maxBodyBytes: 1048576,
      apiKeyCacheTtlMs: 30_000,
      metricsEnabled: false,
      local: { host: '127.0.0.1', port: 3000, userKey: 'sk-local-user-key', adminKey: 'sk-local-admin-key' },
    });
    expect(config.providers.environment['openai']).toBeUndefined();
  });

  it('turns metrics on by default on AWS', () => {
    expect(loadConfig('aws', {}).metricsEnabled).toBe(true);
  });

  it('meters AI requests unless AI_METERING is off, and takes nothing but on and off', () => {
    expect(loadConfig('aws', {}).aiMetering).toBe(true);
    expect(loadConfig('aws', { AI_METERING: 'on' }).aiMetering).toBe(true);
    expect(loadConfig('aws', { AI_METERING: 'off' }).aiMetering).toBe(false);
    for (const value of ['OFF', 'false', '0', '']) expect(() => loadConfig('local', { AI_METERING: value })).toThrow(/AI_METERING/);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig('local', { MAX_BODY_BYTES: 'lots' })).toThrow(/MAX_BODY_BYTES/);
    expect(() => loadConfig('local', { API_KEY_CACHE_TTL_SECONDS: '600' })).toThrow(/API_KEY_CACHE_TTL_SECONDS/);
    expect(() => loadConfig('local', { OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadConfig('local', { AZURE_OPENAI_API_KEY: 'k' })).toThrow(ConfigError);
  });

  it('reads provider credentials from the SDK variables', () => {
    const config = loadConfig('local', {
      OPENAI_API_KEY: 'sk-x',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      AZURE_OPENAI_API_KEY: 'az',
      AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com',
    });
    expect(config.providers.environment['openai']).toEqual({ apiKey: 'sk-x', baseURL: 'http://127.0.0.1:9/v1' });
    expect(config.providers.environment['azure-openai']).toEqual({
      apiKey: 'az',
      endpoint: 'https://r.openai.azure.com',
      apiVersion: '2024-10-21',
    });
  });

  it('takes a route table override from ROUTES_JSON and validates it', () => {
    const custom = {
      ...defaultRoutes,
      tasks: { ...defaultRoutes.tasks, general: { targets: [{ provider: 'azure-openai', model: 'gpt-4o' }] } },
    };
    expect(loadConfig('local', { ROUTES_JSON: JSON.stringify(custom) }).routeTable.tasks.general.targets).toEqual([
      { provider: 'azure-openai', model: 'gpt-4o' },
    ]);
    expect(() => loadConfig('local', { ROUTES_JSON: '{' })).toThrow(/ROUTES_JSON: not valid JSON/);
    expect(() => loadConfig('local', { ROUTES_JSON: '{"version":2}' })).toThrow(/invalid route table \(ROUTES_JSON\)/);
    expect(() => loadConfig('local', { ROUTES_FILE: '/nonexistent/routes.json' })).toThrow(/ROUTES_FILE: cannot read/);
    // Gzipped and base64-encoded, as the stack passes it.
    const gz = gzipSync(JSON.stringify(custom)).toString('base64');
    expect(loadConfig('local', { ROUTES_JSON_GZ: gz }).routeTable.tasks.general.targets).toEqual([
      { provider: 'azure-openai', model: 'gpt-4o' },
    ]);
    expect(() => loadConfig('local', { ROUTES_JSON_GZ: 'bm90IGd6aXA=' })).toThrow(/ROUTES_JSON_GZ: not gzipped base64/);
  });
});
