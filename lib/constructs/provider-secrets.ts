/**
 * One Secrets Manager secret per registered provider, created with the provider's empty placeholder:
 * the gateway treats a provider as configured once its secret holds a real key (see README, "Deploy").
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RegisteredProvider } from '../../lambdas/adapters/providers/provider-module';
import { acknowledgeWildcardResource } from './nag';

export interface ProviderSecretsProps {
  readonly namePrefix: string;
  /** Every provider: the built-in ones and the route table's OpenAI-compatible instances. */
  readonly providers: readonly RegisteredProvider[];
}

/** A provider's secret, the function variable that names it, and the stack output that shows it. */
export interface ProviderSecret {
  readonly provider: string;
  readonly secret: ISecret;
  readonly secretIdVariable: string;
  readonly outputName: string;
}

export class ProviderSecrets extends Construct {
  readonly entries: readonly ProviderSecret[];

  constructor(scope: Construct, id: string, props: ProviderSecretsProps) {
    super(scope, id);
    // Providers that sign with the function's role (Bedrock) have no secret.
    this.entries = props.providers.flatMap(({ id: provider, aws }) => {
      if (!aws) return [];
      const secret = new Secret(this, provider, {
        secretName: `${props.namePrefix}/providers/${provider}`,
        description: `Credentials of the ${provider} provider for the Hybrid Orchestrator gateway (JSON).`,
        generateSecretString: { secretStringTemplate: JSON.stringify(aws.secretTemplate), generateStringKey: 'placeholder' },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'These hold third-party API keys (OpenAI, Azure OpenAI, OpenAI-compatible endpoints) that only the provider can issue; a Lambda rotation cannot mint new ones. ' +
          'Operators rotate by writing the new key into the secret; the gateway picks it up within SECRETS_CACHE_TTL_SECONDS.',
      });
      return [{ provider, secret, secretIdVariable: aws.secretIdVariable, outputName: aws.outputName }];
    });
  }
}

/** The name prefix of runtime providers' key secrets (`/admin/providers`): `<prefix>/runtime-providers/`. */
export function runtimeProviderSecretPrefix(namePrefix: string): string {
  return `${namePrefix}/runtime-providers/`;
}

/**
 * Lets `role` read (and with `manage`, create, version and delete) the secrets of runtime providers,
 * and only those: every name under the prefix (acknowledged for cdk-nag, as the names are chosen at
 * run time by admins).
 */
export function grantRuntimeProviderSecrets(role: IRole, namePrefix: string, manage: boolean): void {
  const { partition, region, account } = Stack.of(role);
  const resource = `arn:${partition}:secretsmanager:${region}:${account}:secret:${runtimeProviderSecretPrefix(namePrefix)}*`;
  const actions = manage
    ? [
        'secretsmanager:GetSecretValue',
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:DeleteSecret',
        'secretsmanager:RestoreSecret',
      ]
    : ['secretsmanager:GetSecretValue'];
  role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [resource] }));
  acknowledgeWildcardResource(
    role,
    resource,
    'Runtime providers are added by admins through /admin/providers, each with a secret named <prefix>/runtime-providers/<id>: ' +
      'the grant covers exactly that name prefix, no other secret.',
  );
}
