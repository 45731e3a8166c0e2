/**
 * Rate limits, quotas and OnlyFans messaging on the real app, dynalite and loopback upstreams, with
 * an injected clock fixed mid-minute so every window is exact.
 */
import { CapturingTelemetry, FakeClock } from '../helpers/fakes';
import { ADMIN_KEY, chatBody, readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const T0 = Date.parse('2026-11-22T12:00:30.000Z');
let users = 0;

/** A fresh user with their own key (created through the admin API). */
async function newUser(gw: TestGateway, plan: 'free' | 'pro' | 'enterprise' = 'pro'): Promise<{ userId: string; key: string }> {
  const userId = `user-${++users}`;
  const response = await gw.call('/admin/api-keys', { method: 'POST', key: ADMIN_KEY, body: JSON.stringify({ userId, plan }) });
  expect(response.status).toBe(201);
  return { userId, key: ((await response.json()) as { key: string }).key };
}

const message = (text = 'hello!') => ({ creatorId: 'c_123', fanId: 'f_456', text, mediaIds: ['m_1'] });

function send(gw: TestGateway, key: string, body: unknown = message(), headers: Record<string, string> = {}) {
  return gw.call('/api/onlyfans/messages', { method: 'POST', key, body: JSON.stringify(body), headers });
}

async function status(gw: TestGateway, key: string) {
  const response = await gw.call('/api/rate-limits/status', { key });
  expect(response.status).toBe(200);
  return response.json();
}

describe('OnlyFans messaging limit', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  const telemetry = new CapturingTelemetry();
  beforeAll(async () => {
    gw = await startTestGateway({ overrides: { clock, telemetry }, env: { ONLYFANS_GATEWAY_TIMEOUT_MS: '300' } });
  });
  afterAll(() => gw.close());
  beforeEach(() => {
    clock.current = T0;
    gw.onlyfans!.setFault(undefined);
  });

  it('admits exactly 10 of 200 concurrent messages from one user, and forwards exactly those 10', async () => {
    const { key, userId } = await newUser(gw);
    const before = gw.onlyfans!.delivered.length;
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => send(gw, key, message(`hello ${i}`))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    expect(gw.onlyfans!.delivered.length - before).toBe(10);
    const forwarded = gw.onlyfans!.delivered.slice(before).map((m) => (m.body as { text: string }).text);
    const accepted = await Promise.all(responses.filter((r) => r.status === 202).map((r) => r.json()));
    expect(new Set(forwarded).size).toBe(10);

    const refused = responses.find((r) => r.status === 429)!;
    // A sliding minute: room comes back when the oldest admission is a minute old.
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('onlyfans_messaging'), retryAfterSeconds: 60 },
    });
    expect(accepted.every((b) => /^msg_[0-9a-f]{24}$/.test(b.messageId) && b.status === 'sent')).toBe(true);

    // Every refusal counts as a violation in the current minute, hour and day.
    const live = await status(gw, key);
    expect(live.userId).toBe(userId);
    // `resetAt` is when the count next falls: the minute is an exact log; the hour and the day count in
    // buckets of 5 minutes and 2 hours, the oldest bucket in full until it has wholly left the window.
    expect(live.limits.onlyfans_messaging).toEqual({
      minute: { limit: 10, used: 10, remaining: 0, resetAt: '2026-11-22T12:01:30.000Z' },
      hour: { limit: 300, used: 10, remaining: 290, resetAt: '2026-11-22T13:05:00.000Z' },
      day: { limit: 2000, used: 10, remaining: 1990, resetAt: '2026-11-23T14:00:00.000Z' },
      violations: { minute: 190, hour: 190, day: 190 },
    });
  });

  it('keeps users apart: one user at the limit does not slow another', async () => {
    const a = await newUser(gw);
    const b = await newUser(gw);
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => send(gw, i % 2 === 0 ? a.key : b.key)));
    const accepted = (parity: number) => responses.filter((r, i) => i % 2 === parity && r.status === 202).length;
    expect([accepted(0), accepted(1)]).toEqual([10, 10]);
    expect((await status(gw, a.key)).limits.onlyfans_messaging.violations.minute).toBe(20);
    expect((await status(gw, b.key)).limits.onlyfans_messaging.violations.minute).toBe(20);
  });

  it('counts violations in every window, and waits for the window that refused', async () => {
    const tight = await startTestGateway({
      overrides: { clock },
      env: { RATE_LIMIT_POLICIES: JSON.stringify({ onlyfans_messaging: { minute: 5, hour: 3, day: 3 } }) },
    });
    try {
      const { key } = await newUser(tight);
      const statuses = (await Promise.all(Array.from({ length: 8 }, () => send(tight, key)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 202)).toHaveLength(3);
      const live = await status(tight, key);
      expect(live.limits.onlyfans_messaging.violations).toEqual({ minute: 5, hour: 5, day: 5 });
      // Blocked by the hour and the day: retry when the first message has left the day (24 h), not the minute.
      const refused = await send(tight, key);
      expect(refused.headers.get('retry-after')).toBe(String(24 * 3600));
    } finally {
      await tight.close();
    }
  });

  it('reports the tightest window in headers and in the 202 body', async () => {
    const { key } = await newUser(gw);
    const response = await send(gw, key);
    expect(response.status).toBe(202);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('9');
    expect(response.headers.get('x-ratelimit-reset-requests')).toBe('1m0s');
    expect(await response.json()).toEqual({
      messageId: expect.stringMatching(/^msg_/),
      gatewayMessageId: expect.stringMatching(/^of_/),
      status: 'sent',
      rateLimit: { limit: 10, remaining: 9, resetAt: '2026-11-22T12:01:30.000Z' },
    });
  });

  it('frees room a minute after each message, not when the calendar minute turns', async () => {
    const { key } = await newUser(gw);
    await Promise.all(Array.from({ length: 12 }, () => send(gw, key)));
    expect((await send(gw, key)).status).toBe(429);
    clock.advance(30_000); // 12:01:00.000: a new calendar minute, but the last 60 s still hold 10
    const stillFull = await send(gw, key);
    expect(stillFull.status).toBe(429);
    expect(stillFull.headers.get('retry-after')).toBe('30');
    clock.advance(30_000); // 12:01:30.000: the 10 are a minute old
    expect((await send(gw, key)).status).toBe(202);
    const live = await status(gw, key);
    expect(live.limits.onlyfans_messaging.minute).toMatchObject({ used: 1, remaining: 9, resetAt: '2026-11-22T12:02:30.000Z' });
    expect(live.limits.onlyfans_messaging.hour).toMatchObject({ used: 11 });
    // Violations are counted per calendar window: the 12:00 minute's three went with it.
    expect(live.limits.onlyfans_messaging.violations).toEqual({ minute: 1, hour: 4, day: 4 });
  });

  it.each([
    ['sliding', 10],
    ['fixed', 20],
  ] as const)('a burst across a minute boundary under a %s policy: %i forwarded', async (algorithm, expected) => {
    const boundary = await startTestGateway({
      overrides: { clock },
      env: { RATE_LIMIT_POLICIES: JSON.stringify({ onlyfans_messaging: { algorithm } }) },
    });
    try {
      const { key } = await newUser(boundary);
      const burst = async () => (await Promise.all(Array.from({ length: 15 }, () => send(boundary, key)))).map((r) => r.status);
      clock.current = Date.parse('2026-11-22T12:59:59.400Z');
      const first = await burst();
      clock.current = Date.parse('2026-11-22T13:00:00.300Z');
      const second = await burst();
      const admitted = [...first, ...second].filter((s) => s === 202).length;
      expect(admitted).toBe(expected);
      expect(boundary.onlyfans!.delivered).toHaveLength(expected);
    } finally {
      await boundary.close();
    }
  });

  it('returns the first result for a retried Idempotency-Key and forwards it once', async () => {
    const { key } = await newUser(gw);
    const before = gw.onlyfans!.delivered.length;
    const first = await send(gw, key, message('only once'), { 'idempotency-key': 'retry-1' });
    const again = await send(gw, key, message('only once'), { 'idempotency-key': 'retry-1' });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(gw.onlyfans!.delivered.length - before).toBe(1);
    expect(gw.onlyfans!.delivered.at(-1)!.idempotencyKey).toBe('retry-1');
    expect((await status(gw, key)).limits.onlyfans_messaging.minute.used).toBe(1);

    const reused = await send(gw, key, message('something else'), { 'idempotency-key': 'retry-1' });
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: { code: 'BAD_REQUEST', field: 'Idempotency-Key' } });
  });

  it('forwards once when retries with one key race each other', async () => {
    const { key } = await newUser(gw);
    const before = gw.onlyfans!.delivered.length;
    const responses = await Promise.all(Array.from({ length: 8 }, () => send(gw, key, message('racing'), { 'idempotency-key': 'race-1' })));
    expect(gw.onlyfans!.delivered.length - before).toBe(1);
    for (const r of responses) expect([202, 503]).toContain(r.status);
    const final = await send(gw, key, message('racing'), { 'idempotency-key': 'race-1' });
    expect(final.status).toBe(202);
    expect((await status(gw, key)).limits.onlyfans_messaging.minute.used).toBe(1);
  });

  it('answers 502 UPSTREAM_ERROR when the OnlyFans gateway fails, and gives the slot back only when the message certainly did not go out', async () => {
    const { key } = await newUser(gw);
    const used = async () => (await status(gw, key)).limits.onlyfans_messaging.minute.used;
    // A 4xx is a refusal to deliver: the slot comes back.
    gw.onlyfans!.setFault({ status: 422 }, 1);
    const refused = await send(gw, key, message('x'), { 'idempotency-key': 'fails-once' });
    expect(refused.status).toBe(502);
    expect(await refused.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.stringContaining('HTTP 422') } });
    expect(await used()).toBe(0);
    // The log line keeps the failure itself, not only its reason.
    expect(telemetry.events.find((e) => e.message === 'onlyfans gateway failed')?.context).toMatchObject({
      error: { name: 'MessageGatewayError', message: expect.stringContaining('HTTP 422') },
    });
    // A 5xx or a timeout may come after the message went out: the slot stays taken.
    gw.onlyfans!.setFault({ status: 500 }, 1);
    const failed = await send(gw, key, message('x'), { 'idempotency-key': 'fails-once' });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.stringContaining('HTTP 500') } });
    expect(await used()).toBe(1);
    gw.onlyfans!.setFault({ hang: true }, 1);
    const timedOut = await send(gw, key);
    expect(timedOut.status).toBe(502);
    expect((await timedOut.json()).error.message).toContain('300 ms');
    expect(await used()).toBe(2);
    // The released key can be retried, and goes through (deduplicated downstream by the same key).
    expect((await send(gw, key, message('x'), { 'idempotency-key': 'fails-once' })).status).toBe(202);
    expect(await used()).toBe(3);
  });

  it('never forwards or counts an invalid message', async () => {
    const { key } = await newUser(gw);
    const before = gw.onlyfans!.received.length;
    const cases: Array<[unknown, string]> = [
      [{ creatorId: 'c', fanId: 'f' }, 'text'],
      [{ creatorId: 'c', fanId: 'f', text: '' }, 'text'],
      [{ creatorId: 'c', fanId: 'f', text: 'x'.repeat(5001) }, 'text'],
      [{ creatorId: 'c', fanId: 'f', text: 'x', mediaIds: Array.from({ length: 21 }, (_, i) => `m${i}`) }, 'mediaIds'],
      [{ fanId: 'f', text: 'x' }, 'creatorId'],
    ];
    for (const [body, field] of cases) {
      const response = await send(gw, key, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'BAD_REQUEST', field } });
    }
    const badKey = await send(gw, key, message(), { 'idempotency-key': 'x'.repeat(129) });
    expect(badKey.status).toBe(400);
    expect(gw.onlyfans!.received.length).toBe(before);
    expect((await status(gw, key)).limits.onlyfans_messaging.minute.used).toBe(0);
  });
});

