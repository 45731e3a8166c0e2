/**
 * Heartbeats: a Lambda (Node.js 22, arm64) run every minute by EventBridge that probes every configured
 * target with a one-token completion, writes the results to the provider-health table (where a
 * half-open breaker takes one as its probe), and reports each target's circuit state; an alarm per
 * target fires when it has been out of rotation for more than 5 minutes.
 */
import { Duration } from 'aws-cdk-lib';
import { ComparisonOperator, Metric, TreatMissingData, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { targetKey, type PlannedTarget } from '../../lambdas/core/ai/route-table';
import { notifyingAlarm } from './alerts';
import { nodeFunction } from './node-function';
import { BUNDLED_BEDROCK_SDK } from '../../lambdas/adapters/providers/bedrock/sdk';
import { BEDROCK_SDK_ENTRY, sideBundle } from '../bundling/bundling';
import type { ProviderSecret } from './provider-secrets';

export interface HeartbeatsProps {
  readonly namePrefix: string;
  readonly metricsNamespace: string;
  readonly healthTable: TableV2;
  readonly providerSecrets: readonly ProviderSecret[];
  /** Every configured target: one alarm each. */
  readonly targets: readonly PlannedTarget[];
  readonly topic: Topic;
  readonly logRetention: RetentionDays;
  /** The gateway's environment that shapes routing (`ROUTES_JSON_GZ`), so heartbeats probe the same targets. */
  readonly environment?: Record<string, string>;
  /** @default Duration.minutes(1) */
  readonly interval?: Duration;
}

export class Heartbeats extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  /** A target out of rotation (circuit open or taken down) for more than 5 minutes. */
  readonly providerDown: Alarm[] = [];

  constructor(scope: Construct, id: string, props: HeartbeatsProps) {
    super(scope, id);
    const { function: fn, role } = nodeFunction(this, {
      handlerFile: 'heartbeat.ts',
      description: 'Hybrid Orchestrator provider heartbeats',
      memorySize: 512,
      timeout: Duration.seconds(50),
      retention: props.logRetention,
      environment: {
        PROVIDER_HEALTH_TABLE: props.healthTable.tableName,
        METRICS_NAMESPACE: props.metricsNamespace,
        ...Object.fromEntries(props.providerSecrets.map(({ secretIdVariable, secret }) => [secretIdVariable, secret.secretArn])),
        ...props.environment,
      },
      // Heartbeats probe Bedrock targets too: its SDK in a file of its own, as for the gateway.
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir: string, outputDir: string) => [sideBundle(inputDir, outputDir, BEDROCK_SDK_ENTRY, BUNDLED_BEDROCK_SDK)],
      },
    });
    this.function = fn;
    props.healthTable.grantReadWriteData(role);
    for (const { secret } of props.providerSecrets) secret.grantRead(role);

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Probes every configured provider target',
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      // A missed minute is not worth catching up: the next run is a minute away.
      targets: [new LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    for (const target of props.targets) {
      const key = targetKey(target);
      const safe = key.replace(/[^A-Za-z0-9-]/g, '-');
      this.providerDown.push(
        notifyingAlarm(this, `ProviderDown-${safe}`, props.topic, {
          alarmName: `${props.namePrefix}-provider-down-${safe}`,
          alarmDescription: `${key} has been out of rotation (circuit open, or taken down by an admin) for more than 5 minutes. GET /api/ai-providers/health says why.`,
          metric: new Metric({
            namespace: props.metricsNamespace,
            metricName: 'CircuitOpen',
            dimensionsMap: { target: key },
            statistic: 'Maximum',
            period: Duration.minutes(1),
          }),
          threshold: 1,
          evaluationPeriods: 6,
          datapointsToAlarm: 6,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }
}
