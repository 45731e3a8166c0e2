/**
 * The gateway as Lambda runs it: bundled with the stack's esbuild options (ESM entry points of the
 * AWS SDK, the Lambda-only aliases, minified), loaded in a fresh Node process with the AWS
 * configuration, and sent an AI request through its streaming handler. The request crosses every
 * DynamoDB call of the request path through the bundled SDK (key lookup, conditional admission, usage
 * record) against dynalite, reads the provider key with the bundled Secrets Manager client (loaded at
 * first use) from a stand-in on loopback, and calls an OpenAI-shaped upstream on loopback.
 */
import { build } from 'esbuild';
import { execFile, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbApiKeyStore } from '../../lambdas/adapters/dynamodb/dynamodb-api-key-store';
import { ApiKeyService } from '../../lambdas/core/access/api-keys';
import { RateLimiter } from '../../lambdas/core/rate-limit/rate-limiter';
import { SimulatedUpstream } from '../../lambdas/local/simulated-upstream';
import { systemClock, systemRandom } from '../../lambdas/shared/system';
import { AWS_CLIENT_SIDE_FILES, lambdaBuildOptions, sideBundle } from '../../lib/bundling/bundling';
import { BUNDLED_SNS, BUNDLED_SQS } from '../../lambdas/adapters/aws/beside-handler';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';

const ROOT = join(__dirname, '..', '..');
const UPSTREAM_KEY = 'sk-bundle-upstream-key';

let dynamo: TestDynamo;
let upstream: SimulatedUpstream;
let bundle: string;
let secrets: Server;
/** The Secrets Manager calls the stand-in answered: their `X-Amz-Target` and `SecretId`. */
const secretCalls: Array<{ target: string; secretId: string }> = [];

beforeAll(async () => {
  dynamo = await startTestDynamo();
  upstream = new SimulatedUpstream({ provider: 'openai', apiKey: UPSTREAM_KEY });
  await upstream.listen();
  // Secrets Manager's JSON protocol: one GetSecretValue, answered with the provider's key and base URL.
  secrets = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const { SecretId } = JSON.parse(raw) as { SecretId: string };
      secretCalls.push({ target: String(req.headers['x-amz-target']), secretId: SecretId });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${SecretId}`,
          Name: SecretId,
          VersionId: 'v1',
          SecretString: JSON.stringify({ apiKey: UPSTREAM_KEY, baseURL: upstream.baseUrl }),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => secrets.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'lambda-bundle-'));
  bundle = join(dir, 'index.js');
  const built = await build(lambdaBuildOptions(join(ROOT, 'lambdas', 'handlers', 'gateway.ts'), bundle));
  // Silent on the console, so checked here: an ESM build the bundle mishandles would warn (import.meta, ...).
  expect(built.warnings).toEqual([]);
}, 60_000);

it('leaves the simulated upstreams out of the Lambda bundle', () => {
  const code = readFileSync(bundle, 'utf8');
  // Strings only the simulators' wire dialects hold (OpenAI's, Azure OpenAI's and Bedrock's).
  for (const simulatorOnly of [
    'Simulated upstream: use POST.',
    'api-version query parameter is required.',
    'Simulated Bedrock: no operation',
  ])
    expect([simulatorOnly, code.includes(simulatorOnly)]).toEqual([simulatorOnly, false]);
});
it('leaves out the adapters only a laptop uses: files for spilled records, alerts and runtime keys', () => {
  const code = readFileSync(bundle, 'utf8');
  // Strings only those adapters hold (class names do not survive the minifier): the spill file's, the
  // alert file's line, the key file's name. The flag file's adapter holds none of its own.
  for (const laptopOnly of ['.replaying', 'ALERT [', 'provider-credentials.json'])
    expect([laptopOnly, code.includes(laptopOnly)]).toEqual([laptopOnly, false]);
});
afterAll(async () => {
  await new Promise((resolve) => secrets.close(resolve));
  await upstream.close();
  await dynamo.close();
});

/** Runs the bundled handler in a fresh process on one REST event; its response metadata and body. */
function invokeBundle(event: unknown): Promise<{ meta: { statusCode: number; headers: Record<string, string> }; body: string }> {
  return runNode(
    `globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s, meta) => Object.assign(s, { meta }) } };
