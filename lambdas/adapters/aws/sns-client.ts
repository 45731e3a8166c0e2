/**
 * The SNS alert publisher and its client, in a module of its own: `alertPublisher` requires it at the
 * first alert. In the Lambda bundles it is a file of its own beside the handler (`BUNDLED_SNS`), so the
 * SNS client's 40 KiB are neither loaded nor parsed at cold start; its ESM import keeps only the client
 * and the one command (a `require` of the package would keep every command).
 */
import { SNSClient } from '@aws-sdk/client-sns';
import type { AlertPublisher } from '../../core/metering/ports';
import { SnsAlertPublisher } from '../alerts/sns-alert-publisher';
import { boundedConfig, boundSends } from './bounded-clients';

/** An SNS client whose calls end within 4 s (two attempts of 2 s). */
export function snsClient(region: string): SNSClient {
  return boundSends(new SNSClient(boundedConfig(region, 2000)), 4000);
}

/** Alerts published to `topicArn` with a bounded client. */
export function snsAlertPublisher(region: string, topicArn: string): AlertPublisher {
  return new SnsAlertPublisher(snsClient(region), topicArn);
}
