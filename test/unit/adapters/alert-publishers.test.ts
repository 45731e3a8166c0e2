import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAlertPublisher } from '../../../lambdas/adapters/alerts/local-alert-publisher';
import { SnsAlertPublisher } from '../../../lambdas/adapters/alerts/sns-alert-publisher';
import type { Alert } from '../../../lambdas/core/metering/ports';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:hybrid-orchestrator-prod-alerts';
const alert: Alert = {
  kind: 'budget',
  severity: 'warning',
  subject:
    'Hybrid Orchestrator: daily spend on 2026-11-23 reached 80% of $100 — plus a very long tail that SNS would refuse beyond 100 chars',
  message: 'The daily spend on 2026-11-23 is $80.01, past 80% of the $100 budget.',
  context: { scope: 'global-day', level: 80 },
  at: '2026-11-23T10:30:00.000Z',
};

beforeEach(() => sns.reset());

describe('SnsAlertPublisher', () => {
  it('publishes the subject (printable ASCII, at most 100 characters), the alert as JSON, and filterable attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsAlertPublisher(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish(alert);
    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toEqual({
      TopicArn: TOPIC,
      Subject: alert.subject.replace('—', '?').slice(0, 100),
      Message: JSON.stringify(alert, null, 2),
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'budget' }, severity: { DataType: 'String', StringValue: 'warning' } },
    });
    expect(input.Subject!.length).toBe(100);
    expect(JSON.parse(input.Message!)).toEqual(alert);
  });

  it('lets a failed publish surface to its caller', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError'));
    await expect(new SnsAlertPublisher(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish(alert)).rejects.toThrow('AuthorizationError');
  });
});

describe('LocalAlertPublisher', () => {
  it('prints a line and appends the alert to the JSON-lines file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'alerts-')), '.local', 'alerts.jsonl');
    const lines: string[] = [];
    const publisher = new LocalAlertPublisher(file, (line) => lines.push(line));
    await publisher.publish(alert);
    await publisher.publish({ ...alert, severity: 'critical' });
    expect(lines[0]).toBe(`ALERT [warning] ${alert.subject}`);
    expect(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([alert, { ...alert, severity: 'critical' }]);
  });
});
