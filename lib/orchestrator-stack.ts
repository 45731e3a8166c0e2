/** The gateway stack: wires the data, secrets and API constructs together. */
import { gzipSync } from 'node:zlib';
import { Annotations, CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import defaultRoutes from '../config/routes.json';
import { parseRouteTable } from '../lambdas/core/ai/route-table';
import { providersOf } from '../lambdas/adapters/providers/registry';
import { parsePolicies } from '../lambdas/core/rate-limit/policies';
import { configuredTargets } from '../lambdas/core/health/heartbeats';
import {
  API_KEYS_TABLE,
  PROVIDER_HEALTH_TABLE,
  RESPONSE_CACHE_TABLE,
  RATE_LIMITS_TABLE,
  TABLES,
  USAGE_AGGREGATES_TABLE,
  USAGE_TABLE,
} from '../lambdas/shared/tables';
import { Heartbeats } from './constructs/heartbeats';
import { UsageSpill } from './constructs/usage-spill';
import { UsageAggregation } from './constructs/usage-aggregation';
import { DailyReport } from './constructs/daily-report';
import { Observability } from './constructs/observability';
import { Alerts, grantAlertPublishing } from './constructs/alerts';
import { FeatureFlags } from './constructs/feature-flags';
import { DataTables } from './constructs/data-tables';
import { GatewayApi } from './constructs/gateway-api';
import { grantRuntimeProviderSecrets, ProviderSecrets, runtimeProviderSecretPrefix } from './constructs/provider-secrets';
import { grantBedrock } from './constructs/bedrock-access';
import { ManagedInstances, type ManagedInstancesSettings } from './constructs/managed-instances';

export interface OrchestratorStackProps extends StackProps {
  /** Deployment stage, part of every resource name. */
  readonly stage: string;
  /**
   * A route table JSON file replacing config/routes.json for this deployment (validated at synth).
   * @default the repository's config/routes.json
   */
  readonly routeTableFile?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Delete the tables with the stack (for throwaway stages only).
   * @default false
   */
  readonly destroyData?: boolean;
  /**
   * `RATE_LIMIT_POLICIES` for this deployment: a JSON document merged onto the defaults (validated at synth).
   * @default the built-in policies
   */
  readonly rateLimitPolicies?: string;
  /**
   * `false` deploys the stateless path (`AI_METERING=off`): AI requests pass without per-user limits,
   * token quota or usage records (so no budgets, cost aggregates or daily report for them); OnlyFans
   * messages keep their limits and records.
   * @default true
   */
  readonly aiMetering?: boolean;
  /** Base URL of the OnlyFans gateway service (`POST {url}/messages`). Without it, messages answer 502. */
  readonly onlyfansGatewayUrl?: string;
  /**
   * Share of users (0..100) on the orchestrated path in the first flag document deployed to AppConfig;
   * later changes go through AppConfig deployments, not the stack.
   * @default 0 (everyone on the legacy path)
   */
  readonly initialRolloutPercentage?: number;
  /** USD budgets with alerts at 50%, 80% and 100% (global and per user, per day and per month). @default none */
  readonly budgets?: { dailyUsd?: number; monthlyUsd?: number; userDailyUsd?: number; userMonthlyUsd?: number };
  /** Daily spend (USD) that raises the CloudWatch daily cost alarm. @default 100 */
  readonly dailyCostAlarmUsd?: number;
  /**
   * How the gateway function runs: `on-demand` Lambda (pays per request and per second of waiting for
   * the provider; scales to zero) or `managed-instances` (Lambda Managed Instances: EC2 capacity in a
   * VPC, many requests per execution environment; for steady traffic).
   * @default 'on-demand'
   */
  readonly computeMode?: 'on-demand' | 'managed-instances';
  /** Settings of the `managed-instances` mode (per environment). */
  readonly managedInstances?: ManagedInstancesSettings;
  /**
   * Keeps the usage table's old unsharded `byDay` index beside `byDayShard`, for one deploy while a
   * stack made before the sharding is upgraded (CloudFormation adds or drops one index per update).
   * See "Upgrading" in the README.
   * @default false
   */
  readonly keepLegacyDayIndex?: boolean;
  /**
   * Memory of the gateway function in on-demand mode (CPU share grows with it; see "Memory size" in
   * the README for the measured trade-off). Managed instances always use 2,048 MB environments.
   * @default 768
   */
  readonly gatewayMemoryMb?: number;
}

export class OrchestratorStack extends Stack {
  constructor(scope: Construct, id: string, props: OrchestratorStackProps) {
    super(scope, id, props);
    if (!/^[a-z][a-z0-9-]{0,20}$/.test(props.stage)) throw new Error(`stage "${props.stage}" must be lowercase letters, digits and dashes`);
    const namePrefix = `hybrid-orchestrator-${props.stage}`;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    const environment: Record<string, string> = {};
    const routeTable = props.routeTableFile
      ? parseRouteTable(JSON.parse(readFileSync(props.routeTableFile, 'utf8')), props.routeTableFile)
      : parseRouteTable(defaultRoutes, 'config/routes.json');
    // Gzipped: a Lambda's variables share 4 KB, and the shipped table alone is about 3.6 KB of JSON.
    if (props.routeTableFile) environment['ROUTES_JSON_GZ'] = gzipSync(JSON.stringify(routeTable), { level: 9 }).toString('base64');
    if (props.rateLimitPolicies) {
      parsePolicies(JSON.parse(props.rateLimitPolicies), 'rateLimitPolicies');
      environment['RATE_LIMIT_POLICIES'] = props.rateLimitPolicies;
    }
    if (props.aiMetering === false) environment['AI_METERING'] = 'off';
    if (props.onlyfansGatewayUrl) environment['ONLYFANS_GATEWAY_URL'] = new URL(props.onlyfansGatewayUrl).toString();
    // The request deadline must end before Lambda does, or callers would get API Gateway's bare 5xx.
    const functionTimeout = Duration.seconds(Math.max(300, routeTable.defaults.deadlineMs / 1000 + 30));

    const data = new DataTables(this, 'Data', {
      definitions: props.keepLegacyDayIndex
        ? TABLES.map((t) =>
            t === USAGE_TABLE ? { ...t, indexes: [{ name: 'byDay', partitionKey: 'day', sortKey: 'createdAt' }, ...t.indexes] } : t,
          )
        : TABLES,
      namePrefix,
      removalPolicy: props.destroyData ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (
      props.gatewayMemoryMb !== undefined &&
      !(Number.isInteger(props.gatewayMemoryMb) && props.gatewayMemoryMb >= 256 && props.gatewayMemoryMb <= 10_240)
    )
      throw new Error(`gatewayMemoryMb must be a whole number of MB from 256 to 10240 (got ${String(props.gatewayMemoryMb)})`);
    const apiKeysTable = data.table(API_KEYS_TABLE.logicalName);
    const secrets = new ProviderSecrets(this, 'ProviderSecrets', { namePrefix, providers: providersOf(routeTable) });
    // Bedrock signs with the functions' role: its region in their environment, its models in their grants.
    const bedrock = providersOf(routeTable).some((p) => p.id === 'bedrock') ? routeTable.providers['bedrock'] : undefined;
    if (bedrock) environment['BEDROCK_REGION'] = this.region;
    // Runtime providers' keys (`/admin/providers`): secrets under this prefix only.
    environment['RUNTIME_PROVIDER_SECRET_PREFIX'] = runtimeProviderSecretPrefix(namePrefix);
    const gateway = new GatewayApi(this, 'Gateway', {
      stage: props.stage,
      apiKeysTable,
      rateLimitsTable: data.table(RATE_LIMITS_TABLE.logicalName),
      providerSecrets: secrets.entries,
      environment,
      timeout: functionTimeout,
      logRetention,
      // A managed-instances environment serves many requests at once: 2 GB (1 vCPU at 2 GiB per vCPU).
      ...(props.computeMode === 'managed-instances'
        ? { memorySize: 2048 }
        : props.gatewayMemoryMb !== undefined
          ? { memorySize: props.gatewayMemoryMb }
          : {}),
    });
    if (props.computeMode === 'managed-instances') {
      // The instances reach the outside on HTTPS only (the security group): say so at synth, not as a
      // connect timeout in production.
      if (props.onlyfansGatewayUrl && new URL(props.onlyfansGatewayUrl).protocol !== 'https:')
        throw new Error('computeMode managed-instances: onlyfansGatewayUrl must be https (the instances may only open HTTPS connections)');
      if (props.onlyfansGatewayUrl && !['', '443'].includes(new URL(props.onlyfansGatewayUrl).port))
        throw new Error('computeMode managed-instances: onlyfansGatewayUrl must use port 443');
      new ManagedInstances(this, 'ManagedInstances', {
        namePrefix,
        gatewayFunction: gateway.function,
        logRetention,
        ...props.managedInstances,
      });
    } else if (props.computeMode !== undefined && props.computeMode !== 'on-demand') {
      throw new Error(`computeMode "${String(props.computeMode)}" must be on-demand or managed-instances`);
    } else if (props.managedInstances && Object.keys(props.managedInstances).length > 0) {
      Annotations.of(this).addWarningV2(
        'hybrid-orchestrator:managedInstancesIgnored',
        'managed-instances settings are ignored: computeMode is on-demand (set -c computeMode=managed-instances)',
      );
    }

    const alerts = new Alerts(this, 'Alerts', {
      namePrefix,
      metricsNamespace: 'HybridOrchestrator',
      serviceName: 'hybrid-orchestrator',
      api: gateway.api,
    });
    const flags = new FeatureFlags(this, 'Flags', {
      namePrefix,
      stage: props.stage,
      initialRolloutPercentage: props.initialRolloutPercentage ?? 0,
      rollbackAlarm: alerts.errorRate,
    });
    for (const [name, value] of Object.entries(flags.functionEnvironment)) gateway.function.addEnvironment(name, value);
    flags.grantRead(gateway.function.role!);

    // Usage records, aggregates, budget alerts and the daily report.
    const usageTable = data.table(USAGE_TABLE.logicalName);
    const aggregatesTable = data.table(USAGE_AGGREGATES_TABLE.logicalName);
    const gatewayRole = gateway.function.role!;
    usageTable.grantReadWriteData(gatewayRole);
    aggregatesTable.grantReadWriteData(gatewayRole);
    grantAlertPublishing(alerts.topic, gatewayRole);
    Validations.of(gatewayRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(usageTable.node.defaultChild as CfnElement)}.Arn>/index/*]`,
      reason:
        'The only wildcard is "<usage-table-arn>/index/*" from grantReadWriteData: admin reads query usage records by day (byDayShard index).',
    });
    const budgetEnv: Record<string, number | undefined> = {
      BUDGET_DAILY_USD: props.budgets?.dailyUsd,
      BUDGET_MONTHLY_USD: props.budgets?.monthlyUsd,
      BUDGET_USER_DAILY_USD: props.budgets?.userDailyUsd,
      BUDGET_USER_MONTHLY_USD: props.budgets?.userMonthlyUsd,
    };
    for (const [name, value] of Object.entries({
      USAGE_TABLE: usageTable.tableName,
      USAGE_AGGREGATES_TABLE: aggregatesTable.tableName,
      ALERTS_TOPIC_ARN: alerts.topic.topicArn,
    })) {
      gateway.function.addEnvironment(name, value);
    }
    const budgetSettings: Record<string, string> = {};
    for (const [name, value] of Object.entries(budgetEnv)) {
      if (value === undefined) continue;
      if (!(value > 0)) throw new Error(`budgets: ${name} must be a positive number of USD`);
      budgetSettings[name] = String(value);
    }
    // The request path writes only the usage record; aggregates, spend totals and budget alerts follow
    // from the usage table's stream, in batches.
    gateway.function.addEnvironment('USAGE_AGGREGATION', 'stream');
    new UsageAggregation(this, 'UsageAggregation', {
      namePrefix,
      usageTable,
      aggregatesTable,
      rateLimitsTable: data.table(RATE_LIMITS_TABLE.logicalName),
      topic: alerts.topic,
      logRetention,
      environment: budgetSettings,
    });
    // Usage records that the usage table cannot take wait in a queue and are written back later.
    const spill = new UsageSpill(this, 'UsageSpill', {
      namePrefix,
      usageTable,
      aggregatesTable,
      topic: alerts.topic,
      logRetention,
    });
    spill.queue.grantSendMessages(gatewayRole);
    gateway.function.addEnvironment('USAGE_SPILL_QUEUE_URL', spill.queue.queueUrl);

    // Provider health: breakers shared by every instance, and heartbeats every minute.
    const healthTable = data.table(PROVIDER_HEALTH_TABLE.logicalName);
    healthTable.grantReadWriteData(gatewayRole);
    gateway.function.addEnvironment('PROVIDER_HEALTH_TABLE', healthTable.tableName);
    const cacheTable = data.table(RESPONSE_CACHE_TABLE.logicalName);
    cacheTable.grantReadWriteData(gatewayRole);
    gateway.function.addEnvironment('RESPONSE_CACHE_TABLE', cacheTable.tableName);
    const heartbeats = new Heartbeats(this, 'Heartbeats', {
      namePrefix,
      metricsNamespace: 'HybridOrchestrator',
      healthTable,
      providerSecrets: secrets.entries,
      targets: configuredTargets(routeTable),
      topic: alerts.topic,
      logRetention,
      environment,
    });
    if (bedrock) for (const fn of [gateway.function, heartbeats.function]) grantBedrock(fn.role!, bedrock);
    grantRuntimeProviderSecrets(gateway.function.role!, namePrefix, true);
    grantRuntimeProviderSecrets(heartbeats.function.role!, namePrefix, false);
    const report = new DailyReport(this, 'DailyReport', {
      namePrefix,
      usageTable,
      aggregatesTable,
      topic: alerts.topic,
      logRetention,
    });
    const observability = new Observability(this, 'Observability', {
      namePrefix,
      metricsNamespace: 'HybridOrchestrator',
      serviceName: 'hybrid-orchestrator',
      api: gateway.api,
      gatewayFunction: gateway.function,
      reportFunction: report.function,
      heartbeatFunction: heartbeats.function,
      targets: configuredTargets(routeTable),
      providerIds: providersOf(routeTable).map((p) => p.id),
      tables: [...data.tables.values()],
      topic: alerts.topic,
      ...(props.dailyCostAlarmUsd !== undefined ? { dailyCostAlarmUsd: props.dailyCostAlarmUsd } : {}),
      costAlarms: props.aiMetering !== false,
    });

    new CfnOutput(this, 'AlertsTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: observability.dashboard.dashboardName });
    new CfnOutput(this, 'AppConfigApplicationId', { value: flags.application.applicationId });
    new CfnOutput(this, 'AppConfigEnvironmentId', { value: flags.environment.environmentId });
    new CfnOutput(this, 'AppConfigProfileId', { value: flags.profile.configurationProfileId });
    new CfnOutput(this, 'BaseUrl', { value: gateway.baseUrl, description: 'OpenAI-compatible base URL' });
    new CfnOutput(this, 'ApiKeysTable', { value: apiKeysTable.tableName });
    for (const { provider, outputName, secret } of secrets.entries)
      new CfnOutput(this, outputName, { value: secret.secretArn, description: `Credentials of ${provider}` });
  }
}
