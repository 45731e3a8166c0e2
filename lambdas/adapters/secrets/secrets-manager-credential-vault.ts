/**
 * `CredentialVault` on AWS Secrets Manager: one secret per runtime provider, `<prefix><id>`, created at
 * its first key. Each key is a secret version whose id is the configuration's `keyVersion`
 * (`ClientRequestToken` when written, `VersionId` when read), so an instance reads exactly the key its
 * configuration names, and a change that lost its race only leaves a version nobody reads. Deleted with
 * its configuration after Secrets Manager's 7-day recovery window; an id configured again within it
 * restores the secret first. The function's role may touch only secrets under the prefix.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RestoreSecretCommand,
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

  async put(id: string, version: string, secret: { apiKey: string }): Promise<void> {
    const SecretId = this.prefix + id;
    const SecretString = JSON.stringify(secret);
    const putVersion = () =>
      this.client.send(new PutSecretValueCommand({ SecretId, SecretString, ClientRequestToken: version }), this.options());
    try {
      await putVersion();
    } catch (error) {
      if (error instanceof InvalidRequestException) {
        // Scheduled for deletion (the id was deleted less than 7 days ago): restored, then given the new version.
        await this.client.send(new RestoreSecretCommand({ SecretId }), this.options());
        await putVersion();
        return;
      }
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(
        new CreateSecretCommand({
          Name: SecretId,
          SecretString,
          ClientRequestToken: version,
          Description: `Key of the runtime provider ${id} (Hybrid Orchestrator gateway)`,
        }),
        this.options(),
      );
    }
  }

  async get(id: string, version: string): Promise<{ apiKey: string } | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.prefix + id, VersionId: version }), this.options());
      const parsed = JSON.parse(out.SecretString ?? '{}') as { apiKey?: unknown };
      return typeof parsed.apiKey === 'string' && parsed.apiKey !== '' ? { apiKey: parsed.apiKey } : undefined;
    } catch (error) {
      // Gone, scheduled for deletion (removed meanwhile), or not JSON: no key for this version.
      if (error instanceof ResourceNotFoundException || error instanceof InvalidRequestException || error instanceof SyntaxError)
        return undefined;
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
