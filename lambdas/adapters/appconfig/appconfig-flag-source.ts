/**
 * `FlagSource` on AWS AppConfig (AppConfigData): one configuration session, then
 * `GetLatestConfiguration` with the token each answer hands over, never sooner than the poll interval
 * AppConfig asks for. An empty `Configuration` means "unchanged". An expired or rejected token starts
 * a new session on the next fetch.
 */
import {
  BadRequestException,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
  type AppConfigDataClient,
} from '@aws-sdk/client-appconfigdata';
import type { FlagSource } from '../../core/rollout/ports';
import type { Clock } from '../../core/ports';

export interface AppConfigIds {
  application: string;
  environment: string;
  profile: string;
}

export class AppConfigFlagSource implements FlagSource {
  readonly name = 'appconfig';
  private token: string | undefined;
  private nextPollAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly client: AppConfigDataClient,
    private readonly ids: AppConfigIds,
    private readonly clock: Clock,
    private readonly options: { minPollIntervalSeconds: number; timeoutMs: number },
  ) {}

  async fetch(): Promise<unknown> {
    if (this.clock.now() < this.nextPollAt) return undefined;
    const abortSignal = AbortSignal.timeout(this.options.timeoutMs);
    if (!this.token) {
      const session = await this.client.send(
        new StartConfigurationSessionCommand({
          ApplicationIdentifier: this.ids.application,
          EnvironmentIdentifier: this.ids.environment,
          ConfigurationProfileIdentifier: this.ids.profile,
          RequiredMinimumPollIntervalInSeconds: this.options.minPollIntervalSeconds,
        }),
        { abortSignal },
      );
      this.token = session.InitialConfigurationToken;
      if (!this.token) throw new Error('AppConfig started a session without a token');
    }
    let out;
    try {
      out = await this.client.send(new GetLatestConfigurationCommand({ ConfigurationToken: this.token }), { abortSignal });
    } catch (error) {
      // Expired (24 h) or already used token: the next fetch opens a new session.
      if (error instanceof BadRequestException) this.token = undefined;
      throw error;
    }
    this.token = out.NextPollConfigurationToken;
    this.nextPollAt = this.clock.now() + (out.NextPollIntervalInSeconds ?? this.options.minPollIntervalSeconds) * 1000;
    const bytes = out.Configuration;
    if (!bytes || bytes.length === 0) return undefined;
    const text = new TextDecoder().decode(bytes);
    try {
      return JSON.parse(text);
    } catch (error) {
      return { invalidJson: (error as Error).message };
    }
  }
}
