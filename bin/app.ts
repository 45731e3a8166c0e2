/** CDK app: reads the stage settings from context and creates the gateway stack. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OrchestratorStack } from '../lib/orchestrator-stack';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const routeTableFile = app.node.tryGetContext('routeTableFile') as string | undefined;
const rateLimitPolicies = app.node.tryGetContext('rateLimitPolicies') as string | undefined;
const onlyfansGatewayUrl = app.node.tryGetContext('onlyfansGatewayUrl') as string | undefined;
const initialRolloutPercentage = app.node.tryGetContext('initialRolloutPercentage') as string | number | undefined;
const numberContext = (key: string) => {
  const value = app.node.tryGetContext(key) as string | number | undefined;
  return value === undefined ? undefined : Number(value);
};
const budgets = Object.fromEntries(
  Object.entries({
    dailyUsd: numberContext('budgetDailyUsd'),
    monthlyUsd: numberContext('budgetMonthlyUsd'),
    userDailyUsd: numberContext('budgetUserDailyUsd'),
    userMonthlyUsd: numberContext('budgetUserMonthlyUsd'),
  }).filter(([, v]) => v !== undefined),
);
const dailyCostAlarmUsd = numberContext('dailyCostAlarmUsd');
const computeMode = app.node.tryGetContext('computeMode') as 'on-demand' | 'managed-instances' | undefined;
const managedInstances = Object.fromEntries(
  Object.entries({
    perEnvironmentConcurrency: numberContext('perEnvironmentConcurrency'),
    minEnvironments: numberContext('minEnvironments'),
    maxEnvironments: numberContext('maxEnvironments'),
    maxVCpus: numberContext('maxVCpus'),
  }).filter(([, v]) => v !== undefined),
);

new OrchestratorStack(app, `HybridOrchestrator-${stage}`, {
  stage,
  ...(routeTableFile ? { routeTableFile } : {}),
  ...(rateLimitPolicies ? { rateLimitPolicies } : {}),
  ...(onlyfansGatewayUrl ? { onlyfansGatewayUrl } : {}),
  // `-c aiMetering=off`: the stateless path (no per-user AI limits or usage records).
  ...(['off', 'false', false].includes(app.node.tryGetContext('aiMetering') as string | boolean) ? { aiMetering: false } : {}),
  ...(initialRolloutPercentage !== undefined ? { initialRolloutPercentage: Number(initialRolloutPercentage) } : {}),
  ...(Object.keys(budgets).length > 0 ? { budgets } : {}),
  ...(dailyCostAlarmUsd !== undefined ? { dailyCostAlarmUsd } : {}),
  ...(computeMode ? { computeMode } : {}),
  ...(numberContext('gatewayMemoryMb') !== undefined ? { gatewayMemoryMb: numberContext('gatewayMemoryMb')! } : {}),
  ...(Object.keys(managedInstances).length > 0 ? { managedInstances } : {}),
  ...(app.node.tryGetContext('keepLegacyDayIndex') === 'true' || app.node.tryGetContext('keepLegacyDayIndex') === true
    ? { keepLegacyDayIndex: true }
    : {}),
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
  description: 'Hybrid Orchestrator: OpenAI-compatible AI gateway with task routing and fallback',
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
