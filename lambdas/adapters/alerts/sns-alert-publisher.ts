/** `AlertPublisher` on SNS: the subject line, the alert as JSON, and attributes to filter subscriptions on. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert, AlertPublisher } from '../../core/metering/ports';

export class SnsAlertPublisher implements AlertPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    private readonly timeoutMs = 3000,
  ) {}

  async publish(alert: Alert): Promise<void> {
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        // SNS subjects: at most 100 printable ASCII characters, no line breaks.
        Subject: alert.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
        Message: JSON.stringify(alert, null, 2),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: alert.kind },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
      }),
      { abortSignal: AbortSignal.timeout(this.timeoutMs) },
    );
  }
}
