/**
 * The batched consumer of usage records: a Lambda on the usage table's stream that applies each batch
 * to the aggregates (one update per cell, guarded by the shard's sequence numbers so re-deliveries
 * never count twice), checks the budgets and settles each user's token reservations on the rate-limit
 * counters (one conditional update per user, versioned so a re-delivery changes nothing). Tuned for a
 * lag of about a second: batches of up to 100 records gathered for at most 1 s. A tumbling window
 * makes each event name its shard. Failed batches are bisected and retried for up to 12 hours, then
 * their position goes to a dead-letter queue; alarms on iterator age (aggregates falling behind) and
 * on dead letters.
 */
import { Duration } from 'aws-cdk-lib';
import { ComparisonOperator, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetters, grantAlertPublishing, notifyingAlarm } from './alerts';
import { nodeFunction } from './node-function';

export interface UsageAggregationProps {
  readonly namePrefix: string;
  readonly usageTable: TableV2;
  readonly aggregatesTable: TableV2;
  /** The rate-limit counters, whose token quotas the consumer settles. */
  readonly rateLimitsTable: TableV2;
  readonly topic: Topic;
  readonly logRetention: RetentionDays;
  /** Budget settings (`BUDGET_*`) and anything else the aggregator reads. */
  readonly environment: Record<string, string>;
}

export class UsageAggregation extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetters: Queue;
  readonly behind: Alarm;
  readonly failed: Alarm;

  constructor(scope: Construct, id: string, props: UsageAggregationProps) {
    super(scope, id);
    const dead = deadLetters(this, props.topic, {
      alarmName: `${props.namePrefix}-usage-aggregation-dead-lettered`,
      alarmDescription:
        'A batch of usage records could not be aggregated for 12 hours: its stream position is in the dead-letter queue and the aggregates (admin usage, budgets) miss those records. The records themselves are stored: the daily report, which reads records, is exact.',
      whatItHolds: 'positions of usage stream batches the aggregation could not apply',
    });
    this.deadLetters = dead.queue;
    this.failed = dead.alarm;
    const { function: fn, role } = nodeFunction(this, {
      handlerFile: 'usage-aggregates.ts',
      description: 'Hybrid Orchestrator: applies usage records to the aggregates and budgets, in batches from the usage table stream',
      memorySize: 512,
      timeout: Duration.seconds(60),
      retention: props.logRetention,
      environment: {
        USAGE_TABLE: props.usageTable.tableName,
        USAGE_AGGREGATES_TABLE: props.aggregatesTable.tableName,
        RATE_LIMITS_TABLE: props.rateLimitsTable.tableName,
        ALERTS_TOPIC_ARN: props.topic.topicArn,
        USAGE_AGGREGATION: 'stream',
        ...props.environment,
      },
    });
    this.function = fn;
    props.aggregatesTable.grantReadWriteData(role);
    props.rateLimitsTable.grantReadWriteData(role);
    grantAlertPublishing(props.topic, role);
    fn.addEventSource(
      new DynamoEventSource(props.usageTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        // Events then carry their shard id, which guards every cell update.
        tumblingWindow: Duration.seconds(60),
        // One batch at a time per shard, in order: each cell's marker is a high-water mark per shard, so
        // a newer record must never be applied before an older one of the same shard.
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        // Retries are idempotent: retry until the records are too old (the stream keeps them 24 h).
        maxRecordAge: Duration.hours(12),
        onFailure: new SqsDlq(this.deadLetters),
        // New records only: not their expiry by TTL, nor a backfill's update (the handler checks too).
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { requestId: { S: FilterRule.exists() } } },
          }),
        ],
      }),
    );
    this.behind = notifyingAlarm(this, 'Behind', props.topic, {
      alarmName: `${props.namePrefix}-usage-aggregation-behind`,
      alarmDescription:
        'The usage aggregates are more than 5 minutes behind the usage records (stream iterator age): budgets and /admin/usage lag; the records themselves are safe.',
      metric: fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 5 * 60_000,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }
}
