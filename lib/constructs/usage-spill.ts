/**
 * Where usage records wait while the usage table is unavailable: an SQS queue the gateway spills to,
 * a Lambda that writes them back (idempotently, reporting partial batch failures), a dead-letter queue
 * for records that keep failing, and alarms on records waiting and records dead-lettered.
 */
import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, type Alarm, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetters, grantAlertPublishing, notifyingAlarm } from './alerts';
import { nodeFunction } from './node-function';

export interface UsageSpillProps {
  readonly namePrefix: string;
  readonly usageTable: TableV2;
  readonly aggregatesTable: TableV2;
  readonly topic: Topic;
  readonly logRetention: RetentionDays;
}

export class UsageSpill extends Construct {
  readonly queue: Queue;
  readonly deadLetters: Queue;
  readonly function: NodejsFunction;
  readonly waiting: Alarm;
  readonly lost: Alarm;

  constructor(scope: Construct, id: string, props: UsageSpillProps) {
    super(scope, id);
    const timeout = Duration.seconds(60);
    const dead = deadLetters(this, props.topic, {
      alarmName: `${props.namePrefix}-usage-records-dead-lettered`,
      alarmDescription:
        'A usage record could not be written after 20 tries and is in the dead-letter queue: redrive it once the cause is fixed.',
      whatItHolds: 'usage records the replay could not write after 20 tries',
    });
    this.deadLetters = dead.queue;
    this.lost = dead.alarm;
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the replay function's timeout, as Lambda's SQS integration advises.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 20 },
    });

    const { function: fn, role } = nodeFunction(this, {
      handlerFile: 'usage-replay.ts',
      description: 'Hybrid Orchestrator: writes back usage records spilled while the usage table was unavailable',
      memorySize: 512,
      timeout,
      retention: props.logRetention,
      environment: {
        USAGE_TABLE: props.usageTable.tableName,
        USAGE_AGGREGATES_TABLE: props.aggregatesTable.tableName,
        ALERTS_TOPIC_ARN: props.topic.topicArn,
        // Records written back reach the aggregates through the usage table's stream, like any other.
        USAGE_AGGREGATION: 'stream',
      },
    });
    this.function = fn;
    props.usageTable.grantReadWriteData(role);
    props.aggregatesTable.grantReadWriteData(role);
    grantAlertPublishing(props.topic, role);
    fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 25, maxBatchingWindow: Duration.seconds(30), reportBatchItemFailures: true }),
    );
    const usageId = Stack.of(this).getLogicalId(props.usageTable.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${usageId}.Arn>/index/*]`,
      reason:
        'The only wildcard is "<usage-table-arn>/index/*" from grantReadWriteData; the replay writes records and never queries an index.',
    });

    this.waiting = notifyingAlarm(this, 'Waiting', props.topic, {
      alarmName: `${props.namePrefix}-usage-records-waiting`,
      alarmDescription:
        'Usage records have been in the spill queue, waiting or being retried, for 15 minutes in a row: the usage table is still unavailable, or the replay keeps failing.',
      // Visible or being retried: a record the replay keeps failing is hidden between its tries (the
      // visibility timeout), so visible ones alone would show none most of the time.
      metric: new MathExpression({
        expression: 'visible + hidden',
        usingMetrics: {
          visible: this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          hidden: this.queue.metricApproximateNumberOfMessagesNotVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        },
        label: 'usage records waiting',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }
}
