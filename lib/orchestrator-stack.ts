/** The gateway stack: wires the data, secrets and API constructs together. */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import defaultRoutes from '../config/routes.json';
import { parseRouteTable } from '../lambdas/core/route-table';
import { parsePolicies } from '../lambdas/core/rate-limit/policies';
import { API_KEYS_TABLE, RATE_LIMITS_TABLE, TABLES } from '../lambdas/shared/tables';
import { Alerts } from './constructs/alerts';
import { FeatureFlags } from './constructs/feature-flags';
import { DataTables } from './constructs/data-tables';
import { GatewayApi } from './constructs/gateway-api';
import { ProviderSecrets } from './constructs/provider-secrets';

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
  /** Base URL of the OnlyFans gateway service (`POST {url}/messages`). Without it, messages answer 502. */
  readonly onlyfansGatewayUrl?: string;
  /**
   * Share of users (0..100) on the orchestrated path in the first flag document deployed to AppConfig;
   * later changes go through AppConfig deployments, not the stack.
   * @default 0 (everyone on the legacy path)
   */
  readonly initialRolloutPercentage?: number;
}

export class OrchestratorStack extends Stack {
  constructor(scope: Construct, id: string, props: OrchestratorStackProps) {
    super(scope, id, props);
    if (!/^[a-z][a-z0-9-]{0,20}$/.test(props.stage)) throw new Error(`stage "${props.stage}" must be lowercase letters, digits and dashes`);
    const namePrefix = `hybrid-orchestrator-${props.stage}`;

    const environment: Record<string, string> = {};
    const routeTable = props.routeTableFile
      ? parseRouteTable(JSON.parse(readFileSync(props.routeTableFile, 'utf8')), props.routeTableFile)
      : parseRouteTable(defaultRoutes, 'config/routes.json');
    if (props.routeTableFile) environment['ROUTES_JSON'] = JSON.stringify(routeTable);
    if (props.rateLimitPolicies) {
      parsePolicies(JSON.parse(props.rateLimitPolicies), 'rateLimitPolicies');
      environment['RATE_LIMIT_POLICIES'] = props.rateLimitPolicies;
    }
    if (props.onlyfansGatewayUrl) environment['ONLYFANS_GATEWAY_URL'] = new URL(props.onlyfansGatewayUrl).toString();
    // The request deadline must end before Lambda does, or callers would get API Gateway's bare 5xx.
    const functionTimeout = Duration.seconds(Math.max(300, routeTable.defaults.deadlineMs / 1000 + 30));

    const data = new DataTables(this, 'Data', {
      definitions: TABLES,
      namePrefix,
      removalPolicy: props.destroyData ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const apiKeysTable = data.table(API_KEYS_TABLE.logicalName);
    const secrets = new ProviderSecrets(this, 'ProviderSecrets', { namePrefix });
    const gateway = new GatewayApi(this, 'Gateway', {
      stage: props.stage,
      apiKeysTable,
      rateLimitsTable: data.table(RATE_LIMITS_TABLE.logicalName),
      providerSecrets: secrets.secrets,
      environment,
      timeout: functionTimeout,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });

    const alerts = new Alerts(this, 'Alerts', { namePrefix, metricsNamespace: 'HybridOrchestrator', serviceName: 'hybrid-orchestrator', api: gateway.api });
    const flags = new FeatureFlags(this, 'Flags', {
      namePrefix,
      stage: props.stage,
      initialRolloutPercentage: props.initialRolloutPercentage ?? 0,
      rollbackAlarm: alerts.errorRate,
    });
    for (const [name, value] of Object.entries(flags.functionEnvironment)) gateway.function.addEnvironment(name, value);
    flags.grantRead(gateway.function.role!);

    new CfnOutput(this, 'AlertsTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'AppConfigApplicationId', { value: flags.application.applicationId });
    new CfnOutput(this, 'AppConfigEnvironmentId', { value: flags.environment.environmentId });
    new CfnOutput(this, 'AppConfigProfileId', { value: flags.profile.configurationProfileId });
    new CfnOutput(this, 'BaseUrl', { value: gateway.baseUrl, description: 'OpenAI-compatible base URL' });
    new CfnOutput(this, 'ApiKeysTable', { value: apiKeysTable.tableName });
    new CfnOutput(this, 'OpenAiSecretArn', { value: secrets.secrets.openai.secretArn });
    new CfnOutput(this, 'AzureOpenAiSecretArn', { value: secrets.secrets['azure-openai'].secretArn });
  }
}
