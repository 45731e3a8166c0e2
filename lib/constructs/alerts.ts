/**
 * The alerts topic (SNS, encrypted with its own rotating KMS key, TLS only) and the gateway's
 * operational alarms that notify it. A customer-managed key, because CloudWatch alarm actions cannot
 * publish to a topic encrypted with the AWS-managed `aws/sns` key.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmRule,
  ComparisonOperator,
  CompositeAlarm,
  MathExpression,
  Metric,
  TreatMissingData,
  type AlarmProps,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { POLICY_NAMES } from '../../lambdas/core/rate-limit/policies';

/** An alarm that notifies `topic` when it fires; missing data (no traffic) never breaches. */
export function notifyingAlarm(scope: Construct, id: string, topic: Topic, props: AlarmProps): Alarm {
  const alarm = new Alarm(scope, id, { treatMissingData: TreatMissingData.NOT_BREACHING, ...props });
  alarm.addAlarmAction(new SnsAction(topic));
  return alarm;
}

/** Lets `role` publish to the alerts topic, whose KMS key needs `kms:GenerateDataKey*` (acknowledged for cdk-nag). */
export function grantAlertPublishing(topic: Topic, role: IRole): void {
  topic.grantPublish(role);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: 'kms:GenerateDataKey* (from grantPublish) is what publishing to the KMS-encrypted alerts topic needs, on that one key only.',
  });
}

/**
 * A dead-letter queue (SQS-encrypted, TLS only, kept 14 days) and an alarm on its first message, for
 * work that failed all its retries.
 */
export function deadLetters(
  scope: Construct,
  topic: Topic,
  props: { alarmName: string; alarmDescription: string; whatItHolds: string },
): { queue: Queue; alarm: Alarm } {
  const queue = new Queue(scope, 'DeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This is itself a dead-letter queue (${props.whatItHolds}); an alarm fires on its first message.`,
  });
  const alarm = notifyingAlarm(scope, 'DeadLettered', topic, {
    alarmName: props.alarmName,
    alarmDescription: props.alarmDescription,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  });
  return { queue, alarm };
}

export interface AlertsProps {
  readonly namePrefix: string;
  /** Namespace of the gateway's EMF metrics. */
  readonly metricsNamespace: string;
  /** `service` dimension of the gateway's service-wide metrics. */
  readonly serviceName: string;
  readonly api: RestApi;
  /** Error rate (%) over one minute that counts as breaching, for 2 minutes in a row. @default 5 */
  readonly errorRatePercent?: number;
}

export class Alerts extends Construct {
  readonly topic: Topic;
  readonly limiterErrors: Alarm;
  /** Usage records neither stored nor spilled: they are only in the log lines that say so. */
  readonly recordsLost: Alarm;
  /** ALARM when the gateway's error rate (failed AI requests, or API 5xx) is high: AppConfig's rollback monitor. */
  readonly errorRate: CompositeAlarm;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the Hybrid Orchestrator alerts topic',
      enableKeyRotation: true,
      alias: `alias/${props.namePrefix}-alerts`,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic.
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Topic', {
      topicName: `${props.namePrefix}-alerts`,
      displayName: 'Hybrid Orchestrator alerts',
      masterKey: key,
      enforceSSL: true,
    });

    // Any limiter failure matters: messaging then refuses every message (fail closed), and AI
    // requests are refused or, with RATE_LIMIT_FAIL_MODE=open, go through uncounted.
    const usingMetrics = Object.fromEntries(
      POLICY_NAMES.map((policy, i) => [
        `e${i}`,
        new Metric({
          namespace: props.metricsNamespace,
          metricName: 'RateLimiterErrors',
          dimensionsMap: { policy },
          statistic: 'Sum',
          period: Duration.minutes(1),
        }),
      ]),
    );
    this.limiterErrors = new Alarm(this, 'RateLimiterErrors', {
      alarmName: `${props.namePrefix}-rate-limiter-errors`,
      alarmDescription: 'The rate limiter could not reach DynamoDB (messages refused, AI requests refused or uncounted).',
      metric: new MathExpression({
        expression: Object.keys(usingMetrics).join(' + '),
        usingMetrics,
        label: 'RateLimiterErrors',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.limiterErrors.addAlarmAction(new SnsAction(this.topic));
    this.limiterErrors.addOkAction(new SnsAction(this.topic));

    const threshold = props.errorRatePercent ?? 5;
    const service = (metricName: string) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    /** A percentage over `threshold` for 2 one-minute periods in a row. */
    const rateAlarm = (id: string, name: string, what: string, expression: string, usingMetrics: Record<string, IMetric>) =>
      new Alarm(this, id, {
        alarmName: `${props.namePrefix}-${name}`,
        alarmDescription: `More than ${threshold}% of ${what} for 2 minutes.`,
        metric: new MathExpression({ expression, usingMetrics, label: `${what} (%)`, period: Duration.minutes(1) }),
        threshold,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    // AI requests that failed (every provider failed, or the stream broke), out of all AI requests.
    const aiErrors = rateAlarm('AiErrorRate', 'ai-error-rate', 'AI requests failed', 'IF(requests > 0, 100 * errors / requests, 0)', {
      errors: service('Errors'),
      requests: service('Requests'),
    });
    // Every 5xx the API answered (the function failing, timing out, or answering 5xx), out of all requests.
    const api5xx = rateAlarm('Api5xxRate', 'api-5xx-rate', 'API requests answered 5xx', '100 * server', {
      server: props.api.metricServerError({ statistic: 'Average', period: Duration.minutes(1) }),
    });
    this.recordsLost = new Alarm(this, 'UsageRecordsLost', {
      alarmName: `${props.namePrefix}-usage-records-lost`,
      alarmDescription:
        'Usage records could be neither stored nor spilled (the usage table and the spill queue both failed). Each is in the gateway log line "usage records lost": write them back from there.',
      metric: service('UsageRecordsLost'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.recordsLost.addAlarmAction(new SnsAction(this.topic));

    this.errorRate = new CompositeAlarm(this, 'ErrorRate', {
      compositeAlarmName: `${props.namePrefix}-error-rate`,
      alarmDescription: 'Gateway error rate too high (AI failures or API 5xx). Rolls back an AppConfig flag deployment in progress.',
      alarmRule: AlarmRule.anyOf(aiErrors, api5xx),
    });
    this.errorRate.addAlarmAction(new SnsAction(this.topic));
    this.errorRate.addOkAction(new SnsAction(this.topic));
  }
}