describe('AI request limits and token quotas', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  beforeAll(async () => {
    gw = await startTestGateway({
      overrides: { clock },
      env: {
        RATE_LIMIT_POLICIES: JSON.stringify({
          ai_requests: { minute: 3, hour: 100, day: 1000 },
          quotas: { free: { day: 400, month: 10_000 } },
          outputReservationTokens: 50,
        }),
      },
    });
  });
  afterAll(() => gw.close());
  beforeEach(() => {
    clock.current = T0;
  });

  const chat = (key: string, extra: Record<string, unknown> = {}) =>
    gw.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody(extra)) });

  it('refuses the request past the minute limit in OpenAI shape, with retry timing', async () => {
    const { key } = await newUser(gw, 'pro');
    const ok = await chat(key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    expect(ok.headers.get('x-ratelimit-reset-requests')).toBe('30s');
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('1000000');
    await chat(key);
    await chat(key);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await refused.json()).toEqual({
      error: {
        message: expect.stringContaining('Retry in 30s'),
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
        retry_after_seconds: 30,
      },
    });
    // The official SDK sees a RateLimitError.
    const sdk = new (await import('openai')).default({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await expect(sdk.chat.completions.create(chatBody() as never)).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
  });

  it('charges the provider’s real usage to the quota, streamed or not, and refuses once the day is spent', async () => {
    const { key } = await newUser(gw, 'free');
    const plain = await chat(key);
    const plainUsage = (await plain.json()).usage.total_tokens as number;
    let live = await status(gw, key);
    expect(live.quota).toEqual({
      plan: 'free',
      tokens: {
        day: { limit: 400, used: plainUsage, remaining: 400 - plainUsage, resetAt: '2026-11-23T00:00:00.000Z' },
        month: { limit: 10_000, used: plainUsage, remaining: 10_000 - plainUsage, resetAt: '2026-12-01T00:00:00.000Z' },
      },
    });

    // A stream without include_usage: the gateway asks for usage anyway, charges it, and hides the chunk.
    const streamed = await chat(key, { stream: true });
    const { data } = await readSseData(streamed);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.some((d) => d.includes('"usage":{'))).toBe(false);
    live = await status(gw, key);
    // The stream was charged its real count (the same prompt as the plain call: the same usage), not its reservation.
    expect(live.quota.tokens.day.used).toBe(2 * plainUsage);
    // Keep going until the day is spent, then the next request is refused before any provider call.
    const sims = gw.sims.openai!;
    let refused: Response | undefined;
    for (let i = 0; i < 20 && !refused; i += 1) {
      clock.advance(60_000);
      const response = await chat(key);
      if (response.status === 429) refused = response;
      else await response.text();
      // Each answer's real usage replaces its reservation (the status read waits for the settlement).
      await status(gw, key);
    }
    expect(refused).toBeDefined();
    const callsBefore = sims.calls;
    clock.advance(60_000);
    const again = await chat(key);
    expect(again.status).toBe(429);
    expect(sims.calls).toBe(callsBefore);
    expect(again.headers.get('retry-after')).toBe(String(Math.ceil((Date.parse('2026-11-23T00:00:00Z') - clock.now()) / 1000)));
    expect(await again.json()).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    live = await status(gw, key);
    expect(live.quota.tokens.day.used).toBeGreaterThanOrEqual(400);
    expect(live.quota.tokens.day.remaining).toBe(0);
  });

  it('charges exactly the usage the responses report', async () => {
    const { key } = await newUser(gw, 'pro');
    let total = 0;
    for (let i = 0; i < 3; i += 1) {
      const response = await chat(key, { messages: [{ role: 'user', content: `question number ${i} ${'word '.repeat(i * 20)}` }] });
      total += (await response.json()).usage.total_tokens;
    }
    clock.advance(60_000);
    const stream = await gw.client.chat.completions.create(
      { ...(chatBody() as object), stream: true, stream_options: { include_usage: true } } as never,
      {
        headers: { authorization: `Bearer ${key}` },
      },
    );
    for await (const chunk of stream as unknown as AsyncIterable<{ usage?: { total_tokens: number } | null }>)
      if (chunk.usage) total += chunk.usage.total_tokens;
    const live = await status(gw, key);
    expect(live.quota.tokens.day.used).toBe(total);
    expect(live.quota.tokens.month.used).toBe(total);
    expect(live.limits.ai_requests.hour.used).toBe(4);
  });

  it('refuses the legacy AI endpoints in the legacy shape, sharing the same ai_requests window', async () => {
    const { key } = await newUser(gw, 'pro');
    const generate = () =>
      gw.call('/api/ai/messages/generate', { method: 'POST', key, body: JSON.stringify({ creatorId: 'c', fanId: 'f' }) });
    expect((await generate()).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const third = await generate();
    expect(third.status).toBe(200);
    expect(third.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const refused = await generate();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('ai_requests'), retryAfterSeconds: 30 },
    });
  });

  it('answers QUOTA_EXCEEDED on the legacy endpoints once the day’s tokens are spent', async () => {
    const { key } = await newUser(gw, 'free');
    let refused: Response | undefined;
    for (let i = 0; i < 30 && !refused; i += 1) {
      clock.advance(20_000);
      const response = await gw.call('/api/ai/content/plan', {
        method: 'POST',
        key,
        body: JSON.stringify({ creatorId: 'c', platforms: ['reddit'], goals: 'grow' }),
      });
      if (response.status === 429) refused = response;
      else expect(response.status).toBe(200);
    }
    expect(refused).toBeDefined();
    expect(await refused!.json()).toEqual({
      error: { code: 'QUOTA_EXCEEDED', message: expect.stringContaining('Token quota'), retryAfterSeconds: expect.any(Number) },
    });
  });

  it('gives a request that fails at every provider its tokens back but still counts the request', async () => {
    const { key } = await newUser(gw, 'pro');
    gw.sims.openai!.setFault({ kind: 'status', status: 500 }, 10);
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 }, 10);
    try {
      expect((await chat(key)).status).toBe(502);
    } finally {
      gw.sims.openai!.setFault(undefined);
      gw.sims['azure-openai']!.setFault(undefined);
    }
    const live = await status(gw, key);
    expect(live.quota.tokens.day.used).toBe(0);
    expect(live.limits.ai_requests.minute.used).toBe(1);
  });
});

