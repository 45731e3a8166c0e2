/**
 * The SNS, SQS and Secrets Manager clients are loaded at their adapter's first use, not when the
 * gateway module loads (they cost milliseconds of every cold start and most requests never use them).
 * Checked in a fresh Node process: which modules are loaded before and after the first use.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

it('loads the SNS, SQS and Secrets Manager clients only when their adapter is first used; Bedrock needs no secret', () => {
  const script = `
    const { loadConfig } = require('./lambdas/shared/config');
    const adapters = require('./lambdas/shared/runtime-adapters');
    const loaded = (pkg) => Object.keys(require.cache).some((file) => file.includes('/node_modules/@aws-sdk/' + pkg + '/'));
    const config = loadConfig('aws', {
      AWS_REGION: 'eu-west-1',
      ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      USAGE_SPILL_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/spill',
      OPENAI_SECRET_ID: 'openai',
      BEDROCK_REGION: 'eu-west-1',
    });
    const clock = { now: () => 0 };
    const alerts = adapters.alertPublisher(config, {});
    const outbox = adapters.usageOutbox(config);
    const credentials = adapters.credentialSource(config, clock);
    const before = ['client-sns', 'client-sqs', 'client-secrets-manager'].map(loaded);
    // Bedrock signs with the role: its credentials come from the environment, without Secrets Manager.
    const bedrockFirst = credentials.get('bedrock').then((c) => c && c.credentials);
    const smAfterBedrock = loaded('client-secrets-manager');
    credentials.get('openai').catch(() => undefined);
    const uses = [typeof alerts.publish, typeof outbox.spill, smAfterBedrock];
    const after = ['client-sns', 'client-sqs', 'client-secrets-manager'].map(loaded);
    bedrockFirst.then((bedrock) => {
      process.stdout.write(JSON.stringify({ before, uses, after, dynamo: loaded('client-dynamodb'), bedrock }));
      process.exit(0);
    });
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
  expect(JSON.parse(out.toString())).toEqual({
    before: [false, false, false],
    uses: ['function', 'function', false],
    after: [true, true, true],
    dynamo: true,
    bedrock: { region: 'eu-west-1' },
  });
});
