/** Infrastructure assertions on the synthesised template, and cdk-nag's AwsSolutions checks. */
import { gunzipSync } from 'node:zlib';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlagDocument } from '../../lambdas/core/rollout/flags';
import { OrchestratorStack } from '../../lib/orchestrator-stack';
import cdkJson from '../../cdk.json';

// The context `cdk synth` runs with (cdk.json's feature flags: partition literals, ...), minus esbuild
// bundling: these tests look at the template, not the bundle.
const context = { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };

function synth(): Template {
  const app = new App({ context });
  const stack = new OrchestratorStack(app, 'Test', { stage: 'test', env: { account: '123456789012', region: 'eu-west-1' } });
  return Template.fromStack(stack);
}

const template = synth();

/** The function whose environment names `variable` (and not `without`). */
const functionWith = (variable: string, without?: string) =>
  Object.values(template.findResources('AWS::Lambda::Function')).find((f) => {
    const env = JSON.stringify((f as { Properties: { Environment?: unknown } }).Properties.Environment ?? '');
    return env.includes(variable) && (!without || !env.includes(without));
  }) as { Properties: { Role: unknown; Environment: { Variables: Record<string, unknown> } } } | undefined;

/** The IAM statements of a function's role. */
const statementsOf = (fn: { Properties: { Role: unknown } }) => {
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(roleId))
    .flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties
          .PolicyDocument.Statement,
    );
};

const actionsOf = (fn: { Properties: { Role: unknown } }) => statementsOf(fn).flatMap((st) => st.Action);

describe('gateway function', () => {
  it('runs Node.js 22 on arm64 with its configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({
          API_KEYS_TABLE: Match.anyValue(),
          OPENAI_SECRET_ID: Match.anyValue(),
          AZURE_OPENAI_SECRET_ID: Match.anyValue(),
        }),
      },
    });
  });

  it('logs to a log group with retention', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.resourceCountIs('AWS::Logs::LogGroup', 6); // gateway function, API access logs, daily report, heartbeats, usage replay, usage aggregation
  });

  it('may read the provider secrets and the keys table, nothing broader', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } } }).Properties.PolicyDocument
          .Statement,
    );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(
      expect.arrayContaining([
        'secretsmanager:GetSecretValue',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ]),
    );
    expect(actions.some((a) => a === '*' || (typeof a === 'string' && a.endsWith(':*')))).toBe(false);
    expect(statements.some((s) => s.Resource === '*')).toBe(false);
  });
});

describe('REST API', () => {
  it('streams responses from the Lambda proxy integration', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        ResponseTransferMode: 'STREAM',
        Uri: Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('response-streaming-invocations')])]),
        }),
      }),
    });
  });

  it('writes access logs and execution error logs on its stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'test',
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue(), Format: Match.anyValue() }),
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: 'ERROR', MetricsEnabled: true })]),
    });
  });
});

describe('data', () => {
  it('keeps API keys in an on-demand, encrypted table with point-in-time recovery and its indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-api-keys',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'keyHash', KeyType: 'HASH' }],
      SSESpecification: Match.objectLike({ SSEEnabled: true }),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true }),
      ],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'byId' }),
        Match.objectLike({
          IndexName: 'byUser',
          KeySchema: [
            { AttributeName: 'userId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('keeps rate-limit counters in their own table with a TTL, which the function may read and update', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-rate-limits',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RATE_LIMITS_TABLE: Match.anyValue() }) },
    });
    const tables = template.findResources('AWS::DynamoDB::GlobalTable', {
      Properties: { TableName: 'hybrid-orchestrator-test-rate-limits' },
    });
    const [tableId] = Object.keys(tables);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> } } }).Properties.PolicyDocument
          .Statement,
    );
    const onTable = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${tableId}"`));
    expect(onTable.flatMap((s) => s.Action)).toEqual(
      expect.arrayContaining([
        'dynamodb:UpdateItem',
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:PutItem',
      ]),
    );
  });

  it('creates one secret per provider with an empty placeholder', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'hybrid-orchestrator-test/providers/azure-openai',
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: JSON.stringify({ apiKey: '', endpoint: '', apiVersion: '2024-10-21' }),
      }),
    });
  });
});

