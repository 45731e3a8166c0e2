/**
 * Rollout flags in AppConfig: application, environment (monitored by the gateway's error-rate alarm,
 * so a bad flag deployment rolls back by itself), a feature-flag configuration profile holding the
 * initial document, and a gradual deployment strategy.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Application,
  ConfigurationContent,
  ConfigurationType,
  DeploymentStrategy,
  Environment,
  HostedConfiguration,
  Monitor,
  RolloutStrategy,
} from 'aws-cdk-lib/aws-appconfig';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { flagDocument, parseFlagDocument } from '../../lambdas/core/rollout/flags';

export interface FeatureFlagsProps {
  readonly namePrefix: string;
  readonly stage: string;
  /** Share of users on the orchestrator in the first deployed document (0..100). */
  readonly initialRolloutPercentage: number;
  /** The alarm whose ALARM state rolls a flag deployment back. */
  readonly rollbackAlarm: IAlarm;
}

export class FeatureFlags extends Construct {
  readonly application: Application;
  readonly environment: Environment;
  readonly profile: HostedConfiguration;
  /** Environment variables that point the gateway at the profile. */
  readonly functionEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: FeatureFlagsProps) {
    super(scope, id);
    const percentage = props.initialRolloutPercentage;
    if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100)
      throw new Error('initialRolloutPercentage must be between 0 and 100');
    const document = flagDocument(
      { enabled: true, rollout_percentage: percentage, allow_users: [], deny_users: [] },
      { response_caching: { enabled: false } },
    );
    parseFlagDocument(document); // the gateway must accept what the stack deploys

    this.application = new Application(this, 'Application', {
      applicationName: props.namePrefix,
      description: 'Hybrid Orchestrator rollout flags',
    });
    // The role AppConfig assumes to read the alarm's state during deployments.
    const monitorRole = new Role(this, 'MonitorRole', {
      assumedBy: new ServicePrincipal('appconfig.amazonaws.com'),
      description: 'Lets AppConfig read the gateway error-rate alarm to roll back flag deployments',
      inlinePolicies: {
        alarms: new PolicyDocument({
          statements: [new PolicyStatement({ effect: Effect.ALLOW, actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] })],
        }),
      },
    });
    Validations.of(monitorRole).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'AppConfig monitors call cloudwatch:DescribeAlarms, which AWS documents for this role with Resource "*"; the role can only describe alarms and only AppConfig can assume it.',
    });
    this.environment = new Environment(this, 'Environment', {
      application: this.application,
      environmentName: props.stage,
      description: 'Rolled back automatically when the gateway error-rate alarm fires during a deployment or its bake time',
      monitors: [Monitor.fromCloudWatchAlarm(props.rollbackAlarm, monitorRole)],
    });
    // 25% of the gateway's instances more every minute for 4 minutes, then 5 minutes of watching:
    // the alarm can roll the change back until the bake time ends.
    const strategy = new DeploymentStrategy(this, 'Strategy', {
      deploymentStrategyName: `${props.namePrefix}-gradual`,
      description: 'Linear 25% per minute, 5 minute bake, monitored by the error-rate alarm',
      rolloutStrategy: RolloutStrategy.linear({
        growthFactor: 25,
        deploymentDuration: Duration.minutes(4),
        finalBakeTime: Duration.minutes(5),
      }),
    });
    this.profile = new HostedConfiguration(this, 'Flags', {
      application: this.application,
      name: 'feature-flags',
      description: 'hybrid_orchestrator rollout (enabled, rollout_percentage, allow_users, deny_users) and later capabilities',
      type: ConfigurationType.FEATURE_FLAGS,
      content: ConfigurationContent.fromInlineJson(JSON.stringify(document)),
      deploymentStrategy: strategy,
      deployTo: [this.environment],
    });
    this.functionEnvironment = {
      APPCONFIG_APPLICATION_ID: this.application.applicationId,
      APPCONFIG_ENVIRONMENT_ID: this.environment.environmentId,
      APPCONFIG_PROFILE_ID: this.profile.configurationProfileId,
    };
  }

  /** Lets `grantee` read this profile in this environment, nothing else. */
  grantRead(grantee: IGrantable): void {
    const stack = Stack.of(this);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
        resources: [
          stack.formatArn({
            service: 'appconfig',
            resource: 'application',
            resourceName: `${this.application.applicationId}/environment/${this.environment.environmentId}/configuration/${this.profile.configurationProfileId}`,
          }),
        ],
      }),
    );
  }
}
