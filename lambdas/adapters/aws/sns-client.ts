/**
 * The SNS client, in a module of its own: `alertPublisher` requires it at the first alert, and its ESM
 * import lets the Lambda bundle keep only the client (a `require` of the package would keep every command).
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { boundedConfig, boundSends } from './bounded-clients';

/** An SNS client whose calls end within 4 s (two attempts of 2 s). */
export function snsClient(region: string): SNSClient {
  return boundSends(new SNSClient(boundedConfig(region, 2000)), 4000);
}
