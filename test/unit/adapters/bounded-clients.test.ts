/**
 * DynamoDB calls bounded by their attempts (`attemptBoundedConfig`), with nothing passed to `send`,
 * against a loopback server: a server that never answers, or stops in the middle of its answer, costs
 * two attempts and ends within the budget; a retry waits the fixed pause, not the server's `Retry-After` or the SDK's throttling
 * backoff; and a local engine is told when the caller gives up.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  attemptBoundedConfig,
  LOCAL_DEADLINE_HEADER,
  oneUserAgent,
  singleAttemptConfig,
  stampLocalDeadline,
} from '../../../lambdas/adapters/aws/bounded-clients';

const BUDGET_MS = 400;
let server: Server;
let endpoint: string;
let respond: (req: IncomingMessage, res: ServerResponse, attempt: number) => void;
let seen: IncomingMessage[];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    req.on('end', () => respond(req, res, seen.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  seen = [];
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const client = () =>
  new DynamoDBClient({
    ...attemptBoundedConfig('us-east-1', BUDGET_MS),
    endpoint,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
const get = (c: DynamoDBClient) => c.send(new GetItemCommand({ TableName: 'things', Key: { pk: { S: 'a' } } }));
const timed = async (run: () => Promise<unknown>) => {
  const started = performance.now();
  const outcome = await run().then(
    () => 'answered',
    (error: Error) => error.name,
  );
  return { outcome, ms: performance.now() - started };
};
/** One `GetItem` through `c`, timed, then the client closed. */
const timedGet = async (c: DynamoDBClient) => {
  try {
    return await timed(() => get(c));
  } finally {
    c.destroy();
  }
};
const error = (res: ServerResponse, status: number, type: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...headers });
  res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type }));
};
const item = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify({ Item: { pk: { S: 'a' } } }));
};

it('gives up on a server that never answers after two attempts, within the budget', async () => {
  respond = () => undefined;
  const { outcome, ms } = await timedGet(client());
  expect(outcome).toBe('TimeoutError');
  expect(seen).toHaveLength(2);
  // Two attempts of (400 - 25) / 2 ms and the pause: 400 ms, plus timer slack.
  expect(ms).toBeGreaterThanOrEqual(BUDGET_MS - 30);
  expect(ms).toBeLessThan(BUDGET_MS + 150);
});

it('sends a write that must not be applied twice once: a server that never answers gets one attempt, the whole budget', async () => {
  respond = () => undefined;
  const { outcome, ms } = await timedGet(
    new DynamoDBClient({
      ...singleAttemptConfig('us-east-1', BUDGET_MS),
      endpoint,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    }),
  );
  expect(outcome).toBe('TimeoutError');
  expect(seen).toHaveLength(1);
  expect(ms).toBeGreaterThanOrEqual(BUDGET_MS - 30);
  expect(ms).toBeLessThan(BUDGET_MS + 150);
});

it('gives up on an answer whose body stops after its headers, within the budget', async () => {
  respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': '100' });
    res.write('{"Item":');
  };
  const { outcome, ms } = await timedGet(client());
  expect(outcome).toBe('TimeoutError');
  expect(seen).toHaveLength(2);
  expect(ms).toBeLessThan(BUDGET_MS + 150);
});

it("retries after the fixed pause, not the server's Retry-After", async () => {
  respond = (_req, res, attempt) => (attempt === 1 ? error(res, 500, 'InternalServerError', { 'retry-after': '5' }) : item(res));
  const { outcome, ms } = await timedGet(client());
  expect(outcome).toBe('answered');
  expect(seen).toHaveLength(2);
  expect(ms).toBeLessThan(1000);
});

it('retries throttling after the fixed pause too, and stops after the second attempt', async () => {
  respond = (_req, res) => error(res, 400, 'ProvisionedThroughputExceededException');
  const { outcome, ms } = await timedGet(client());
  expect(outcome).toBe('ProvisionedThroughputExceededException');
  expect(seen).toHaveLength(2);
  expect(ms).toBeLessThan(BUDGET_MS);
});

it("tells a local engine when the call's caller gives up, the same on both attempts", async () => {
  respond = (_req, res, attempt) => (attempt === 1 ? error(res, 500, 'InternalServerError') : item(res));
  const c = stampLocalDeadline(client(), BUDGET_MS);
  const before = Date.now();
  await get(c);
  c.destroy();
  const deadlines = seen.map((req) => Number(req.headers[LOCAL_DEADLINE_HEADER]));
  expect(deadlines).toHaveLength(2);
  expect(deadlines[1]).toBe(deadlines[0]);
  expect(deadlines[0]).toBeGreaterThanOrEqual(before + BUDGET_MS);
  expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + BUDGET_MS);
});

it('sends every call with the user-agent headers the SDK wrote for the first, built once, retries and cached handler stacks included', async () => {
  respond = (_req, res, attempt) => (attempt === 2 ? error(res, 500, 'InternalServerError') : item(res));
  /** The client, counting how often the SDK's user-agent middleware asks for the header's parts. */
  const counted = (c: DynamoDBClient) => {
    const provider = c.config.defaultUserAgentProvider;
    const asked = { times: 0 };
    c.config.defaultUserAgentProvider = (...args) => ((asked.times += 1), provider(...args));
    return { c, asked };
  };
  const plain = counted(client());
  for (let i = 0; i < 3; i++) await get(plain.c);
  plain.c.destroy();
  const sdkHeaders = (req: IncomingMessage) => [req.headers['user-agent'], req.headers['x-amz-user-agent']];
  const sdkHeader = sdkHeaders(seen[0]!);
  expect(sdkHeader[0]).toMatch(/^aws-sdk-js\/\S+ .*api\/dynamodb#/);
  expect(sdkHeader[1]).toMatch(/^aws-sdk-js\/\S+/);
  expect(plain.asked.times).toBe(3);
  seen = [];
  const once = counted(
    new DynamoDBClient({
      ...attemptBoundedConfig('us-east-1', BUDGET_MS),
      endpoint,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
      cacheMiddleware: true,
    }),
  );
  oneUserAgent(once.c);
  for (let i = 0; i < 3; i++) await get(once.c);
  once.c.destroy();
  // Three calls, the second retried once: four requests, each with the SDK's headers, built for the first call only.
  expect(seen.map(sdkHeaders)).toEqual([sdkHeader, sdkHeader, sdkHeader, sdkHeader]);
  expect(once.asked.times).toBe(1);
});
