/** One structured JSON log line per request, with the whole routing story and no secrets. */
import { chatBody, startTestGateway, USER_KEY, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
let lines: string[] = [];
let spies: jest.SpyInstance[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ env: { LOG_LEVEL: 'INFO' } });
  // Powertools writes info to stdout and warn/error to stderr (both reach CloudWatch on Lambda).
  spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    }),
  );
});
afterAll(async () => {
  for (const spy of spies) spy.mockRestore();
  await gw.close();
});
beforeEach(() => {
  lines = [];
});

const requestLines = () => lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'request');

describe('request log line', () => {
  it('records the candidates, every attempt, the choice and why, and the usage', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 }, 2);
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    const requestId = response.headers.get('x-request-id');
    await response.text();
    const logged = requestLines();
    expect(logged).toHaveLength(1);
    const [line] = logged;
    expect(line).toMatchObject({ level: 'INFO', requestId, userId: 'local-user', status: 200, path: '/v1/chat/completions' });
    expect(line.timestamp).toEqual(expect.any(String));
    expect(line.ai.taskType).toBe('general');
    expect(line.ai.candidates.map((c: { provider: string }) => c.provider)).toEqual(['openai', 'azure-openai']);
    expect(
      line.ai.attempts.map((a: { provider: string; status: number; errorClass: string | null; outcome: string }) => [
        a.provider,
        a.status,
        a.errorClass,
        a.outcome,
      ]),
    ).toEqual([
      ['openai', 503, 'server_error', 'retry'],
      ['openai', 503, 'server_error', 'fallback'],
      ['azure-openai', 200, null, 'success'],
    ]);
    expect(line.ai.attempts.every((a: { latencyMs: number }) => typeof a.latencyMs === 'number')).toBe(true);
    // Why each failed: the gateway's account, the SDK's error, the provider's own message.
    expect(line.ai.attempts[0].cause).toBe('openai: HTTP 503; InternalServerError; Simulated upstream error 503.');
    expect(line.ai.chosen).toMatchObject({
      provider: 'azure-openai',
      reason: expect.stringContaining('fallback #1 after openai failed with server_error (503)'),
    });
    expect(line.ai.usage.totalTokens).toBeGreaterThan(0);
    const all = lines.join('\n');
    expect(all).not.toContain(USER_KEY);
    expect(all).not.toContain('sk-simulated-upstream-key');
  });

  it('logs a caller’s x-request-id beside the gateway’s own id, which the line is keyed by', async () => {
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(chatBody()),
      headers: { 'x-request-id': 'caller-log-1' },
    });
    await response.text();
    expect(response.headers.get('x-request-id')).toBe('caller-log-1');
    const [line] = requestLines();
    expect(line.callerRequestId).toBe('caller-log-1');
    expect(line.requestId).toMatch(/^req_[0-9a-f]{24}$/);
  });

  it('logs a stream once it has finished, with time to first token and its outcome', async () => {
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(chatBody({ stream: true, stream_options: { include_usage: true } })),
    });
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [line] = requestLines();
    expect(line.ai).toMatchObject({ stream: true, outcome: 'ok', errorClass: null });
    expect(line.ai.timeToFirstTokenMs).toEqual(expect.any(Number));
    expect(line.ai.usage.totalTokens).toBeGreaterThan(0);
  });

  it('logs client errors too, at warn level', async () => {
    await (await gw.call('/v1/chat/completions', { method: 'POST', body: '{' })).text();
    const [line] = requestLines();
    expect(line).toMatchObject({ level: 'WARN', status: 400 });
  });
});
