/**
 * The gateway Lambda (Node.js 22, arm64, bundled locally with esbuild) behind an API Gateway REST
 * API whose proxy integration streams responses, with access logs and least-privilege grants.
 */
import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseTransferMode,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLED_TOKENIZER } from '../../lambdas/adapters/tokenizer/tokenizer-estimator';
import { BUNDLED_BEDROCK_SDK } from '../../lambdas/adapters/providers/bedrock/sdk';
import { BEDROCK_SDK_ENTRY, sideBundle } from '../bundling/bundling';
import { nodeFunction } from './node-function';
import type { ProviderSecret } from './provider-secrets';

export interface GatewayApiProps {
  readonly stage: string;
  readonly apiKeysTable: TableV2;
  /** Rate-limit counters and message idempotency records. */
  readonly rateLimitsTable: TableV2;
  /** One secret per registered provider, with the variable that names it to the function. */
  readonly providerSecrets: readonly ProviderSecret[];
  /** Extra environment for the function (route table override, cache TTLs...). */
  readonly environment?: Record<string, string>;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Memory, and with it the CPU share (1,769 MB is one vCPU). 768 MB: measured by `bench/memory.ts`,
   * see "Memory size" in the README.
   * @default 768
   */
  readonly memorySize?: number;
  /**
   * Upper bound of one request, streams included (API Gateway REST streaming allows up to 15 min).
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
}

export class GatewayApi extends Construct {
  readonly function: NodejsFunction;
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(5);
    if (timeout.toSeconds() > 900) throw new Error('GatewayApi: timeout cannot exceed 15 minutes (API Gateway streaming limit)');
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    const { function: fn, role } = nodeFunction(this, {
      handlerFile: 'gateway.ts',
      description: 'Hybrid Orchestrator gateway function',
      memorySize: props.memorySize ?? 768,
      timeout,
      retention,
      environment: {
        API_KEYS_TABLE: props.apiKeysTable.tableName,
        RATE_LIMITS_TABLE: props.rateLimitsTable.tableName,
        ...Object.fromEntries(props.providerSecrets.map(({ secretIdVariable, secret }) => [secretIdVariable, secret.secretArn])),
        METRICS_NAMESPACE: 'HybridOrchestrator',
        ...props.environment,
      },
      // The tokenizer's rank table and the Bedrock SDK go in files of their own, loaded only when a cut
      // stream or a Bedrock call first needs them.
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (inputDir: string, outputDir: string) => [
          sideBundle(inputDir, outputDir, 'node_modules/gpt-tokenizer/cjs/encoding/o200k_base.js', BUNDLED_TOKENIZER),
          sideBundle(inputDir, outputDir, BEDROCK_SDK_ENTRY, BUNDLED_BEDROCK_SDK),
        ],
      },
    });
    this.function = fn;
    props.apiKeysTable.grantReadWriteData(role);
    props.rateLimitsTable.grantReadWriteData(role);
    for (const { secret } of props.providerSecrets) secret.grantRead(role);
    const tableLogicalId = Stack.of(this).getLogicalId(props.apiKeysTable.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${tableLogicalId}.Arn>/index/*]`,
      reason:
        'The only wildcard is "<table-arn>/index/*" from grantReadWriteData: the function queries the api-keys table indexes (byId, byUser).',
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention });
    this.api = new RestApi(this, 'Api', {
      restApiName: `hybrid-orchestrator-${props.stage}`,
      description: 'Hybrid Orchestrator: OpenAI-compatible AI gateway',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stage,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        throttlingBurstLimit: 500,
        throttlingRateLimit: 1000,
      },
    });
    const integration = new LambdaIntegration(this.function, {
      proxy: true,
      responseTransferMode: ResponseTransferMode.STREAM,
      timeout,
    });
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'A single proxy integration: the gateway validates every request body with zod and answers 4xx in the OpenAI or legacy shape.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Clients authenticate with their existing bearer API keys, verified by the function against hashed keys in DynamoDB (401/403 in OpenAI shape).',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'No Cognito user pool: callers are applications holding gateway API keys, checked by the function.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'WAF is optional per deployment (attach a web ACL to the stage); per-key authentication and stage throttling apply to every request.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'API Gateway account role: AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented managed policy for execution and access logging.',
      },
    );
  }

  /** The OpenAI-compatible base URL (`.../v1`). */
  get baseUrl(): string {
    return `${this.api.url}v1`;
  }
}
