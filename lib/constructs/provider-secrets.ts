/**
 * One Secrets Manager secret per provider, created with an empty placeholder: the gateway treats a
 * provider as configured once its secret holds a real key (see README, "Deploy").
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ProviderId } from '../../lambdas/core/ai/route-table';

const PLACEHOLDERS: Record<ProviderId, Record<string, string>> = {
  openai: { apiKey: '' },
  'azure-openai': { apiKey: '', endpoint: '', apiVersion: '2024-10-21' },
};

export interface ProviderSecretsProps {
  readonly namePrefix: string;
}

export class ProviderSecrets extends Construct {
  readonly secrets: Record<ProviderId, Secret>;

  constructor(scope: Construct, id: string, props: ProviderSecretsProps) {
    super(scope, id);
    const make = (provider: ProviderId) => {
      const secret = new Secret(this, provider, {
        secretName: `${props.namePrefix}/providers/${provider}`,
        description: `Credentials of the ${provider} provider for the Hybrid Orchestrator gateway (JSON).`,
        generateSecretString: { secretStringTemplate: JSON.stringify(PLACEHOLDERS[provider]), generateStringKey: 'placeholder' },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'These hold third-party API keys (OpenAI, Azure OpenAI) that only the provider can issue; a Lambda rotation cannot mint new ones. ' +
          'Operators rotate by writing the new key into the secret; the gateway picks it up within SECRETS_CACHE_TTL_SECONDS.',
      });
      return secret;
    };
    this.secrets = { openai: make('openai'), 'azure-openai': make('azure-openai') };
  }
}