describe('alerts', () => {
  it('alarms on any rate-limiter error, notifying an encrypted, TLS-only SNS topic', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'hybrid-orchestrator-test-alerts', KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'hybrid-orchestrator-test-rate-limiter-errors',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topicId }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'e0 + e1' }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              MetricName: 'RateLimiterErrors',
              Namespace: 'HybridOrchestrator',
              Dimensions: [{ Name: 'policy', Value: 'onlyfans_messaging' }],
            },
          }),
        }),
      ]),
    });
  });
});

describe('usage, cost and alerting', () => {
  const topicId = () => Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
  const alarmNamed = (name: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName === `hybrid-orchestrator-test-${name}`,
    ) as { Properties: Record<string, unknown> } | undefined;

  it('keeps usage records (index by day, sharded) and aggregates in their own tables, which the gateway may write', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-usage',
      KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byDayShard',
          KeySchema: [
            { AttributeName: 'dayShard', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-response-cache',
      KeySchema: [
        { AttributeName: 'scope', KeyType: 'HASH' },
        { AttributeName: 'key', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-usage-aggregates',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          USAGE_TABLE: Match.anyValue(),
          USAGE_AGGREGATES_TABLE: Match.anyValue(),
          ALERTS_TOPIC_ARN: { Ref: topicId() },
        }),
      },
    });
  });

  it('sends every alarm to the alerts topic', () => {
    const names = [
      'openai-error-rate',
      'azure-openai-error-rate',
      'latency-p99',
      'daily-cost',
      'cost-anomaly',
      'gateway-lambda-errors',
      'daily-report-failures',
      'rate-limiter-errors',
      'usage-records-lost',
      'ai-error-rate',
      'api-5xx-rate',
    ];
    for (const name of names) {
      const alarm = alarmNamed(name);
      expect({ name, exists: alarm !== undefined }).toEqual({ name, exists: true });
      if (name === 'ai-error-rate' || name === 'api-5xx-rate') continue; // notified through the composite error-rate alarm
      expect({ name, actions: alarm!.Properties['AlarmActions'] }).toEqual({ name, actions: [{ Ref: topicId() }] });
    }
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [{ Ref: topicId() }] });
  });

  it('alarms on a provider error rate over 10% for 5 minutes and p99 latency over 5 s', () => {
    const provider = alarmNamed('openai-error-rate')!.Properties;
    expect(provider).toMatchObject({ Threshold: 10, EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(JSON.stringify(provider['Metrics'])).toContain('100 * (e0 + e1 + e2) / (n0 + n1 + n2)');
    expect(alarmNamed('latency-p99')!.Properties).toMatchObject({
      Threshold: 5000,
      EvaluationPeriods: 5,
      MetricName: 'ResponseLatency',
      ExtendedStatistic: 'p99',
    });
    expect(alarmNamed('daily-cost')!.Properties).toMatchObject({ Threshold: 100, Period: 86400, MetricName: 'CostUSD' });
    expect(alarmNamed('cost-anomaly')!.Properties).toMatchObject({
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: expect.any(String),
    });
    expect(JSON.stringify(alarmNamed('cost-anomaly')!.Properties['Metrics'])).toContain('ANOMALY_DETECTION_BAND');
  });

  it('encrypts the topic with a rotating key CloudWatch may use', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
  });

  it('draws a dashboard with the widgets on-call needs', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify((dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    for (const title of [
      'Requests by provider',
      'Errors by provider',
      'Response latency (ms)',
      'Tokens by provider and model',
      'Cost by provider and model (USD)',
      'Fallbacks, retries, unpriced',
      'Rate-limit refusals',
      'Gateway Lambda',
      'API Gateway 4xx / 5xx',
      'DynamoDB throttles',
      'Daily report',
    ]) {
      expect(body).toContain(title);
    }
    for (const metric of [
      'p50',
      'p90',
      'p99',
      'Throttles',
      'Duration',
      '4XXError',
      '5XXError',
      'WriteThrottleEvents',
      'RateLimited',
      'CostUSD',
    ])
      expect(body).toContain(metric);
  });

  it('runs the daily report at 00:15 UTC with only the permissions it needs', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 0 * * ? *)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 7200 } })],
    });
    const report = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, f]) =>
        JSON.stringify((f as { Properties: { Environment?: unknown } }).Properties.Environment ?? '').includes('USAGE_TABLE') &&
        !JSON.stringify((f as { Properties: { Environment?: unknown } }).Properties.Environment).includes('API_KEYS_TABLE'),
    );
    expect(report).toBeDefined();
    const roleRef = JSON.stringify((report![1] as { Properties: { Role: unknown } }).Properties.Role);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(JSON.parse(roleRef)['Fn::GetAtt'][0]),
    );
    const actions = policies.flatMap((p) =>
      (
        p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }
      ).Properties.PolicyDocument.Statement.flatMap((st) => st.Action),
    );
    expect(actions).toEqual(expect.arrayContaining(['sns:Publish', 'dynamodb:Query', 'dynamodb:PutItem', 'logs:PutLogEvents']));
    expect(actions.some((a) => a.startsWith('appconfig:') || a.startsWith('secretsmanager:'))).toBe(false);
  });
});

