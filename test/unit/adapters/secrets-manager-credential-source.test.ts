import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerCredentialSource } from '../../../lambdas/adapters/secrets/secrets-manager-credential-source';
import { FakeClock } from '../../helpers/fakes';

const sm = mockClient(SecretsManagerClient);
const OPENAI_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ho/providers/openai-AbCdEf';
const AZURE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ho/providers/azure-openai-AbCdEf';

function source(clock = new FakeClock()) {
  return {
    clock,
    source: new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-west-1' }), clock, {
      secretIds: { openai: OPENAI_ARN, 'azure-openai': AZURE_ARN },
      ttlMs: 300_000,
      timeoutMs: 3000,
    }),
  };
}

beforeEach(() => sm.reset());

describe('SecretsManagerCredentialSource', () => {
  it('reads the provider secret by its ARN and validates its JSON', async () => {
    sm.on(GetSecretValueCommand, { SecretId: OPENAI_ARN }).resolves({
      SecretString: JSON.stringify({ apiKey: 'sk-real', placeholder: 'x' }),
    });
    const { source: s } = source();
    expect(await s.get('openai')).toEqual({ provider: 'openai', credentials: { apiKey: 'sk-real' } });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: OPENAI_ARN });
  });

  it('reads Azure credentials with endpoint and api version', async () => {
    sm.on(GetSecretValueCommand, { SecretId: AZURE_ARN }).resolves({
      SecretString: JSON.stringify({ apiKey: 'az-key', endpoint: 'https://res.openai.azure.com', apiVersion: '2024-10-21' }),
    });
    expect(await source().source.get('azure-openai')).toEqual({
      provider: 'azure-openai',
      credentials: { apiKey: 'az-key', endpoint: 'https://res.openai.azure.com', apiVersion: '2024-10-21' },
    });
  });

  it('caches for the TTL, then reads again', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'sk-1' }) });
    const { source: s, clock } = source();
    await s.get('openai');
    await s.get('openai');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.advance(300_000);
    await s.get('openai');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('treats the deployed empty placeholder and a missing secret as not configured', async () => {
    sm.on(GetSecretValueCommand, { SecretId: OPENAI_ARN }).resolves({ SecretString: JSON.stringify({ apiKey: '', placeholder: 'abc' }) });
    sm.on(GetSecretValueCommand, { SecretId: AZURE_ARN }).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const { source: s } = source();
    expect(await s.get('openai')).toBeUndefined();
    expect(await s.get('azure-openai')).toBeUndefined();
  });

  it('keeps serving the last good credentials when Secrets Manager fails', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ apiKey: 'sk-1' }) })
      .rejects(new Error('network down'));
    const { source: s, clock } = source();
    await s.get('openai');
    clock.advance(300_000);
    expect(await s.get('openai')).toEqual({ provider: 'openai', credentials: { apiKey: 'sk-1' } });
  });

  it('fails when Secrets Manager is unreachable on a cold start', async () => {
    sm.on(GetSecretValueCommand).rejects(new Error('network down'));
    await expect(source().source.get('openai')).rejects.toThrow('network down');
  });
});
