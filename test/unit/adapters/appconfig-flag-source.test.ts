import {
  AppConfigDataClient,
  BadRequestException,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import { mockClient } from 'aws-sdk-client-mock';
import { AppConfigFlagSource } from '../../../lambdas/adapters/appconfig/appconfig-flag-source';
import { FlagStore } from '../../../lambdas/core/rollout/flag-store';
import { SAFE_DEFAULT_FLAGS } from '../../../lambdas/core/rollout/flags';
import type { Telemetry } from '../../../lambdas/core/telemetry';
import { FakeClock } from '../../helpers/fakes';

const appconfig = mockClient(AppConfigDataClient);
const ids = { application: 'app123', environment: 'env456', profile: 'prof789' };
/** What the SDK hands back for a blob: the bytes, with `transformToString`. */
const blob = (text: string) => Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
const bytes = (value: unknown) => blob(JSON.stringify(value));
const ON = { hybrid_orchestrator: { enabled: true, rollout_percentage: 100, allow_users: [], deny_users: [] } };
const OFF = { hybrid_orchestrator: { enabled: false, rollout_percentage: 100, allow_users: [], deny_users: [] } };

function source(clock = new FakeClock()) {
  return {
    clock,
    source: new AppConfigFlagSource(new AppConfigDataClient({ region: 'eu-west-1' }), ids, clock, {
      minPollIntervalSeconds: 45,
      timeoutMs: 4000,
    }),
  };
}

beforeEach(() => appconfig.reset());

describe('AppConfigFlagSource', () => {
  it('starts one session with the ids and minimum poll interval, then polls with the token each answer hands over', async () => {
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'token-0' });
    appconfig
      .on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-0' })
      .resolves({
        Configuration: bytes(ON),
        NextPollConfigurationToken: 'token-1',
        NextPollIntervalInSeconds: 45,
        ContentType: 'application/json',
      })
      .on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-1' })
      .resolves({ Configuration: blob(''), NextPollConfigurationToken: 'token-2', NextPollIntervalInSeconds: 45 })
      .on(GetLatestConfigurationCommand, { ConfigurationToken: 'token-2' })
      .resolves({ Configuration: bytes(OFF), NextPollConfigurationToken: 'token-3', NextPollIntervalInSeconds: 60 });
    const { clock, source: s } = source();

    expect(await s.fetch()).toEqual(ON);
    expect(appconfig.commandCalls(StartConfigurationSessionCommand).map((c) => c.args[0].input)).toEqual([
      {
        ApplicationIdentifier: 'app123',
        EnvironmentIdentifier: 'env456',
        ConfigurationProfileIdentifier: 'prof789',
        RequiredMinimumPollIntervalInSeconds: 45,
      },
    ]);
    // Too early: AppConfig asked for 45 s between polls, so nothing is sent.
    clock.advance(44_999);
    expect(await s.fetch()).toBeUndefined();
    expect(appconfig.commandCalls(GetLatestConfigurationCommand)).toHaveLength(1);
    clock.advance(1);
    expect(await s.fetch()).toBeUndefined(); // empty Configuration: unchanged
    clock.advance(45_000);
    expect(await s.fetch()).toEqual(OFF);
    expect(appconfig.commandCalls(GetLatestConfigurationCommand).map((c) => c.args[0].input.ConfigurationToken)).toEqual([
      'token-0',
      'token-1',
      'token-2',
    ]);
    expect(appconfig.commandCalls(StartConfigurationSessionCommand)).toHaveLength(1);
  });

  it('opens a new session when the token is rejected (expired after 24 h)', async () => {
    appconfig
      .on(StartConfigurationSessionCommand)
      .resolvesOnce({ InitialConfigurationToken: 'old' })
      .resolvesOnce({ InitialConfigurationToken: 'fresh' });
    appconfig
      .on(GetLatestConfigurationCommand, { ConfigurationToken: 'old' })
      .rejects(new BadRequestException({ message: 'Token expired', $metadata: {} }))
      .on(GetLatestConfigurationCommand, { ConfigurationToken: 'fresh' })
      .resolves({ Configuration: bytes(ON), NextPollConfigurationToken: 'next', NextPollIntervalInSeconds: 45 });
    const { source: s } = source();
    await expect(s.fetch()).rejects.toThrow('Token expired');
    expect(await s.fetch()).toEqual(ON);
    expect(appconfig.commandCalls(StartConfigurationSessionCommand)).toHaveLength(2);
  });

  it('keeps the same unused token after a network failure', async () => {
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 't' });
    appconfig
      .on(GetLatestConfigurationCommand)
      .rejectsOnce(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }))
      .resolves({ Configuration: bytes(ON), NextPollConfigurationToken: 't2', NextPollIntervalInSeconds: 45 });
    const { source: s } = source();
    await expect(s.fetch()).rejects.toThrow('ETIMEDOUT');
    expect(await s.fetch()).toEqual(ON);
    expect(appconfig.commandCalls(GetLatestConfigurationCommand).map((c) => c.args[0].input.ConfigurationToken)).toEqual(['t', 't']);
    expect(appconfig.commandCalls(StartConfigurationSessionCommand)).toHaveLength(1);
  });

  it('behind a FlagStore: unreachable AppConfig on a cold start means the legacy defaults, later outages keep the last good flags', async () => {
    const clock = new FakeClock();
    const telemetry: Telemetry = {
      record: () => undefined,
      error: () => undefined,
      info: () => undefined,
      count: () => undefined,
      usage: () => undefined,
      metric: () => undefined,
    };
    const { source: s } = source(clock);
    const store = new FlagStore(s, clock, telemetry, { refreshMs: 45_000, maxStaleMs: 90_000, waitMs: 100, defaults: SAFE_DEFAULT_FLAGS });
    appconfig.on(StartConfigurationSessionCommand).rejects(Object.assign(new Error('getaddrinfo ENOTFOUND'), { name: 'Error' }));
    expect((await store.current()).origin).toBe('default');
    appconfig.reset();
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 't' });
    appconfig
      .on(GetLatestConfigurationCommand)
      .resolves({ Configuration: bytes(ON), NextPollConfigurationToken: 't2', NextPollIntervalInSeconds: 45 });
    clock.advance(45_000);
    await store.refresh();
    expect(store.snapshot()).toMatchObject({ origin: 'source', values: ON });
    appconfig.reset();
    appconfig.on(GetLatestConfigurationCommand).rejects(new Error('503'));
    clock.advance(45_000);
    await store.refresh();
    expect(store.snapshot().values).toEqual(ON);
  });
});