describe('provider health', () => {
  it('keeps breaker states and counters in their own table, which the gateway reads and writes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-provider-health',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    const gateway = functionWith('API_KEYS_TABLE')!;
    expect(gateway.Properties.Environment.Variables['PROVIDER_HEALTH_TABLE']).toBeDefined();
    expect(actionsOf(gateway)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem']));
  });

  it('runs heartbeats every minute with the provider secrets and the health table, and nothing else', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
    const heartbeat = functionWith('PROVIDER_HEALTH_TABLE', 'API_KEYS_TABLE')!;
    expect(Object.keys(heartbeat.Properties.Environment.Variables)).toEqual(
      expect.arrayContaining(['OPENAI_SECRET_ID', 'AZURE_OPENAI_SECRET_ID']),
    );
    const actions = actionsOf(heartbeat);
    expect(actions).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'dynamodb:UpdateItem']));
    expect(actions.some((a) => a.startsWith('sns:') || a.startsWith('appconfig:'))).toBe(false);
  });

  it('alarms when a target has been out of rotation for more than 5 minutes, one alarm per target', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String((a as { Properties: { AlarmName?: string } }).Properties.AlarmName).includes('provider-down'),
    ) as Array<{ Properties: Record<string, unknown> }>;
    expect(alarms.map((a) => a.Properties['AlarmName']).sort()).toEqual([
      'hybrid-orchestrator-test-provider-down-azure-openai-gpt-4-1',
      'hybrid-orchestrator-test-provider-down-azure-openai-gpt-4-1-mini',
      'hybrid-orchestrator-test-provider-down-azure-openai-gpt-4o',
      'hybrid-orchestrator-test-provider-down-azure-openai-gpt-4o-mini',
      'hybrid-orchestrator-test-provider-down-openai-gpt-4-1',
      'hybrid-orchestrator-test-provider-down-openai-gpt-4-1-mini',
      'hybrid-orchestrator-test-provider-down-openai-gpt-4-1-nano',
      'hybrid-orchestrator-test-provider-down-openai-gpt-4o',
      'hybrid-orchestrator-test-provider-down-openai-gpt-4o-mini',
    ]);
    expect(alarms[0]?.Properties).toMatchObject({
      MetricName: 'CircuitOpen',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
      Threshold: 1,
    });
  });
});

describe('usage records that wait', () => {
  it('spills to an encrypted, TLS-only queue with a dead-letter queue, which the gateway may send to', () => {
    const queues = Object.values(template.findResources('AWS::SQS::Queue')) as Array<{ Properties: Record<string, unknown> }>;
    expect(queues).toHaveLength(3); // spill, its dead letters, the aggregation's dead letters
    expect(queues.every((q) => q.Properties['SqsManagedSseEnabled'] === true)).toBe(true);
    expect(queues.some((q) => (q.Properties['RedrivePolicy'] as { maxReceiveCount?: number } | undefined)?.maxReceiveCount === 20)).toBe(
      true,
    );
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      }),
    });
    const gateway = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify((f as { Properties: { Environment?: unknown } }).Properties.Environment ?? '').includes('API_KEYS_TABLE'),
    ) as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(gateway.Properties.Environment.Variables['USAGE_SPILL_QUEUE_URL']).toBeDefined();
  });

  it('writes them back with a Lambda that reports partial batch failures, and alarms on records waiting or dead-lettered', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 25,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName,
    );
    expect(names).toEqual(
      expect.arrayContaining(['hybrid-orchestrator-test-usage-records-waiting', 'hybrid-orchestrator-test-usage-records-dead-lettered']),
    );
    // Records being retried are hidden between tries: the waiting alarm counts them with the visible ones.
    const waiting = (
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).find(
        (a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName === 'hybrid-orchestrator-test-usage-records-waiting',
      ) as { Properties: Record<string, unknown> }
    ).Properties;
    expect(JSON.stringify(waiting['Metrics'])).toContain('visible + hidden');
    expect(JSON.stringify(waiting['Metrics'])).toContain('ApproximateNumberOfMessagesNotVisible');
  });
});