describe('AI metering off (AI_METERING=off, the stateless path)', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  const telemetry = new CapturingTelemetry();
  beforeAll(async () => {
    gw = await startTestGateway({
      overrides: { clock, telemetry },
      env: { AI_METERING: 'off', RATE_LIMIT_POLICIES: JSON.stringify({ ai_requests: { minute: 2, hour: 2, day: 2 } }) },
    });
  });
  afterAll(() => gw.close());

  it('serves AI requests past every AI limit without counting or recording them; OnlyFans messages keep their limit and records', async () => {
    const { key, userId } = await newUser(gw, 'free');
    const day = new Date(T0).toISOString().slice(0, 10);
    const chats = await Promise.all(
      Array.from({ length: 5 }, () => gw.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody()) })),
    );
    expect(chats.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(chats.every((r) => r.headers.get('x-ratelimit-limit-requests') === null)).toBe(true);
    const legacy = await gw.call('/api/ai/messages/generate', {
      method: 'POST',
      key,
      body: JSON.stringify({ creatorId: 'c_1', fanId: 'f_1', fanName: 'Sam' }),
    });
    expect(legacy.status).toBe(200);
    const sent = await send(gw, key);
    expect(sent.status).toBe(202);
    expect(sent.headers.get('x-ratelimit-remaining-requests')).toBe('9');
    await gw.gateway.background.drain();

    // No limiter write for the AI requests: the user's AI windows and token quota are untouched.
    const live = await status(gw, key);
    expect(live.limits.ai_requests.minute.used).toBe(0);
    expect(live.quota.tokens.day.used).toBe(0);
    expect(live.limits.onlyfans_messaging.minute.used).toBe(1);
    // Only the OnlyFans message left a usage record.
    const records = (await gw.gateway.usage.recordsOfDay(day)).filter((r) => r.userId === userId);
    expect(records.map((r) => r.route)).toEqual(['/api/onlyfans/messages']);
    // Nor is what only the records' readers use computed: the request's digest, its complexity.
    const answered = telemetry.summaries.filter((summary) => summary.path === '/v1/chat/completions' && summary.userId === userId);
    expect(answered).toHaveLength(5);
    for (const summary of answered) {
      expect(summary.ai).toMatchObject({ outcome: 'ok' });
      expect(summary.ai).not.toHaveProperty('requestHash');
      expect(summary.ai).not.toHaveProperty('complexity');
    }
    // A smart-routed request's complexity, which its routing computed anyway, is still logged.
    const smart = await gw.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody({ model: 'auto' })) });
    expect(smart.status).toBe(200);
    await gw.gateway.background.drain();
    const routed = telemetry.summaries.filter((summary) => summary.path === '/v1/chat/completions' && summary.userId === userId).at(-1);
    expect(routed?.ai).toMatchObject({ smart: { tier: expect.any(String) }, complexity: expect.any(String) });
    expect(routed?.ai).not.toHaveProperty('requestHash');
  });
});

