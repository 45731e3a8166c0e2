/**
 * What on-call looks at and hears from: a CloudWatch dashboard (requests, errors, latency, tokens,
 * cost, fallbacks, rate-limit refusals, Lambda, API Gateway, DynamoDB) and alarms on the alerts topic
 * (provider error rate, p99 latency, daily cost, cost anomaly, Lambda errors).
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AnomalyDetectionAlarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type AlarmProps,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { targetKey, TASK_TYPES, type PlannedTarget } from '../../lambdas/core/ai/route-table';
import { notifyingAlarm } from './alerts';

export interface ObservabilityProps {
  readonly namePrefix: string;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly api: RestApi;
  readonly gatewayFunction: IFunction;
  readonly reportFunction: IFunction;
  readonly heartbeatFunction: IFunction;
  /** Every configured target (provider and model or deployment), for the circuit-state widget. */
  readonly targets: readonly PlannedTarget[];
  /** Every provider (built in, and the route table's OpenAI-compatible ones), for the error-rate alarms. */
  readonly providerIds: readonly string[];
  readonly tables: TableV2[];
  readonly topic: Topic;
  /** Daily spend (USD) that raises the daily cost alarm. @default 100 */
  readonly dailyCostAlarmUsd?: number;
  /**
   * The cost alarms (daily cost, cost anomaly). Off with AI metering off: no usage record, so no cost
   * is computed and their metric never comes. @default true
   */
  readonly costAlarms?: boolean;
  /** p99 of the time callers wait for an answer to start, in ms. @default 5000 */
  readonly latencyP99Ms?: number;
}

const MINUTE = Duration.minutes(1);