describe('batched usage aggregation', () => {
  const functions = template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Environment: { Variables: Record<string, unknown> } } }
  >;

  it('streams new usage records to an aggregation Lambda: batched, windowed (shard ids), bisected, dead-lettered, new records only', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-usage',
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    const mappings = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { TumblingWindowInSeconds: 60 } }),
    );
    expect(mappings).toHaveLength(1);
    expect((mappings[0] as { Properties: unknown }).Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRecordAgeInSeconds: 43200,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: expect.anything() } },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { requestId: { S: [{ exists: true }] } } } }) }],
      },
    });
    const aggregatorId = (mappings[0] as { Properties: { FunctionName: { Ref: string } } }).Properties.FunctionName.Ref;
    expect(functions[aggregatorId]!.Properties.Environment.Variables).toMatchObject({ USAGE_AGGREGATION: 'stream' });
  });

  it('lets the aggregation Lambda settle token quotas on the rate-limit counters', () => {
    const mapping = Object.values(
      template.findResources('AWS::Lambda::EventSourceMapping', { Properties: { TumblingWindowInSeconds: 60 } }),
    )[0] as {
      Properties: { FunctionName: { Ref: string } };
    };
    const aggregator = template.findResources('AWS::Lambda::Function')[mapping.Properties.FunctionName.Ref] as {
      Properties: { Environment: { Variables: Record<string, { Ref: string }> }; Role: { 'Fn::GetAtt': [string, string] } };
    };
    const counters = aggregator.Properties.Environment.Variables['RATE_LIMITS_TABLE']!;
    expect(template.findResources('AWS::DynamoDB::GlobalTable')[counters.Ref]).toBeDefined();
    const roleId = aggregator.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p as { Properties: { Roles: Array<{ Ref: string }> } }).Properties.Roles.some((r) => r.Ref === roleId))
      .flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> } } }).Properties.PolicyDocument
            .Statement,
      );
    expect(
      statements.some((st) => st.Action.includes('dynamodb:UpdateItem') && JSON.stringify(st.Resource).includes(`"${counters.Ref}"`)),
    ).toBe(true);
  });

  it('leaves the gateway one write per request after the answer: it hands aggregation to the stream', () => {
    const gateway = Object.values(functions).find((f) => 'API_KEYS_TABLE' in f.Properties.Environment.Variables)!;
    expect(gateway.Properties.Environment.Variables['USAGE_AGGREGATION']).toBe('stream');
  });

  it('alarms when the aggregates fall 5 minutes behind, and on a dead-lettered batch', () => {
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmName?: string; MetricName?: string } }).Properties,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          AlarmName: 'hybrid-orchestrator-test-usage-aggregation-behind',
          MetricName: 'IteratorAge',
          Threshold: 300000,
        }),
        expect.objectContaining({ AlarmName: 'hybrid-orchestrator-test-usage-aggregation-dead-lettered' }),
      ]),
    );
  });
});