describe('status and admin routes', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  beforeAll(async () => {
    gw = await startTestGateway({ overrides: { clock } });
  });
  afterAll(() => gw.close());

  it('shows the caller’s whole state in the legacy contract’s shape', async () => {
    const { key, userId } = await newUser(gw, 'pro');
    await send(gw, key);
    const live = await status(gw, key);
    expect(Object.keys(live)).toEqual(['userId', 'limits', 'quota']);
    expect(live.userId).toBe(userId);
    for (const policy of ['onlyfans_messaging', 'ai_requests']) {
      expect(Object.keys(live.limits[policy])).toEqual(['minute', 'hour', 'day', 'violations']);
      for (const w of ['minute', 'hour', 'day']) {
        expect(live.limits[policy][w]).toEqual({
          limit: expect.any(Number),
          used: expect.any(Number),
          remaining: expect.any(Number),
          resetAt: expect.any(String),
        });
      }
    }
    expect(live.quota).toEqual({
      plan: 'pro',
      tokens: {
        day: { limit: 1_000_000, used: 0, remaining: 1_000_000, resetAt: '2026-11-23T00:00:00.000Z' },
        month: { limit: 20_000_000, used: 0, remaining: 20_000_000, resetAt: '2026-12-01T00:00:00.000Z' },
      },
    });
    expect((await gw.call('/api/rate-limits/status', { key: null })).status).toBe(401);
    expect(await (await gw.call('/api/rate-limits/status', { key: null })).json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('lets admins read and reset any user’s counters', async () => {
    const { key, userId } = await newUser(gw, 'free');
    await Promise.all(Array.from({ length: 12 }, () => send(gw, key)));
    const read = await gw.call(`/admin/rate-limits/${userId}`, { key: ADMIN_KEY });
    expect(read.status).toBe(200);
    const state = await read.json();
    expect(state.quota.plan).toBe('free');
    expect(state.limits.onlyfans_messaging.minute.used).toBe(10);
    expect(state.limits.onlyfans_messaging.violations).toEqual({ minute: 2, hour: 2, day: 2 });
    expect((await gw.call(`/admin/rate-limits/${userId}`, { key })).status).toBe(403);

    const reset = await gw.call(`/admin/rate-limits/${userId}`, { method: 'DELETE', key: ADMIN_KEY });
    expect(reset.status).toBe(200);
    expect((await reset.json()).status.limits.onlyfans_messaging.minute).toMatchObject({ used: 0, remaining: 10 });
    expect((await send(gw, key)).status).toBe(202);
  });
});
