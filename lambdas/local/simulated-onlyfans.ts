/**
 * A simulated OnlyFans gateway service for the local runner and tests: a real HTTP server on
 * loopback that accepts `POST /messages`, records what it receives, deduplicates by
 * `Idempotency-Key` like the real service, and can be told to fail.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage {
  body: unknown;
  idempotencyKey: string | undefined;
  at: number;
}

export type OnlyFansFault = { status: number } | { hang: true };

export class SimulatedOnlyFansGateway {
  /** Every message accepted and delivered (duplicates by key are not delivered twice). */
  readonly delivered: ReceivedMessage[] = [];
  /** Every request received, including duplicates and failed ones. */
  readonly received: ReceivedMessage[] = [];
  private readonly byKey = new Map<string, string>();
  private fault: OnlyFansFault | undefined;
  private faultTimes = 0;
  private server: Server | undefined;
  private counter = 0;

  /** Fails the next `times` requests (Infinity: until cleared). */
  setFault(fault: OnlyFansFault | undefined, times = Number.POSITIVE_INFINITY): void {
    this.fault = fault;
    this.faultTimes = times;
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('simulated OnlyFans gateway is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/messages') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid json"}');
      return;
    }
    const key = req.headers['idempotency-key'];
    const received: ReceivedMessage = { body, idempotencyKey: typeof key === 'string' ? key : undefined, at: Date.now() };
    this.received.push(received);
    if (this.fault && this.faultTimes > 0) {
      this.faultTimes -= 1;
      const fault = this.fault;
      if (this.faultTimes === 0) this.fault = undefined;
      if ('hang' in fault) return; // never answers: the caller's timeout must fire
      res.writeHead(fault.status, { 'content-type': 'application/json' }).end('{"error":"simulated failure"}');
      return;
    }
    const known = received.idempotencyKey ? this.byKey.get(received.idempotencyKey) : undefined;
    const messageId = known ?? `of_${(++this.counter).toString().padStart(6, '0')}`;
    if (!known) {
      this.delivered.push(received);
      if (received.idempotencyKey) this.byKey.set(received.idempotencyKey, messageId);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId, status: 'sent' }));
  }
}