describe('rollout flags (AppConfig)', () => {
  it('creates the application, environment, feature-flag profile and a gradual deployment strategy', () => {
    template.hasResourceProperties('AWS::AppConfig::Application', { Name: 'hybrid-orchestrator-test' });
    template.hasResourceProperties('AWS::AppConfig::ConfigurationProfile', { Type: 'AWS.AppConfig.FeatureFlags', LocationUri: 'hosted' });
    template.hasResourceProperties('AWS::AppConfig::DeploymentStrategy', {
      GrowthType: 'LINEAR',
      GrowthFactor: 25,
      DeploymentDurationInMinutes: 4,
      FinalBakeTimeInMinutes: 5,
    });
    template.resourceCountIs('AWS::AppConfig::Deployment', 1);
  });

  it('deploys a valid flag document that starts with everyone on the legacy path', () => {
    const versions = Object.values(template.findResources('AWS::AppConfig::HostedConfigurationVersion'));
    expect(versions).toHaveLength(1);
    const props = (versions[0] as { Properties: { Content: string; ContentType: string } }).Properties;
    expect(props.ContentType).toBe('application/json');
    const document = JSON.parse(props.Content);
    expect(parseFlagDocument(document).hybrid_orchestrator).toEqual({
      enabled: true,
      rollout_percentage: 0,
      allow_users: [],
      deny_users: [],
    });
  });

  it('keeps the unsharded day index beside the sharded one while a stack from before the sharding upgrades', () => {
    const stack = new OrchestratorStack(new App({ context }), 'Upgrade', { stage: 'test', keepLegacyDayIndex: true });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'hybrid-orchestrator-test-usage',
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byDay' }), Match.objectLike({ IndexName: 'byDayShard' })],
    });
  });

  it('gives the gateway 768 MB by default, the size the memory bench picked, or what the stage sets', () => {
    const gatewayFunction = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find(
        (f) => 'API_KEYS_TABLE' in ((f as { Properties: { Environment: { Variables: object } } }).Properties.Environment.Variables ?? {}),
      ) as { Properties: { MemorySize: number } };
    const plain = new OrchestratorStack(new App({ context }), 'Plain', { stage: 'test' });
    expect(gatewayFunction(Template.fromStack(plain)).Properties.MemorySize).toBe(768);
    const big = new OrchestratorStack(new App({ context }), 'Big', { stage: 'test', gatewayMemoryMb: 1536 });
    expect(gatewayFunction(Template.fromStack(big)).Properties.MemorySize).toBe(1536);
    expect(() => new OrchestratorStack(new App({ context }), 'Tiny', { stage: 'test', gatewayMemoryMb: 100 })).toThrow(/gatewayMemoryMb/);
  });

  it('starts at the configured percentage', () => {
    const stack = new OrchestratorStack(new App({ context }), 'Ten', { stage: 'test', initialRolloutPercentage: 10 });
    const versions = Object.values(Template.fromStack(stack).findResources('AWS::AppConfig::HostedConfigurationVersion'));
    expect(
      JSON.parse((versions[0] as { Properties: { Content: string } }).Properties.Content).values.hybrid_orchestrator.rollout_percentage,
    ).toBe(10);
    expect(() => new OrchestratorStack(new App({ context }), 'Bad', { stage: 'test', initialRolloutPercentage: 101 })).toThrow(
      /initialRolloutPercentage/,
    );
  });

  it('monitors the environment with the gateway error-rate alarm, so a bad deployment rolls back', () => {
    const composite = template.findResources('AWS::CloudWatch::CompositeAlarm');
    const [compositeId] = Object.keys(composite);
    expect(compositeId).toBeDefined();
    template.hasResourceProperties('AWS::AppConfig::Environment', {
      Name: 'test',
      Monitors: [{ AlarmArn: { 'Fn::GetAtt': [compositeId, 'Arn'] }, AlarmRoleArn: Match.anyValue() }],
    });
    const rule = JSON.stringify((composite[compositeId!] as { Properties: { AlarmRule: unknown } }).Properties.AlarmRule);
    expect(rule).toContain('AiErrorRate');
    expect(rule).toContain('Api5xxRate');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'hybrid-orchestrator-test-ai-error-rate',
      Threshold: 5,
      EvaluationPeriods: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'Errors', Dimensions: [{ Name: 'service', Value: 'hybrid-orchestrator' }] }),
          }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'hybrid-orchestrator-test-api-5xx-rate',
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5XXError', Namespace: 'AWS/ApiGateway' }) }),
        }),
      ]),
    });
  });

  it('points the function at the profile and lets it read only that configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          APPCONFIG_APPLICATION_ID: Match.anyValue(),
          APPCONFIG_ENVIRONMENT_ID: Match.anyValue(),
          APPCONFIG_PROFILE_ID: Match.anyValue(),
        }),
      },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } } }).Properties.PolicyDocument
          .Statement,
    );
    const appconfig = statements.find((st) => JSON.stringify(st.Action).includes('appconfig:GetLatestConfiguration'));
    expect([...(appconfig?.Action as string[])].sort()).toEqual([
      'appconfig:GetLatestConfiguration',
      'appconfig:StartConfigurationSession',
    ]);
    expect(JSON.stringify(appconfig?.Resource)).toMatch(/application\/.*environment\/.*configuration\//);
  });
});

