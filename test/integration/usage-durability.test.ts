/**
 * Nothing is lost: every authenticated metered request leaves one usage record even across a storage
 * outage (records wait in the spill file and are written when the gateway starts again) and a
 * shutdown (a stream cut by it ends with an error event, and its record is written or spilled); and
 * `npm start` stops when stopped the way a process manager does it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { ADMIN_KEY, chatBody, readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const ROOT = join(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The usage records of a day, read through the admin report route (which drains this instance's writes first). */
async function recordsOf(gw: TestGateway): Promise<number> {
  const today = new Date().toISOString().slice(0, 10);
  const usage = await gw.call(`/admin/usage?from=${today}&to=${today}&groupBy=user`, { key: ADMIN_KEY });
  const body = (await usage.json()) as { totals: { requests: number } };
  return body.totals.requests;
}

describe('usage records across a storage outage', () => {
  let dataDir: string;
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ho-spill-'));
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('spills the records of requests served or refused while DynamoDB is down, and writes them when it starts again', async () => {
    const env = { DATA_DIR: dataDir, DYNAMODB_ENDPOINT: dynamo.endpoint, DYNAMODB_TIMEOUT_MS: '300', API_KEY_CACHE_TTL_SECONDS: '60' };
    const open = await startTestGateway({ env: { ...env, RATE_LIMIT_FAIL_MODE: 'open' } });
    const closed = await startTestGateway({ env });
    expect(await recordsOf(open)).toBe(0);
    for (const gw of [open, closed]) expect((await gw.call('/v1/models')).status).toBe(200);
    // DynamoDB goes away (requests to it are refused).
    await dynamo.close();
    try {
      const served = await Promise.all(
        Array.from({ length: 5 }, () => open.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })),
      );
      expect(served.map((r) => r.status)).toEqual(Array(5).fill(200));
      const refused = await closed.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      expect(refused.status).toBe(503);
      await Promise.all([open.gateway.background.drain(), closed.gateway.background.drain()]);
      const spilled = readFileSync(join(dataDir, 'usage-spill.jsonl'), 'utf8').trim().split('\n');
      expect(spilled).toHaveLength(6);
      expect(spilled.map((line) => JSON.parse(line).status).sort()).toEqual([200, 200, 200, 200, 200, 503]);
    } finally {
      await Promise.all([open.close(), closed.close()]);
    }
    // DynamoDB is back, on the same port: the next start writes the 6 records, once.
    dynamo = await startDynalite({ port: Number(new URL(env.DYNAMODB_ENDPOINT).port) });
    const restarted = await startTestGateway({ env });
    try {
      await restarted.gateway.background.drain();
      expect(await recordsOf(restarted)).toBe(6);
      expect(() => readFileSync(join(dataDir, 'usage-spill.jsonl'))).toThrow();
    } finally {
      await restarted.close();
    }
  }, 60_000);
});

describe('shutdown', () => {
  it('ends a stream in flight with an error event, not a reset, and records it', async () => {
    const gw = await startTestGateway();
    gw.sims.openai!.chunkDelayMs = 200;
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody({ stream: true })) });
    const reading = readSseData(response);
    await sleep(300);
    const recorded = gw.gateway.ledger;
    const spy = jest.spyOn(recorded, 'record');
    await gw.close();
    const { raw, data } = await reading;
    expect(raw).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1)!)).toMatchObject({ error: { code: 'server_shutting_down' } });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toMatchObject({ status: 200, ai: { outcome: 'stream_error', errorClass: 'shutdown' } });
  });

  it('stops `npm start` when its npm process is sent SIGTERM, as a process manager does', async () => {
    const child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'SILENT', HEARTBEAT_INTERVAL_SECONDS: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let enginePid = 0;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start did not start within 30 s')), 30_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // dynalite runs in a process of its own, which stops with the gateway.
        enginePid = Number(/dynalite in its own process \(pid (\d+)\)/.exec(line)?.[1] ?? enginePid);
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    child.kill('SIGTERM');
    let stopped = false;
    for (let i = 0; i < 40 && !stopped; i++) {
      await sleep(250);
      stopped = await fetch(`${url}/health`).then(
        () => false,
        () => true,
      );
    }
    expect(stopped).toBe(true);
    expect(enginePid).toBeGreaterThan(0);
    let engineGone = false;
    for (let i = 0; i < 40 && !engineGone; i++) {
      await sleep(250);
      engineGone = !alive(enginePid);
    }
    expect(engineGone).toBe(true);
  }, 60_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
