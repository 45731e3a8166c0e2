/** The local runner: DATA_DIR persistence across restarts, a clean shutdown, and a start that cannot hang on its storage. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_KEY, chatBody, startTestGateway } from '../helpers/local-gateway';

describe('DATA_DIR', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ho-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps API keys across a restart', async () => {
    const first = await startTestGateway({ env: { DATA_DIR: dataDir } });
    let key: string;
    try {
      const created = await first.call('/admin/api-keys', {
        method: 'POST',
        key: ADMIN_KEY,
        body: JSON.stringify({ userId: 'persisted', plan: 'pro' }),
      });
      key = (await created.json()).key;
    } finally {
      await first.close();
    }
    const second = await startTestGateway({ env: { DATA_DIR: dataDir } });
    try {
      const answer = await second.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody()) });
      expect(answer.status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe('shutdown', () => {
  it('lets a request in flight finish before stopping', async () => {
    const gw = await startTestGateway();
    gw.sims.openai!.latencyMs = 300;
    const inFlight = gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = gw.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect((await response.json()).object).toBe('chat.completion');
    await closing;
    await expect(fetch(`${gw.url}/health`)).rejects.toThrow();
  });
});

describe('start', () => {
  it('fails with the reason, not hangs, when DynamoDB accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const hung = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const started = Date.now();
    try {
      await expect(startTestGateway({ env: { DYNAMODB_ENDPOINT: endpoint } })).rejects.toThrow(
        `DynamoDB at ${endpoint} could not set up the tables`,
      );
      // Two attempts of about 5 s for the first table call.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  }, 30_000);
});
