/** The local runner: DATA_DIR persistence across restarts, and a clean shutdown. */
import { mkdtempSync, rmSync } from 'node:fs';
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
