/** `npm start` with DATA_DIR: what was written survives a clean restart. */
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
      const created = await first.call('/admin/api-keys', { method: 'POST', key: ADMIN_KEY, body: JSON.stringify({ userId: 'persisted', plan: 'pro' }) });
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
