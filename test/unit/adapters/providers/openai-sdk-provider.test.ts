/**
 * The openai-SDK provider against a real HTTP server on loopback: how it ends a stream at `[DONE]`,
 * whatever the upstream does with the connection afterwards.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { OpenAiSdkProvider, providerFetch } from '../../../../lambdas/adapters/providers/openai-compatible/openai-sdk-provider';
import { answerChunks } from '../../../helpers/fakes';

let server: Server;
let base: string;
const connections = new Set<unknown>();
let afterDone: (res: ServerResponse) => void = (res) => res.end();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const chunk of answerChunks('openai', 'gpt-4o-mini', 'Hello Sam', true)) res.write(`data: ${chunk}\n\n`);
      res.write('data: [DONE]\n\n');
      afterDone(res);
    });
  });
  server.on('connection', (socket) => connections.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const provider = () =>
  new OpenAiSdkProvider('openai', new OpenAI({ apiKey: 'sk-test', baseURL: base, maxRetries: 0, fetch: providerFetch }));
const call = (idleMs: number) => ({
  upstreamModel: 'gpt-4o-mini',
  body: { messages: [{ role: 'user', content: 'hi' }] },
  timeouts: { connectMs: 1000, firstByteMs: 5000, idleMs, totalMs: 60_000 },
  signal: new AbortController().signal,
});

async function readAll(idleMs: number): Promise<string[]> {
  const stream = await provider().stream(call(idleMs));
  const events: string[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

test('a stream is complete at [DONE] even when the upstream keeps the body open afterwards', async () => {
  afterDone = (res) => setTimeout(() => res.end(), 1_000); // ends the response only much later
  const started = Date.now();
  const events = await readAll(30_000);
  expect(events.length).toBeGreaterThan(1);
  expect(JSON.parse(events.at(-1)!)).toHaveProperty('usage');
  expect(Date.now() - started).toBeLessThan(5_000);
  afterDone = (res) => res.end();
});

test('the body is read to its end after [DONE], so the connection is reused', async () => {
  afterDone = (res) => res.end();
  connections.clear();
  for (let i = 0; i < 3; i++) {
    await readAll(30_000);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the end of the body follows [DONE]
  }
  expect(connections.size).toBe(1);
});
