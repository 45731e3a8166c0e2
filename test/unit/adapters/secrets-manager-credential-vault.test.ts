/** The runtime providers' key vault on Secrets Manager: the exact requests it sends. */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerCredentialVault } from '../../../lambdas/adapters/secrets/secrets-manager-credential-vault';

const sm = mockClient(SecretsManagerClient);
const PREFIX = 'hybrid-orchestrator-prod/runtime-providers/';
const vault = () => new SecretsManagerCredentialVault(new SecretsManagerClient({ region: 'eu-west-1' }), PREFIX, 3000);
const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
const V1 = '0123456789abcdef0123456789abcdef';

beforeEach(() => sm.reset());

it("adds the key as a version of the existing secret, under the prefix, its id the configuration's key version", async () => {
  sm.on(PutSecretValueCommand).resolves({});
  await vault().put('mistral', V1, { apiKey: 'mst-1' });
  expect(sm.commandCalls(PutSecretValueCommand)[0]!.args[0].input).toEqual({
    SecretId: `${PREFIX}mistral`,
    SecretString: '{"apiKey":"mst-1"}',
    ClientRequestToken: V1,
  });
  expect(sm.commandCalls(CreateSecretCommand)).toHaveLength(0);
});

it('restores a secret scheduled for deletion (the id deleted days ago) before adding the version', async () => {
  sm.on(PutSecretValueCommand)
    .rejectsOnce(new InvalidRequestException({ message: 'marked for deletion', $metadata: {} }))
    .resolves({});
  sm.on(RestoreSecretCommand).resolves({});
  await vault().put('mistral', V1, { apiKey: 'mst-1' });
  expect(sm.commandCalls(RestoreSecretCommand)[0]!.args[0].input).toEqual({ SecretId: `${PREFIX}mistral` });
  expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(2);
});

it('creates the secret at the first key', async () => {
  sm.on(PutSecretValueCommand).rejects(notFound());
  sm.on(CreateSecretCommand).resolves({});
  await vault().put('mistral', V1, { apiKey: 'mst-1' });
  expect(sm.commandCalls(CreateSecretCommand)[0]!.args[0].input).toEqual({
    Name: `${PREFIX}mistral`,
    SecretString: '{"apiKey":"mst-1"}',
    ClientRequestToken: V1,
    Description: 'Key of the runtime provider mistral (Hybrid Orchestrator gateway)',
  });
});

it('reads the version a configuration names, and nothing for a missing version or malformed secret', async () => {
  sm.on(GetSecretValueCommand, { SecretId: `${PREFIX}mistral`, VersionId: V1 }).resolves({ SecretString: '{"apiKey":"mst-1"}' });
  sm.on(GetSecretValueCommand, { SecretId: `${PREFIX}gone` }).rejects(notFound());
  sm.on(GetSecretValueCommand, { SecretId: `${PREFIX}bad` }).resolves({ SecretString: 'not json' });
  expect(await vault().get('mistral', V1)).toEqual({ apiKey: 'mst-1' });
  expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: `${PREFIX}mistral`, VersionId: V1 });
  expect(await vault().get('gone', V1)).toBeUndefined();
  expect(await vault().get('bad', V1)).toBeUndefined();
});

it('deletes with a recovery window, and a missing secret is already deleted', async () => {
  sm.on(DeleteSecretCommand, { SecretId: `${PREFIX}mistral` }).resolves({});
  sm.on(DeleteSecretCommand, { SecretId: `${PREFIX}gone` }).rejects(notFound());
  await vault().delete('mistral');
  await vault().delete('gone');
  expect(sm.commandCalls(DeleteSecretCommand)[0]!.args[0].input).toEqual({ SecretId: `${PREFIX}mistral`, RecoveryWindowInDays: 7 });
});

it('lets other failures through (the admin change is then refused, not half made)', async () => {
  sm.on(PutSecretValueCommand).rejects(new Error('throttled'));
  await expect(vault().put('mistral', V1, { apiKey: 'k' })).rejects.toThrow('throttled');
});
