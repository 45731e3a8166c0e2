/**
 * The Lambda glue: API Gateway REST proxy events through `hono/aws-lambda`'s streaming handler
 * (the runtime's `awslambda` global is stubbed, as Lambda provides it only in its own runtime).
 */
import { PassThrough } from 'node:stream';
import type { RequestSummary } from '../../lambdas/core/request-summary';
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { chatBody, startTestGateway, USER_KEY, type TestGateway } from '../helpers/local-gateway';

type Meta = { statusCode: number; headers: Record<string, string> };
type StreamingHandler = (event: unknown, stream: PassThrough, context: unknown) => Promise<void>;

(globalThis as Record<string, unknown>)['awslambda'] = {
  streamifyResponse: (f: unknown) => f,
  HttpResponseStream: { from: (stream: PassThrough & { meta?: Meta }, meta: Meta) => Object.assign(stream, { meta }) },
};

function restEvent(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const allHeaders = { 'content-type': 'application/json', authorization: `Bearer ${USER_KEY}`, ...headers };
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: allHeaders,
    multiValueHeaders: Object.fromEntries(Object.entries(allHeaders).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: { requestId: 'apigw-1', stage: 'dev', httpMethod: method, path: `/dev${path}`, identity: { sourceIp: '127.0.0.1' } },
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

async function invoke(handler: StreamingHandler, event: unknown, context: unknown = { awsRequestId: 'lambda-req-1' }) {
  const stream = new PassThrough() as PassThrough & { meta?: Meta };
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await handler(event, stream, context);
  await new Promise((resolve) => setImmediate(resolve));
  return { meta: stream.meta!, body: Buffer.concat(chunks).toString('utf8'), chunks: chunks.length };
}

describe('streamHandle around the gateway app', () => {
  let gw: TestGateway;
  let handler: StreamingHandler;
  const recorded: RequestSummary[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({
      overrides: {
        telemetry: {
          record: (s) => void recorded.push(s),
          error: () => undefined,
          info: () => undefined,
          count: () => undefined,
          metric: () => undefined,
          usage: () => undefined,
        },
      },
    });
    const { streamingHandler } = await import('../../lambdas/handlers/stream-handler');
    handler = streamingHandler(gw.gateway) as unknown as StreamingHandler;
  });
  afterAll(() => gw.close());

  it('answers a completion with status, routing headers and JSON body', async () => {
    const { meta, body } = await invoke(handler, restEvent('POST', '/v1/chat/completions', chatBody()));
    expect(meta.statusCode).toBe(200);
    expect(meta.headers['x-orchestrator-provider']).toBe('openai');
    expect(JSON.parse(body).object).toBe('chat.completion');
    expect(recorded.at(-1)).toMatchObject({ awsRequestId: 'lambda-req-1', status: 200, ai: { chosen: { provider: 'openai' } } });
  });

  it('streams SSE chunks through the Lambda response stream', async () => {
    const { meta, body, chunks } = await invoke(handler, restEvent('POST', '/v1/chat/completions', chatBody({ stream: true })));
    expect(meta.statusCode).toBe(200);
    expect(meta.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(meta.headers).not.toHaveProperty('transfer-encoding');
    expect(chunks).toBeGreaterThan(3);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('answers errors in OpenAI shape', async () => {
    const { meta, body } = await invoke(handler, restEvent('POST', '/v1/chat/completions', { model: 'x' }));
    expect(meta.statusCode).toBe(400);
    expect(JSON.parse(body).error.param).toBe('messages');
  });
});

describe('post-response work on Lambda', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  it('finishes the usage record before the invocation ends', async () => {
    const { streamingHandler } = await import('../../lambdas/handlers/stream-handler');
    const handler = streamingHandler(gw.gateway) as unknown as StreamingHandler;
    const { meta } = await invoke(handler, restEvent('POST', '/v1/chat/completions', chatBody(), { 'x-request-id': 'lambda-usage-1' }));
    expect(meta.statusCode).toBe(200);
    expect(gw.gateway.background.size).toBe(0);
    const records = await gw.gateway.usage.recordsOfDay(new Date().toISOString().slice(0, 10));
    expect(records.filter((r) => r.callerRequestId === 'lambda-usage-1')).toHaveLength(1);
  });
});

describe('several requests at once in one environment (Lambda Managed Instances)', () => {
  /** A bare Hono app behind the streaming handler, with post-response work scoped per invocation. */
  async function environment() {
    const { Hono } = await import('hono');
    const { BackgroundTasks } = await import('../../lambdas/core/background');
    const { currentInvocationWork } = await import('../../lambdas/shared/invocation-work');
    const { streamingHandler } = await import('../../lambdas/handlers/stream-handler');
    const background = new BackgroundTasks(() => undefined, currentInvocationWork);
    const app = new Hono();
    const finished: string[] = [];
    /** Post-response work that takes `ms` and notes its name when done. */
    const work = (name: string, ms: number) =>
      background.track(new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => void finished.push(name)));
    const handler = () => streamingHandler({ app: app as never, background }) as unknown as StreamingHandler;
    return { app, finished, work, handler };
  }

  it("each invocation waits for its own post-response work, not for the others'", async () => {
    const { app, finished, work, handler: build } = await environment();
    app.post('/slow', (c) => {
      work('slow', 400);
      return c.json({ ok: true });
    });
    app.post('/fast', (c) => {
      work('fast', 10);
      return c.json({ ok: true });
    });
    const handler = build();
    const ended: string[] = [];
    const slow = invoke(handler, restEvent('POST', '/slow', {})).then(() => void ended.push('slow'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fast = invoke(handler, restEvent('POST', '/fast', {})).then(() => void ended.push('fast'));
    await Promise.all([slow, fast]);
    // The fast invocation ended with its own work done, long before the slow one's work.
    expect(ended).toEqual(['fast', 'slow']);
    expect(finished).toEqual(['fast', 'slow']);
  });

  it('work a timer starts after its invocation ended (a paced health write) is waited for by the next invocation', async () => {
    const { app, finished, work, handler: build } = await environment();
    app.post('/timer', (c) => {
      // Fires after this invocation has ended, still in its async context.
      setTimeout(() => work('late', 200), 30);
      return c.json({ ok: true });
    });
    app.post('/next', (c) => c.json({ ok: true }));
    const handler = build();
    await invoke(handler, restEvent('POST', '/timer', {}));
    expect(finished).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60)); // the timer has fired; its write is running
    await invoke(handler, restEvent('POST', '/next', {}));
    expect(finished).toEqual(['late']);
  });
});

describe('lambdas/handlers/gateway.ts', () => {
  let dynamo: LocalDynamo;
  let close: (() => void) | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    process.env = saved;
    // The module's gateway refreshes provider health every second: stopped before its engine goes,
    // or its requests to a closed endpoint keep this process alive after the suite.
    close?.();
    await dynamo.close();
  });

  it('builds from the AWS configuration at cold start and serves liveness', async () => {
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'SILENT',
      METRICS_ENABLED: 'false',
    });
    const module = await import('../../lambdas/handlers/gateway');
    close = () => module.gateway.close();
    const handler = module.handler as unknown as StreamingHandler;
    const { meta, body } = await invoke(handler, restEvent('GET', '/health'));
    expect(meta.statusCode).toBe(200);
    expect(JSON.parse(body)).toEqual({ status: 'ok' });
    // No provider secret ids are set here, so readiness names the providers check.
    const ready = await invoke(handler, restEvent('GET', '/health/ready'));
    expect(ready.meta.statusCode).toBe(503);
    expect(JSON.parse(ready.body).failing).toContain('providers');
  });
});

describe('lambdas/handlers/daily-report.ts', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it('reports the UTC day before the schedule fired, and announces it once', async () => {
    const { startTestDynamo } = await import('../helpers/dynamo');
    const dynamo = await startTestDynamo();
    try {
      Object.assign(process.env, {
        DYNAMODB_ENDPOINT: dynamo.endpoint,
        AWS_REGION: 'eu-west-1',
        LOG_LEVEL: 'SILENT',
        USAGE_TABLE: dynamo.table('usage'),
        USAGE_AGGREGATES_TABLE: dynamo.table('usage-aggregates'),
      });
      const { handler } = await import('../../lambdas/handlers/daily-report');
      const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-11-23T00:15:00Z', detail: {} };
      expect(await handler(scheduled)).toEqual({ day: '2026-11-22', announced: true, requests: 0, costUsd: 0 });
      expect(await handler(scheduled)).toEqual({ day: '2026-11-22', announced: false, requests: 0, costUsd: 0 });
      expect((await handler({ day: '2026-11-20' })).day).toBe('2026-11-20');
      await expect(handler({ day: 'tomorrow' })).rejects.toThrow('invalid event');
    } finally {
      await dynamo.close();
    }
  });
});
