/** The alerts topic (SNS, encrypted, TLS only) and the gateway's operational alarms that notify it. */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { POLICY_NAMES } from '../../lambdas/core/rate-limit/policies';

export interface AlertsProps {
  readonly namePrefix: string;
  /** Namespace of the gateway's EMF metrics. */
  readonly metricsNamespace: string;
}

export class Alerts extends Construct {
  readonly topic: Topic;
  readonly limiterErrors: Alarm;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      topicName: `${props.namePrefix}-alerts`,
      displayName: 'Hybrid Orchestrator alerts',
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });

    // Any limiter failure matters: messaging then refuses every message (fail closed), and AI
    // requests are refused or, with RATE_LIMIT_FAIL_MODE=open, go through uncounted.
    const usingMetrics = Object.fromEntries(
      POLICY_NAMES.map((policy, i) => [
        `e${i}`,
        new Metric({ namespace: props.metricsNamespace, metricName: 'RateLimiterErrors', dimensionsMap: { policy }, statistic: 'Sum', period: Duration.minutes(1) }),
      ]),
    );
    this.limiterErrors = new Alarm(this, 'RateLimiterErrors', {
      alarmName: `${props.namePrefix}-rate-limiter-errors`,
      alarmDescription: 'The rate limiter could not reach DynamoDB (messages refused, AI requests refused or uncounted).',
      metric: new MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, label: 'RateLimiterErrors', period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.limiterErrors.addAlarmAction(new SnsAction(this.topic));
    this.limiterErrors.addOkAction(new SnsAction(this.topic));
  }
}
