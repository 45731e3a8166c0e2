/**
 * The Secrets Manager client, in a module of its own: required by the first reader of a provider key,
 * and its ESM import lets the Lambda bundle keep only the client (a `require` of the package would keep
 * every command).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { boundedConfig, boundSends } from './bounded-clients';

/** A Secrets Manager client whose calls end within 3 s (two attempts of 1.5 s). */
export function secretsManagerClient(region: string): SecretsManagerClient {
  return boundSends(new SecretsManagerClient(boundedConfig(region, 1500)), 3000);
}