const { PassThrough } = require('node:stream');
const mod = require(${JSON.stringify(bundle)});
(async () => {
  const stream = new PassThrough();
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  await mod.handler(${JSON.stringify(event)}, stream, { awsRequestId: 'bundle-1' });
  await new Promise((r) => setImmediate(r));
  process.stdout.write('\\nRESULT=' + JSON.stringify({ meta: stream.meta, body: Buffer.concat(chunks).toString('utf8') }) + '\\n');
  mod.gateway.close();
  process.exit(0);
})();
`,
    {
      OPENAI_SECRET_ID: 'bundle/providers/openai',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    },
  ) as Promise<{ meta: { statusCode: number; headers: Record<string, string> }; body: string }>;
}

let scripts = 0;

/** Runs `script` in a fresh Node process beside the bundle, with its AWS environment and `extra`; what it printed after `RESULT=`. */
function runNode(script: string, extra: Record<string, string>): Promise<unknown> {
  const file = join(bundle, '..', `script-${(scripts += 1)}.js`);
  writeFileSync(file, script);
  const env = {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    API_KEYS_TABLE: dynamo.table('api-keys'),
    RATE_LIMITS_TABLE: dynamo.table('rate-limits'),
    USAGE_TABLE: dynamo.table('usage'),
    USAGE_AGGREGATES_TABLE: dynamo.table('usage-aggregates'),
    PROVIDER_HEALTH_TABLE: dynamo.table('provider-health'),
    RESPONSE_CACHE_TABLE: dynamo.table('response-cache'),
    USAGE_AGGREGATION: 'stream',
    LOG_LEVEL: 'SILENT',
    METRICS_ENABLED: 'false',
    ...extra,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const line = /RESULT=(.*)/.exec(stdout)?.[1];
      if (!line) return reject(new Error(`the script gave no result: ${String(error)}\n${stderr}`));
      resolve(JSON.parse(line));
    });
  });
}

it('serves a chat completion from the Lambda bundle: key lookup, admission and usage record through the bundled SDK', async () => {
  const keys = new ApiKeyService(new DynamoDbApiKeyStore(dynamo.doc, dynamo.table('api-keys')), systemClock, systemRandom, {
    cacheTtlMs: 0,
    negativeCacheTtlMs: 0,
    maxCacheEntries: 10,
  });
  const { key } = await keys.create({ userId: 'bundle-user', plan: 'pro', role: 'user' });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello from the bundle' }] });
  const { meta, body: answer } = await invokeBundle({
    resource: '/{proxy+}',
    path: '/v1/chat/completions',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': String(body.length) },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'v1/chat/completions' },
    stageVariables: null,
    requestContext: {
      requestId: 'apigw-b',
      stage: 'v1',
      httpMethod: 'POST',
      path: '/v1/v1/chat/completions',
      identity: { sourceIp: '127.0.0.1' },
    },
    body,
    isBase64Encoded: false,
  });
  expect(`${meta.statusCode} ${answer}`).toMatch(/^200 /);
  const completion = JSON.parse(answer) as { object: string; usage: { total_tokens: number } };
  expect(completion.object).toBe('chat.completion');
  expect(upstream.requests.length).toBe(1);
  expect(secretCalls).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: 'bundle/providers/openai' }]);
  // The admission's conditional write counted the request and reserved its tokens.
  const counter = await dynamo.doc.send(
    new GetCommand({ TableName: dynamo.table('rate-limits'), Key: { pk: RateLimiter.key('ai_requests', 'bundle-user') } }),
  );
  expect(counter.Item?.['mn']).toBe(1);
  // The one write after the answer: the usage record, carrying the token settlement for the consumer.
  const records = (await dynamo.doc.send(new ScanCommand({ TableName: dynamo.table('usage') }))).Items ?? [];
  const record = records.find((r) => r['userId'] === 'bundle-user');
  expect(record).toMatchObject({ status: 200, provider: 'openai', model: 'gpt-4o-mini' });
  expect(Number(counter.Item?.['qdn']) + Number((record?.['quota'] as { deltaTokens: number }).deltaTokens)).toBe(
    completion.usage.total_tokens,
  );
}, 60_000);

describe('SNS and SQS in files of their own beside the handler', () => {
  /** What the stand-ins were sent: each request's `X-Amz-Target` (SQS) or form body (SNS). */
  const sent: Array<{ service: string; body: string; target?: string }> = [];
  let standIn: Server;
  let endpoint: string;

  beforeAll(async () => {
    // The stack's own commands, run as its bundling runs them.
    for (const { entry, file } of AWS_CLIENT_SIDE_FILES) execSync(sideBundle(ROOT, join(bundle, '..'), entry, file), { stdio: 'pipe' });
    standIn = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const target = req.headers['x-amz-target'];
        if (typeof target === 'string') {
          // SQS (AWS JSON 1.0): each entry accepted, with the MD5 of its body the SDK checks.
          sent.push({ service: 'sqs', target, body: raw });
          const { Entries } = JSON.parse(raw) as { Entries: Array<{ Id: string; MessageBody: string }> };
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(
            JSON.stringify({
              Successful: Entries.map((e) => ({
                Id: e.Id,
                MessageId: `m-${e.Id}`,
                MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
              })),
              Failed: [],
            }),
          );
          return;
        }
        // SNS (AWS Query, XML).
        sent.push({ service: 'sns', body: decodeURIComponent(raw.replace(/\+/g, ' ')) });
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>' +
            '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(() => new Promise((resolve) => standIn.close(resolve)));

  it("keeps both clients out of the handler's bundle", () => {
    const code = readFileSync(bundle, 'utf8');
    for (const service of ['com.amazonaws.sns', 'com.amazonaws.sqs']) {
      expect([service, code.includes(service)]).toEqual([service, false]);
      const side = readFileSync(join(bundle, '..', service.endsWith('sns') ? BUNDLED_SNS : BUNDLED_SQS), 'utf8');
      expect([service, side.includes(service)]).toEqual([service, true]);
    }
  });

  it('spills usage records to SQS through the bundled gateway, which loads the side file at the first spill', async () => {
    const script = `globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };
const mod = require(${JSON.stringify(bundle)});
const before = Object.keys(require.cache).some((f) => f.endsWith(${JSON.stringify(BUNDLED_SQS)}));
mod.gateway.outbox.spill([{ requestId: 'req-spilled', userId: 'bundle-user' }]).then(
  () => {
    const after = Object.keys(require.cache).some((f) => f.endsWith(${JSON.stringify(BUNDLED_SQS)}));
    process.stdout.write('RESULT=' + JSON.stringify({ before, after }) + '\\n');
    mod.gateway.close();
    process.exit(0);
  },
  (error) => { process.stdout.write('RESULT=' + JSON.stringify({ error: String(error) }) + '\\n'); process.exit(1); },
);`;
    const result = await runNode(script, {
      USAGE_SPILL_QUEUE_URL: `${endpoint}/123456789012/usage-spill`,
      AWS_ENDPOINT_URL_SQS: endpoint,
    });
    expect(result).toEqual({ before: false, after: true });
    const spill = sent.find((s) => s.service === 'sqs');
    expect(spill?.target).toBe('AmazonSQS.SendMessageBatch');
    expect(JSON.parse(JSON.parse(spill!.body).Entries[0].MessageBody)).toEqual({ requestId: 'req-spilled', userId: 'bundle-user' });
  }, 60_000);

  it('says which file the deployment lacks when a side file is missing', async () => {
    const alone = realpathSync(mkdtempSync(join(tmpdir(), 'lambda-bundle-alone-')));
    copyFileSync(bundle, join(alone, 'index.js'));
    const script = `globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };
const mod = require(${JSON.stringify(join(alone, 'index.js'))});
Promise.resolve().then(() => mod.gateway.outbox.spill([{ requestId: 'req-spilled' }])).then(
  () => { process.stdout.write('RESULT=' + JSON.stringify({ spilled: true }) + '\\n'); process.exit(0); },
  (error) => { process.stdout.write('RESULT=' + JSON.stringify({ error: error.message }) + '\\n'); mod.gateway.close(); process.exit(0); },
);`;
    const result = (await runNode(script, { USAGE_SPILL_QUEUE_URL: `${endpoint}/123456789012/usage-spill` })) as { error?: string };
    expect(result.error).toBe(`${BUNDLED_SQS} is missing beside the handler (${alone}): the bundling did not write it`);
  }, 60_000);

  it('publishes an alert to SNS from its side file, standalone', async () => {
    const script = `const { snsAlertPublisher } = require(${JSON.stringify(join(bundle, '..', BUNDLED_SNS))});
snsAlertPublisher('eu-west-1', 'arn:aws:sns:eu-west-1:123456789012:alerts')
  .publish({ kind: 'critical_error', severity: 'critical', subject: 'Bundle check', message: 'from the side file' })
  .then(
    () => { process.stdout.write('RESULT=' + JSON.stringify({ ok: true }) + '\\n'); process.exit(0); },
    (error) => { process.stdout.write('RESULT=' + JSON.stringify({ error: String(error) }) + '\\n'); process.exit(1); },
  );`;
    expect(await runNode(script, { AWS_ENDPOINT_URL_SNS: endpoint })).toEqual({ ok: true });
    const published = sent.find((s) => s.service === 'sns');
    expect(published?.body).toContain('Action=Publish');
    expect(published?.body).toContain('TopicArn=arn:aws:sns:eu-west-1:123456789012:alerts');
    expect(published?.body).toContain('Subject=Bundle check');
  }, 60_000);
});