describe('stack props', () => {
  it('validates rate-limit policies at synth time and passes them on', () => {
    expect(
      () =>
        new OrchestratorStack(new App({ context }), 'BadPolicies', { stage: 'test', rateLimitPolicies: '{"ai_requests":{"minute":-1}}' }),
    ).toThrow(/ai_requests\.minute/);
    const stack = new OrchestratorStack(new App({ context }), 'Policies', {
      stage: 'test',
      rateLimitPolicies: '{"ai_requests":{"minute":500}}',
      onlyfansGatewayUrl: 'https://onlyfans-gateway.internal.example',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RATE_LIMIT_POLICIES: '{"ai_requests":{"minute":500}}',
          ONLYFANS_GATEWAY_URL: 'https://onlyfans-gateway.internal.example/',
        }),
      },
    });
  });

  it('deploys the stateless path only when asked (aiMetering: false sets AI_METERING=off)', () => {
    const variables = (stack: OrchestratorStack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
        (f) => (f as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables ?? {},
      );
    const metered = variables(new OrchestratorStack(new App({ context }), 'Metered', { stage: 'test' }));
    expect(metered.some((v) => 'AI_METERING' in v)).toBe(false);
    const statelessStack = new OrchestratorStack(new App({ context }), 'Stateless', { stage: 'test', aiMetering: false });
    const stateless = variables(statelessStack);
    expect(stateless.filter((v) => v['AI_METERING'] === 'off').length).toBeGreaterThan(0);
    // No usage record, no cost computed: the cost alarms could never fire, and are left out.
    const alarmNames = (stack: OrchestratorStack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map(
        (a) => (a as { Properties: { AlarmName?: string } }).Properties.AlarmName,
      );
    expect(alarmNames(statelessStack)).not.toContain('hybrid-orchestrator-test-daily-cost');
    expect(alarmNames(statelessStack)).not.toContain('hybrid-orchestrator-test-cost-anomaly');
  });

  it('validates a route table override at synth time and passes it to the function', () => {
    const app = new App({ context });
    expect(() => new OrchestratorStack(app, 'Bad', { stage: 'test', routeTableFile: join(__dirname, '..', '..', 'package.json') })).toThrow(
      /invalid route table/,
    );
    expect(() => new OrchestratorStack(new App({ context }), 'Bad2', { stage: 'Prod!' })).toThrow(/stage/);
    const withRoutes = new OrchestratorStack(new App({ context }), 'Routes', {
      stage: 'test',
      routeTableFile: join(__dirname, '..', '..', 'config', 'routes.json'),
    });
    const functions = Object.values(Template.fromStack(withRoutes).findResources('AWS::Lambda::Function')) as Array<{
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }>;
    const routed = functions.filter((f) => f.Properties.Environment?.Variables?.['ROUTES_JSON_GZ'] !== undefined);
    // The gateway and the heartbeats route alike.
    expect(routed.length).toBeGreaterThanOrEqual(2);
    const table = JSON.parse(
      gunzipSync(Buffer.from(String(routed[0]!.Properties.Environment!.Variables!['ROUTES_JSON_GZ']), 'base64')).toString(),
    );
    expect(table.tasks.content_planning).toBeDefined();
    // Lambda refuses a function whose variables exceed 4 KB together (names and values; tokens count as
    // their rendered values, so only the plain strings are summed here, with room left for the rest).
    for (const f of functions) {
      const variables = f.Properties.Environment?.Variables ?? {};
      const plain = Object.entries(variables).reduce((n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : 0), 0);
      expect(plain).toBeLessThan(3072);
    }
  });
});

describe('function timeout', () => {
  it('outlasts the request deadline of the route table, so every caller gets an answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    const file = join(dir, 'routes.json');
    const routes = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routes.json'), 'utf8'));
    writeFileSync(file, JSON.stringify({ ...routes, defaults: { ...routes.defaults, deadlineMs: 600_000 } }));
    const stack = new OrchestratorStack(new App({ context }), 'Long', { stage: 'test', routeTableFile: file });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Timeout: 630 });
  });
});

