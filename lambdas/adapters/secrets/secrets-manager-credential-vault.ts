/**
 * `CredentialVault` on AWS Secrets Manager: one secret per runtime provider, `<prefix><id>`, created at
 * its first key and given a new version at each change (the previous one stays as `AWSPREVIOUS`), deleted
 * with its configuration (after Secrets Manager's 7-day recovery window). The function's role may touch
 * only secrets under the prefix.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CredentialVault } from '../../core/ai/provider-configs';

export class SecretsManagerCredentialVault implements CredentialVault {
  constructor(
    private readonly client: SecretsManagerClient,
    /** `hybrid-orchestrator-prod/runtime-providers/`: the stack's prefix, which the role's grants name. */
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  private options() {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) };
  }

  async put(id: string, secret: { apiKey: string }): Promise<void> {
    const SecretString = JSON.stringify(secret);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.prefix + id, SecretString }), this.options());
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(
        new CreateSecretCommand({
          Name: this.prefix + id,
          SecretString,
          Description: `Key of the runtime provider ${id} (Hybrid Orchestrator gateway)`,
        }),
        this.options(),
      );
    }
  }

  async get(id: string): Promise<{ apiKey: string } | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.prefix + id }), this.options());
      const parsed = JSON.parse(out.SecretString ?? '{}') as { apiKey?: unknown };
      return typeof parsed.apiKey === 'string' && parsed.apiKey !== '' ? { apiKey: parsed.apiKey } : undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: this.prefix + id, RecoveryWindowInDays: 7 }), this.options());
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