export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const ns = props.metricsNamespace;
    const service = (metricName: string, statistic = 'Sum', period = MINUTE) =>
      new Metric({ namespace: ns, metricName, dimensionsMap: { service: props.serviceName }, statistic, period });
    const search = (dimensions: string, metricName: string, statistic: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${ns},${dimensions}} MetricName="${metricName}"', '${statistic}', 60)`,
        label,
        period: MINUTE,
      });
    const notify = (alarm: Alarm) => {
      this.alarms.push(alarm);
      return alarm;
    };
    const alarm = (alarmId: string, alarmProps: AlarmProps) => notify(notifyingAlarm(this, alarmId, props.topic, alarmProps));

    // Provider error rate: failed attempts over all attempts of one provider, across task types, above 10% for 5 minutes.
    for (const provider of props.providerIds) {
      const usingMetrics: Record<string, IMetric> = {};
      TASK_TYPES.forEach((taskType, i) => {
        const dims = { provider, taskType };
        usingMetrics[`e${i}`] = new Metric({
          namespace: ns,
          metricName: 'ProviderErrors',
          dimensionsMap: dims,
          statistic: 'Sum',
          period: MINUTE,
        });
        usingMetrics[`n${i}`] = new Metric({
          namespace: ns,
          metricName: 'ProviderLatency',
          dimensionsMap: dims,
          statistic: 'SampleCount',
          period: MINUTE,
        });
      });
      const errors = TASK_TYPES.map((_, i) => `e${i}`).join(' + ');
      const attempts = TASK_TYPES.map((_, i) => `n${i}`).join(' + ');
      alarm(`ProviderErrorRate-${provider}`, {
        alarmName: `${props.namePrefix}-${provider}-error-rate`,
        alarmDescription: `More than 10% of calls to ${provider} failed for 5 minutes (the gateway falls back, but check the provider).`,
        metric: new MathExpression({
          expression: `IF((${attempts}) > 0, 100 * (${errors}) / (${attempts}), 0)`,
          usingMetrics,
          label: `${provider} error rate (%)`,
          period: MINUTE,
        }),
        threshold: 10,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    const latencyMs = props.latencyP99Ms ?? 5000;
    alarm('LatencyP99', {
      alarmName: `${props.namePrefix}-latency-p99`,
      alarmDescription: `p99 of the time callers wait for an answer to start (first token of a stream, the whole answer otherwise) over ${latencyMs} ms for 5 minutes.`,
      metric: service('ResponseLatency', 'p99'),
      threshold: latencyMs,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    if (props.costAlarms !== false) {
      const dailyCost = props.dailyCostAlarmUsd ?? 100;
      alarm('DailyCost', {
        alarmName: `${props.namePrefix}-daily-cost`,
        alarmDescription: `AI spend over $${dailyCost} in a day (the gateway's own budget alerts warn earlier, at 50% and 80%).`,
        metric: service('CostUSD', 'Sum', Duration.days(1)),
        threshold: dailyCost,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      });

      const anomaly = new AnomalyDetectionAlarm(this, 'CostAnomaly', {
        alarmName: `${props.namePrefix}-cost-anomaly`,
        alarmDescription: 'Hourly AI spend above the band CloudWatch anomaly detection learned from the past two weeks.',
        metric: service('CostUSD', 'Sum', Duration.hours(1)),
        stdDevs: 3,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      anomaly.addAlarmAction(new SnsAction(props.topic));
      notify(anomaly);
    }

    alarm('GatewayLambdaErrors', {
      alarmName: `${props.namePrefix}-gateway-lambda-errors`,
      alarmDescription: 'The gateway function failed (crashed or timed out) 5 or more times in 5 minutes.',
      metric: props.gatewayFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    const fn = props.gatewayFunction;
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${props.namePrefix}-gateway`, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Hybrid Orchestrator (${props.namePrefix})\nAI traffic, spend and health. Alarms notify the alerts topic.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Requests by provider', left: [search('provider,taskType', 'Requests', 'Sum', 'requests')], width: 8 }),
      new GraphWidget({
        title: 'Errors by provider',
        left: [
          search('provider,taskType', 'Errors', 'Sum', 'failed requests'),
          search('provider,taskType', 'ProviderErrors', 'Sum', 'failed attempts'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Response latency (ms)',
        left: ['p50', 'p90', 'p99'].map((stat) => service('ResponseLatency', stat).with({ label: stat })),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Circuit open (1) per target',
        left: props.targets.map(
          (target) =>
            new Metric({
              namespace: ns,
              metricName: 'CircuitOpen',
              dimensionsMap: { target: targetKey(target) },
              statistic: 'Maximum',
              period: MINUTE,
              label: targetKey(target),
            }),
        ),
        leftYAxis: { min: 0, max: 1 },
        width: 8,
      }),
      new GraphWidget({
        title: 'Time to first token by provider (ms)',
        left: [
          search('provider,taskType', 'TimeToFirstToken', 'p50', 'p50'),
          search('provider,taskType', 'TimeToFirstToken', 'p99', 'p99'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Heartbeats and breaker transitions',
        left: [search('target', 'HeartbeatLatency', 'p50', 'heartbeat latency p50')],
        right: [
          search('target', 'HeartbeatFailures', 'Sum', 'heartbeat failures'),
          search('target,to', 'CircuitTransitions', 'Sum', 'transitions'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Tokens by provider and model',
        left: [search('provider,model', 'InputTokens', 'Sum', 'input'), search('provider,model', 'OutputTokens', 'Sum', 'output')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Cost by provider and model (USD)',
        left: [search('provider,model', 'CostUSD', 'Sum', 'cost')],
        right: [service('CostUSD').with({ label: 'total' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Response cache',
        left: [service('CacheHits').with({ label: 'hits' }), service('CacheMisses').with({ label: 'misses' })],
        right: [service('CacheSavedUSD').with({ label: 'saved (USD)' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Fallbacks, retries, unpriced',
        left: [
          service('Fallbacks').with({ label: 'fallbacks' }),
          search('provider,taskType', 'Retries', 'Sum', 'retries'),
          search('provider,model', 'UnpricedRequests', 'Sum', 'unpriced'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Rate-limit refusals',
        left: [
          search('policy,window', 'RateLimited', 'Sum', 'refused'),
          search('window', 'QuotaExceeded', 'Sum', 'quota'),
          search('policy', 'RateLimiterErrors', 'Sum', 'limiter errors'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Gateway Lambda',
        left: [fn.metricErrors({ period: MINUTE }), fn.metricThrottles({ period: MINUTE })],
        right: [fn.metricDuration({ period: MINUTE, statistic: 'p99' }).with({ label: 'duration p99' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'API Gateway 4xx / 5xx',
        left: [props.api.metricClientError({ period: MINUTE }), props.api.metricServerError({ period: MINUTE })],
        right: [props.api.metricCount({ period: MINUTE })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'DynamoDB throttles',
        left: props.tables.flatMap((table) =>
          ['ReadThrottleEvents', 'WriteThrottleEvents'].map(
            (metricName) =>
              new Metric({
                namespace: 'AWS/DynamoDB',
                metricName,
                dimensionsMap: { TableName: table.tableName },
                statistic: 'Sum',
                period: MINUTE,
              }),
          ),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: 'Daily report',
        left: [
          props.reportFunction.metricInvocations({ period: Duration.hours(1) }),
          props.reportFunction.metricErrors({ period: Duration.hours(1) }),
        ],
        width: 12,
      }),
    );
  }
}
