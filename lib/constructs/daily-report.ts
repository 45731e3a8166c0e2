/**
 * The daily cost report: a Lambda (Node.js 22, arm64) run by an EventBridge schedule at 00:15 UTC
 * for the previous UTC day, storing the report in the aggregates table and announcing it on the
 * alerts topic, with an alarm when it fails.
 */
import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { join } from 'node:path';

export interface DailyReportProps {
  readonly namePrefix: string;
  readonly usageTable: TableV2;
  readonly aggregatesTable: TableV2;
  readonly topic: Topic;
  readonly logRetention: RetentionDays;
}

const ROOT = join(__dirname, '..', '..');

export class DailyReport extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  readonly failures: Alarm;

  constructor(scope: Construct, id: string, props: DailyReportProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: 'Hybrid Orchestrator daily report' });
    role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'lambdas', 'handlers', 'daily-report.ts'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.minutes(5),
      role,
      logGroup,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        USAGE_TABLE: props.usageTable.tableName,
        USAGE_AGGREGATES_TABLE: props.aggregatesTable.tableName,
        ALERTS_TOPIC_ARN: props.topic.topicArn,
        SERVICE_NAME: 'hybrid-orchestrator',
      },
      bundling: { forceDockerBundling: false, minify: true, sourceMap: true, target: 'node22', format: OutputFormat.CJS, externalModules: [] },
    });
    props.usageTable.grantReadData(role);
    props.aggregatesTable.grantReadWriteData(role);
    props.topic.grantPublish(role);
    const usageId = Stack.of(this).getLogicalId(props.usageTable.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${usageId}.Arn>/index/*]`,
      reason: 'The only wildcard is "<usage-table-arn>/index/*" from grantReadData: the report queries the usage records by day (byDay index).',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'kms:GenerateDataKey* (from grantPublish) is what publishing to the KMS-encrypted alerts topic needs, on that one key only.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime this code is built and tested for; upgrades go through the test suite first.',
    });

    this.schedule = new Rule(this, 'Schedule', {
      ruleName: `${props.namePrefix}-daily-report`,
      description: 'Reports the previous UTC day at 00:15 UTC',
      schedule: Schedule.cron({ minute: '15', hour: '0' }),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(2) })],
    });

    this.failures = new Alarm(this, 'Failures', {
      alarmName: `${props.namePrefix}-daily-report-failures`,
      alarmDescription: 'The daily cost report Lambda failed (it is retried twice; re-run with {"day":"YYYY-MM-DD"}).',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.failures.addAlarmAction(new SnsAction(props.topic));
  }
}
