/** The OnlyFans gateway client against real loopback servers: which failures prove a message was not delivered. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpMessageGateway } from '../../../lambdas/adapters/onlyfans/http-message-gateway';
import { MessageGatewayError } from '../../../lambdas/core/messaging/message-service';

let server: Server;
let base: string;
let answer: (res: import('node:http').ServerResponse) => void = (res) => res.end('{}');

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const message = { creatorId: 'c', fanId: 'f', text: 'hi' };

async function failure(url: string, timeoutMs = 2_000): Promise<MessageGatewayError> {
  const error = await new HttpMessageGateway(url, timeoutMs).send(message, 'k1').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MessageGatewayError);
  return error as MessageGatewayError;
}

test('a refused connection and a 4xx prove the message was not delivered', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await failure(`http://127.0.0.1:${port}`);
  expect(refused.reason).toBe('connection failed (ECONNREFUSED)');
  expect(refused.mayHaveBeenDelivered).toBe(false);

  answer = (res) => res.writeHead(429).end('{}');
  const tooMany = await failure(base);
  expect([tooMany.status, tooMany.mayHaveBeenDelivered]).toEqual([429, false]);
});

test('a 409, a 5xx, a timeout and a connection lost mid-answer may have delivered it', async () => {
  answer = (res) => res.writeHead(409).end('{}'); // a duplicate of a send still in flight
  const conflict = await failure(base);
  expect([conflict.status, conflict.mayHaveBeenDelivered]).toEqual([409, true]);

  answer = (res) => res.writeHead(503).end('{}');
  const unavailable = await failure(base);
  expect([unavailable.status, unavailable.mayHaveBeenDelivered]).toEqual([503, true]);

  answer = () => undefined; // never answers
  const timedOut = await failure(base, 100);
  expect(timedOut.reason).toBe('no answer within 100 ms');
  expect(timedOut.mayHaveBeenDelivered).toBe(true);

  answer = (res) => res.socket?.destroy(); // reset after the request was read
  const reset = await failure(base);
  expect(reset.reason).toBe('connection failed');
  expect(reset.mayHaveBeenDelivered).toBe(true);
});
