/**
 * The daily cost report: a Lambda (Node.js 22, arm64) run by an EventBridge schedule at 00:15 UTC
 * for the previous UTC day, storing the report in the aggregates table and announcing it on the
 * alerts topic, with an alarm when it fails.
 */
import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { grantAlertPublishing, notifyingAlarm } from './alerts';
import { nodeFunction } from './node-function';

export interface DailyReportProps {
  readonly namePrefix: string;
  readonly usageTable: TableV2;
  readonly aggregatesTable: TableV2;
  readonly topic: Topic;
  readonly logRetention: RetentionDays;
}

export class DailyReport extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  readonly failures: Alarm;

  constructor(scope: Construct, id: string, props: DailyReportProps) {
    super(scope, id);
    const { function: fn, role } = nodeFunction(this, {
      handlerFile: 'daily-report.ts',
      description: 'Hybrid Orchestrator daily report',
      memorySize: 512,
      timeout: Duration.minutes(5),
      retention: props.logRetention,
      environment: {
        USAGE_TABLE: props.usageTable.tableName,
        USAGE_AGGREGATES_TABLE: props.aggregatesTable.tableName,
        ALERTS_TOPIC_ARN: props.topic.topicArn,
      },
    });
    this.function = fn;
    props.usageTable.grantReadData(role);
    props.aggregatesTable.grantReadWriteData(role);
    grantAlertPublishing(props.topic, role);
    const usageId = Stack.of(this).getLogicalId(props.usageTable.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${usageId}.Arn>/index/*]`,
      reason:
        'The only wildcard is "<usage-table-arn>/index/*" from grantReadData: the report queries the usage records by day (byDayShard index).',
    });

    this.schedule = new Rule(this, 'Schedule', {
      ruleName: `${props.namePrefix}-daily-report`,
      description: 'Reports the previous UTC day at 00:15 UTC',
      schedule: Schedule.cron({ minute: '15', hour: '0' }),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(2) })],
    });

    this.failures = notifyingAlarm(this, 'Failures', props.topic, {
      alarmName: `${props.namePrefix}-daily-report-failures`,
      alarmDescription: 'The daily cost report Lambda failed (it is retried twice; re-run with {"day":"YYYY-MM-DD"}).',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }
}