describe('OpenAI-compatible providers in the route table', () => {
  it('get a secret of their own, named in the function environment and a stack output, and an error-rate alarm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    const file = join(dir, 'routes.json');
    const routes = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routes.json'), 'utf8'));
    routes.providers['together-ai'] = {
      type: 'openai-compatible',
      baseURL: 'https://api.together.xyz/v1',
      models: ['meta-llama/Llama-3.3-70B-Instruct-Turbo'],
    };
    writeFileSync(file, JSON.stringify(routes));
    const app = new App({ context });
    const stack = new OrchestratorStack(app, 'Compatible', { stage: 'test', routeTableFile: file });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'hybrid-orchestrator-test/providers/together-ai' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TOGETHER_AI_SECRET_ID: Match.anyValue() }) },
    });
    template.hasOutput('TogetherAiSecretArn', {});
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: Match.stringLikeRegexp('together-ai') });
  });
});

describe('runtime providers', () => {
  it('lets the gateway create, version, read and delete only the secrets under its runtime-provider prefix, and heartbeats read them', () => {
    const prefix = 'hybrid-orchestrator-test/runtime-providers/';
    // A literal partition: cdk.json's `enablePartitionLiterals` with the stack's concrete region.
    const resource = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${prefix}*`;
    const gateway = functionWith('API_KEYS_TABLE')!;
    const heartbeat = functionWith('PROVIDER_HEALTH_TABLE', 'API_KEYS_TABLE')!;
    for (const fn of [gateway, heartbeat]) expect(fn.Properties.Environment.Variables['RUNTIME_PROVIDER_SECRET_PREFIX']).toBe(prefix);
    // Every action granted on the prefix (`minimizePolicies` may merge statements and sorts their actions).
    const onPrefix = (fn: typeof gateway) =>
      statementsOf(fn)
        .filter((st) => [st.Resource].flat().includes(resource))
        .flatMap((st) => [st.Action].flat() as string[])
        .sort();
    expect(onPrefix(gateway)).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:DeleteSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:RestoreSecret',
    ]);
    expect(onPrefix(heartbeat)).toEqual(['secretsmanager:GetSecretValue']);
  });
});

describe('Amazon Bedrock', () => {
  it("gives the gateway and heartbeats BEDROCK_REGION and invoke grants on exactly the route table's models and inference profiles", () => {
    const routes = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routes.json'), 'utf8')) as {
      providers: { bedrock: { models: string[]; deployments: Record<string, string> } };
    };
    // A cross-region profile: the profile here and the model in any region; a model id: that model in this region.
    const expected = Object.values(routes.providers.bedrock.deployments).flatMap((id) => {
      const profile = /^us\.(.+)$/.exec(id);
      // A literal partition: cdk.json's `enablePartitionLiterals` with the stack's concrete region.
      return profile
        ? [`arn:aws:bedrock:eu-west-1:123456789012:inference-profile/${id}`, `arn:aws:bedrock:*::foundation-model/${profile[1]}`]
        : [`arn:aws:bedrock:eu-west-1::foundation-model/${id}`];
    });
    expect(expected.at(-1)).toBe('arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0');
    for (const fn of [functionWith('API_KEYS_TABLE')!, functionWith('PROVIDER_HEALTH_TABLE', 'API_KEYS_TABLE')!]) {
      expect(fn.Properties.Environment.Variables['BEDROCK_REGION']).toBe('eu-west-1');
      const statements = statementsOf(fn).filter((s) => JSON.stringify(s.Action).includes('bedrock:'));
      expect(statements).toHaveLength(1);
      expect([statements[0]!.Action].flat().sort()).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
      expect(([statements[0]!.Resource].flat() as string[]).sort()).toEqual([...expected].sort());
    }
    // Bedrock has no secret: only the key-based providers do.
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });

  it('is left out of a stack whose route table does not list it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    const file = join(dir, 'routes.json');
    const routes = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routes.json'), 'utf8')) as {
      providers: Record<string, unknown>;
    };
    delete routes.providers['bedrock'];
    writeFileSync(file, JSON.stringify(routes));
    const app = new App({ context });
    const stack = new OrchestratorStack(app, 'NoBedrock', { stage: 'test', routeTableFile: file });
    const json = JSON.stringify(Template.fromStack(stack).toJSON());
    expect(json).not.toContain('bedrock:');
    expect(json).not.toContain('BEDROCK_REGION');
  });
});

describe('compute mode managed-instances', () => {
  const app = new App({ context });
  const stack = new OrchestratorStack(app, 'Managed', {
    stage: 'test',
    computeMode: 'managed-instances',
    managedInstances: { perEnvironmentConcurrency: 32, minEnvironments: 3, maxEnvironments: 10 },
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const managed = Template.fromStack(stack);

  it('puts the gateway function on a capacity provider, arm64, in private subnets, with its concurrency settings', () => {
    managed.hasResourceProperties('AWS::Lambda::CapacityProvider', {
      CapacityProviderName: 'hybrid-orchestrator-test-gateway',
      InstanceRequirements: Match.objectLike({ Architectures: ['arm64'], AllowedInstanceTypes: ['m7g.large'] }),
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() }),
    });
    const gateway = Object.values(managed.findResources('AWS::Lambda::Function')).find(
      (f) => 'API_KEYS_TABLE' in ((f as { Properties: { Environment: { Variables: object } } }).Properties.Environment.Variables ?? {}),
    ) as { Properties: Record<string, unknown> };
    expect(gateway.Properties).toMatchObject({
      MemorySize: 2048,
      PublishToLatestPublished: true,
      CapacityProviderConfig: {
        LambdaManagedInstancesCapacityProviderConfig: {
          PerExecutionEnvironmentMaxConcurrency: 32,
          ExecutionEnvironmentMemoryGiBPerVCpu: 2,
        },
      },
      FunctionScalingConfig: { MinExecutionEnvironments: 3, MaxExecutionEnvironments: 10 },
    });
  });

  it('reaches DynamoDB through a gateway endpoint and the providers through NAT, HTTPS out only, with flow logs', () => {
    managed.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.anyValue() });
    managed.resourceCountIs('AWS::EC2::NatGateway', 1);
    managed.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
    managed.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' })],
    });
    const groups = Object.values(managed.findResources('AWS::EC2::SecurityGroup')) as Array<{ Properties: Record<string, unknown> }>;
    expect(groups.every((g) => g.Properties['SecurityGroupIngress'] === undefined)).toBe(true);
  });

  it('refuses an OnlyFans gateway the instances could not reach (HTTPS on 443 only)', () => {
    const make = (url: string) => () =>
      new OrchestratorStack(new App({ context }), 'Bad', {
        stage: 'test',
        computeMode: 'managed-instances',
        onlyfansGatewayUrl: url,
        env: { account: '123456789012', region: 'eu-west-1' },
      });
    expect(make('http://of.example.com')).toThrow('must be https');
    expect(make('https://of.example.com:8443')).toThrow('port 443');
    expect(make('https://of.example.com')).not.toThrow();
  });

  it('is not in the default (on-demand) stack, which has no VPC', () => {
    template.resourceCountIs('AWS::Lambda::CapacityProvider', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
  });
});

describe('cdk-nag AwsSolutions', () => {
  // With a concrete account and region (the partition then is a literal too), and environment-agnostic (all tokens).
  it.each([
    ['on-demand', { account: '123456789012', region: 'eu-west-1' }],
    ['managed-instances', { account: '123456789012', region: 'eu-west-1' }],
    ['on-demand', undefined],
  ] as const)('%s in %j: reports no unacknowledged finding, and every acknowledgement has a written reason', (computeMode, env) => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-'));
    const app = new App({ context, outdir });
    new OrchestratorStack(app, 'Nag', { stage: 'test', computeMode, ...(env ? { env } : {}) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    let failure: unknown;
    try {
      app.synth();
    } catch (error) {
      failure = error;
    }
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{
        pluginName: string;
        violations: Array<{ ruleName: string; violatingResources: unknown[] }>;
        suppressedViolations?: Array<{ ruleName: string; reason?: string }>;
      }>;
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag).toBeDefined();
    expect(nag!.violations.map((v) => v.ruleName)).toEqual([]);
    expect(failure).toBeUndefined();
    const acknowledged = nag!.suppressedViolations ?? [];
    expect(acknowledged.length).toBeGreaterThan(0);
    // The open-region grants of Bedrock's cross-region inference profiles are acknowledged, with their reason.
    expect(
      acknowledged.some(
        (ack) =>
          ack.ruleName.startsWith(`AwsSolutions-IAM5[Resource::arn:${env ? 'aws' : '<AWS::Partition>'}:bedrock:*::`) &&
          /cross-region inference profile/.test(ack.reason ?? ''),
      ),
    ).toBe(true);
    for (const ack of acknowledged) {
      expect({ rule: ack.ruleName, reasonLength: (ack.reason ?? '').trim().length > 30 }).toEqual({
        rule: ack.ruleName,
        reasonLength: true,
      });
    }
  });
});
