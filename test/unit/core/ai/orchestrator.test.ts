import defaultRoutes from '../../../../config/routes.json';
import { openAiError, ProviderCallError, type ProviderFailure } from '../../../../lambdas/core/errors';
import { failureClass, Orchestrator, type RouteFailure } from '../../../../lambdas/core/ai/orchestrator';
import { errorBody, routeFailureAnswer } from '../../../../lambdas/http/errors';
import { parseRouteTable, planRoute, type RouteTable } from '../../../../lambdas/core/ai/route-table';
import { HealthMonitor } from '../../../../lambdas/core/health/health-monitor';
import type { ProviderOperation } from '../../../../lambdas/core/ai/ports';
import { servesResponses } from '../../../../lambdas/adapters/providers/azure-openai';
import {
  CapturingTelemetry,
  directory,
  FakeClock,
  InMemoryHealthStore,
  ManualClock,
  ScriptedProvider,
  ScriptedRandom,
  settleMicrotasks,
  type Step,
} from '../../../helpers/fakes';

const table: RouteTable = parseRouteTable(
  {
    ...defaultRoutes,
    defaults: { ...defaultRoutes.defaults, retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 2000 } },
  },
  'test',
);
const targets = planRoute(table, 'general', 'gpt-4o-mini'); // openai, then azure-openai
const signal = new AbortController().signal;

const DEADLINE_MS = 240_000;

function setup(openai: Step[], azure: Step[], random = [0.5], deadlineMs = DEADLINE_MS) {
  const clock = new FakeClock();
  const providers = {
    openai: new ScriptedProvider('openai', openai, clock),
    'azure-openai': new ScriptedProvider('azure-openai', azure, clock),
  };
  const orchestrator = new Orchestrator({ providers: directory(providers), clock, random: new ScriptedRandom(random), deadlineMs });
  return { clock, providers, orchestrator };
}

/** How the HTTP layer answers a failure on `/v1/*`: status, recorded error class and body. */
function answered(failure: RouteFailure) {
  const { status, spec } = routeFailureAnswer(failure);
  return { status, errorClass: failureClass(failure), body: errorBody('/v1/chat/completions', status, spec) };
}

const http = (
  status: number,
  errorClass: ProviderFailure['errorClass'],
  extra: Partial<ProviderFailure> = {},
): { fail: ProviderFailure } => ({
  fail: { status, errorClass, ...extra },
});

describe('Orchestrator.complete', () => {
  it('answers from the primary target when it succeeds', async () => {
    const { orchestrator } = setup([{ ok: true }], []);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok).toBe(true);
    expect(routed.trace.fallback).toBe(false);
    expect(routed.trace.chosen).toMatchObject({ provider: 'openai', reason: expect.stringContaining('primary') });
    expect(routed.trace.attempts).toHaveLength(1);
  });

  it('retries a retryable failure on the same target after a jittered backoff', async () => {
    const { orchestrator, clock } = setup([http(503, 'server_error'), { ok: true }], [], [0.25]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('openai');
    expect(clock.sleeps).toEqual([25]); // 0.25 * min(1000, 100 * 2^0)
    expect(routed.trace.attempts.map((a) => a.outcome)).toEqual(['retry', 'success']);
    expect(routed.trace.fallback).toBe(false);
  });

  it('waits for a short retry-after the upstream asked for, on the same target', async () => {
    const { orchestrator, clock } = setup([http(429, 'rate_limited', { retryAfterMs: 1500 }), { ok: true }], []);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(clock.sleeps).toEqual([1500]);
    expect(routed.ok && routed.target.provider).toBe('openai');
  });

  it('falls back at once when the retry-after is longer than maxRetryAfterMs', async () => {
    const { orchestrator, clock } = setup([http(429, 'rate_limited', { retryAfterMs: 60_000 }), { ok: true }], []);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(clock.sleeps).toEqual([]);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
  });

  it('falls back to the next target when retries are spent', async () => {
    const { orchestrator, providers } = setup([http(500, 'server_error'), { fail: { errorClass: 'timeout' } }], [{ ok: true }]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.trace.fallback).toBe(true);
    expect(routed.trace.chosen?.reason).toMatch(/fallback #1 after openai failed with timeout/);
    expect(routed.trace.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual([
      'openai:retry',
      'openai:fallback',
      'azure-openai:success',
    ]);
    expect(providers['azure-openai'].calls[0]?.upstreamModel).toBe('gpt-4o-mini');
  });

  it.each([
    [400, 'bad_request'],
    [422, 'unprocessable'],
    [400, 'content_filter'],
  ] as const)('returns HTTP %i (%s) unchanged, without retry or fallback', async (status, errorClass) => {
    const body = { error: { message: 'nope', type: 'invalid_request_error', param: 'messages', code: errorClass } };
    const { orchestrator, providers } = setup([http(status, errorClass, { body })], [{ ok: true }]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok).toBe(false);
    if (routed.ok) return;
    expect(answered(routed.failure)).toEqual({ status, errorClass, body });
    expect(providers['azure-openai'].calls).toHaveLength(0);
    expect(routed.trace.attempts).toHaveLength(1);
  });

  it.each([
    [401, 'auth'],
    [403, 'forbidden'],
    [404, 'not_found'],
  ] as const)(
    "falls back at once when a provider refuses the gateway's credentials (%i) or cannot serve the target's model (404), and never passes that on",
    async (status, errorClass) => {
      const { orchestrator, providers } = setup([http(status, errorClass), http(status, errorClass)], [{ ok: true }]);
      const routed = await orchestrator.complete(targets, {}, signal);
      expect(routed.ok && routed.target.provider).toBe('azure-openai');
      expect(providers.openai.calls).toHaveLength(1);
      const alone = setup([http(status, errorClass)], [http(status, errorClass)]);
      const failed = await alone.orchestrator.complete(targets, {}, signal);
      expect(!failed.ok && answered(failed.failure)).toMatchObject({ status: 502, body: { error: { code: 'upstream_error' } } });
    },
  );

  it('answers 504 when every attempt timed out, trying each target once (a timeout is not retried)', async () => {
    const t = { fail: { errorClass: 'timeout' as const } };
    const { orchestrator } = setup([t, t], [t, t]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(!routed.ok && answered(routed.failure).status).toBe(504);
    expect(routed.trace.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(['openai:fallback', 'azure-openai:failed']);
  });

  it('answers 503 when the last provider refused connections or rate limited', async () => {
    const refused = { fail: { errorClass: 'connection_refused' as const } };
    const { orchestrator } = setup([refused, refused], [http(429, 'rate_limited'), http(429, 'rate_limited')]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(!routed.ok && answered(routed.failure)).toMatchObject({ status: 503, body: { error: { code: 'upstream_unavailable' } } });
  });

  it('answers 502 when the providers failed with server errors', async () => {
    const e = http(500, 'server_error');
    const { orchestrator } = setup([e, e], [e, e]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(!routed.ok && answered(routed.failure)).toMatchObject({ status: 502, body: { error: { code: 'upstream_error' } } });
  });

  it('skips providers without credentials and says so', async () => {
    const clock = new FakeClock();
    const azure = new ScriptedProvider('azure-openai', [{ ok: true }]);
    const orchestrator = new Orchestrator({
      providers: directory({ 'azure-openai': azure }),
      clock,
      random: new ScriptedRandom(),
      deadlineMs: DEADLINE_MS,
    });
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.trace.attempts[0]).toMatchObject({ provider: 'openai', outcome: 'skipped', errorClass: 'not_configured' });
  });

  it('answers 503 no_provider_configured when nothing is configured', async () => {
    const orchestrator = new Orchestrator({
      providers: directory({}),
      clock: new FakeClock(),
      random: new ScriptedRandom(),
      deadlineMs: DEADLINE_MS,
    });
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(!routed.ok && answered(routed.failure)).toMatchObject({ status: 503, errorClass: 'no_provider_configured' });
  });

  it('gives each attempt no more than what is left of the deadline once the next target has its first-event time', async () => {
    const { orchestrator, providers } = setup(
      [{ fail: { errorClass: 'server_error', status: 500 }, takesMs: 100_000 }, { ok: true }],
      [],
      [0],
      150_000,
    );
    await orchestrator.complete(targets, {}, signal);
    // 150 s - 100 s spent - 10 s kept for azure-openai's first event.
    expect(providers.openai.calls.map((c) => c.timeouts.totalMs)).toEqual([120_000, 40_000]);
  });

  it('gives a call asked whole (audio in a format that does not stream, a target that cannot stream) its total time for the first byte', async () => {
    const { orchestrator, providers } = setup([{ ok: true }, { ok: true }], []);
    await orchestrator.complete(targets, { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }, signal);
    await orchestrator.complete([{ ...targets[0]!, upstreamStreaming: false }, targets[1]!], {}, signal);
    // Their headers come with the whole answer: the target's total time (120 s), not its first event's (10 s).
    expect(providers.openai.calls.map((c) => c.timeouts.firstByteMs)).toEqual([120_000, 120_000]);
  });

  it('keeps why each failed attempt failed, for the log line: its account, its cause, the provider’s message', async () => {
    const overloaded = { errorClass: 'server_error' as const, status: 503, body: openAiError('The engine is overloaded.', 'api_error') };
    const { orchestrator } = setup([{ fail: overloaded }, { fail: overloaded }], [{ ok: true }], [0]);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok).toBe(true);
    expect(routed.trace.attempts.map((a) => a.cause)).toEqual([
      'openai scripted failure; The engine is overloaded.',
      'openai scripted failure; The engine is overloaded.',
      undefined,
    ]);
  });

  it('answers 504 deadline_exceeded, without starting another attempt, once the deadline has passed', async () => {
    const slow = { fail: { errorClass: 'server_error' as const, status: 500 }, takesMs: 90_000 };
    const { orchestrator, providers } = setup([slow, slow], [{ ok: true }], [0], 150_000);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(!routed.ok && answered(routed.failure)).toMatchObject({ status: 504, body: { error: { code: 'deadline_exceeded' } } });
    expect(providers['azure-openai'].calls).toHaveLength(0);
    expect(routed.trace.attempts).toHaveLength(2);
  });

  it('skips a retry whose wait would outlast the deadline and falls back instead', async () => {
    const { orchestrator, clock } = setup(
      [{ fail: { errorClass: 'rate_limited', status: 429, retryAfterMs: 2000 }, takesMs: 29_000 }],
      [{ ok: true }],
      [0.5],
      30_000,
    );
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(clock.sleeps).toEqual([]);
    expect(routed.trace.attempts[0]?.outcome).toBe('fallback');
  });

  it('stops at once when the client has gone', async () => {
    const controller = new AbortController();
    controller.abort();
    const { orchestrator, providers } = setup([{ ok: true }], []);
    const routed = await orchestrator.complete(targets, {}, controller.signal);
    expect(!routed.ok && answered(routed.failure).status).toBe(499);
    expect(providers.openai.calls).toHaveLength(0);
  });
});

describe('Orchestrator.openStream', () => {
  it('falls back when a target fails before its first event', async () => {
    const { orchestrator } = setup(
      [http(500, 'server_error'), { events: [], thenFail: { errorClass: 'connection_reset' } }],
      [{ events: ['{"a":1}', '{"a":2}'] }],
    );
    const routed = await orchestrator.openStream(targets, {}, signal);
    expect(routed.ok).toBe(true);
    if (!routed.ok) return;
    expect(routed.target.provider).toBe('azure-openai');
    expect(routed.value.first).toBe('{"a":1}');
    expect(await routed.value.rest.next()).toEqual({ done: false, value: '{"a":2}' });
  });

  it('treats a stream that ends before any event as a failure', async () => {
    const { orchestrator } = setup([{ events: [] }, { events: [] }], [{ events: ['{"ok":1}'] }]);
    const routed = await orchestrator.openStream(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.trace.attempts[0]?.errorClass).toBe('stream_error');
  });

  it('does not fall back once the first event arrived: a later failure surfaces to the reader', async () => {
    const { orchestrator, providers } = setup([{ events: ['{"a":1}'], thenFail: { errorClass: 'connection_reset' } }], [{ ok: true }]);
    const routed = await orchestrator.openStream(targets, {}, signal);
    expect(routed.ok).toBe(true);
    if (!routed.ok) return;
    await expect(routed.value.rest.next()).rejects.toBeInstanceOf(ProviderCallError);
    expect(providers['azure-openai'].calls).toHaveLength(0);
  });
});

describe('Orchestrator with provider health', () => {
  function withHealth(openai: Step[], azure: Step[], deadlineMs = DEADLINE_MS) {
    const clock = new FakeClock();
    const store = new InMemoryHealthStore();
    const work: Array<Promise<unknown>> = [];
    const health = new HealthMonitor(store, clock, new CapturingTelemetry(), 'gw-test', (w) => void work.push(w));
    const providers = {
      openai: new ScriptedProvider('openai', openai, clock),
      'azure-openai': new ScriptedProvider('azure-openai', azure, clock),
    };
    const orchestrator = new Orchestrator({
      providers: directory(providers),
      clock,
      random: new ScriptedRandom([0]),
      deadlineMs,
      health,
    });
    const settle = async () => {
      while (work.length > 0) await Promise.all(work.splice(0));
    };
    return { clock, store, health, providers, orchestrator, settle };
  }
  const down = { fail: { errorClass: 'server_error' as const, status: 503 } };

  it('stops calling a target once its breaker is open, and says circuit_open in the trace', async () => {
    const { orchestrator, providers, settle } = withHealth(Array(6).fill(down), []);
    for (let i = 0; i < 3; i++) {
      await orchestrator.complete(targets, {}, signal);
      await settle();
    }
    const callsBefore = providers.openai.calls.length;
    expect(callsBefore).toBe(6);
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(providers.openai.calls).toHaveLength(callsBefore);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.trace.attempts[0]).toMatchObject({ provider: 'openai', outcome: 'skipped', errorClass: 'circuit_open' });
    expect(routed.trace.chosen?.reason).toContain('fallback #1 after openai circuit open');
  });

  it('answers at once that every target is unavailable, with the time until the earliest probe', async () => {
    const { orchestrator, providers, settle, clock } = withHealth(Array(6).fill(down), Array(6).fill(down));
    for (let i = 0; i < 3; i++) {
      await orchestrator.complete(targets, {}, signal);
      await settle();
    }
    clock.advance(10_000);
    const before = providers.openai.calls.length + providers['azure-openai'].calls.length;
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(providers.openai.calls.length + providers['azure-openai'].calls.length).toBe(before);
    expect(!routed.ok && routed.failure).toEqual({ reason: 'unavailable', retryAfterMs: 20_000 });
    expect(!routed.ok && answered(routed.failure)).toMatchObject({
      status: 503,
      body: { error: { code: 'upstream_unavailable', retry_after_seconds: 20 } },
    });
  });

  it('sends the half-open probe to the recovering target and closes the breaker when it answers', async () => {
    const { orchestrator, providers, settle, clock, store } = withHealth([...Array(6).fill(down), { ok: true }], []);
    for (let i = 0; i < 3; i++) {
      await orchestrator.complete(targets, {}, signal);
      await settle();
    }
    clock.advance(30_000);
    const routed = await orchestrator.complete(targets, {}, signal);
    await settle();
    expect(routed.ok && routed.target.provider).toBe('openai');
    expect(routed.trace.attempts[0]).toMatchObject({ probe: true, outcome: 'success' });
    expect(routed.trace.chosen?.reason).toContain('half-open probe');
    expect(store.states_[`openai/gpt-4o-mini`]).toMatchObject({ state: 'closed' });
    expect(providers.openai.calls).toHaveLength(7);
  });

  it('gives back a probe it claimed and could not send in time, so the next request can send it', async () => {
    // 12 s a request: 10 s of it kept for azure-openai's first event.
    const { orchestrator, providers, settle, clock, health } = withHealth([...Array(6).fill(down), { ok: true }], [{ ok: true }], 12_000);
    for (let i = 0; i < 3; i++) {
      await orchestrator.complete(targets, {}, signal);
      await settle();
    }
    clock.advance(30_000);
    // The probe is claimed, and the claim took 3 s: too late to send it before azure-openai's turn.
    const admit = health.admit.bind(health);
    health.admit = async (...args) => {
      const admission = await admit(...args);
      clock.advance(3_000);
      return admission;
    };
    const late = await orchestrator.complete(targets, {}, signal);
    await settle();
    expect(late.trace.attempts.map((a) => `${a.provider}:${a.outcome}:${a.errorClass}`)).toEqual([
      'openai:skipped:no_time_left',
      'azure-openai:success:null',
    ]);
    expect(providers.openai.calls).toHaveLength(6);
    health.admit = admit;
    // Given back: the next request sends the probe (held, the fleet would skip openai until the claim's lease ends).
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('openai');
    expect(routed.trace.attempts[0]).toMatchObject({ probe: true, outcome: 'success' });
  });

  it('tries a target close to its provider limit after the others', async () => {
    const { orchestrator, health } = withHealth([], []);
    health.noteLimits(targets[0]!, {
      requests: { limit: 500, remaining: 1, resetAt: Date.UTC(2026, 10, 22, 12, 1, 0) },
      at: Date.UTC(2026, 10, 22, 12, 0, 0),
    });
    const routed = await orchestrator.complete(targets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.trace.fallback).toBe(true);
  });
});

describe('Orchestrator hedging', () => {
  const hedgedTargets = planRoute(table, 'general', 'gpt-4o-mini').map((t, i) => (i === 0 ? { ...t, hedgeAfterMs: 500 } : t));
  /** OpenAI first (hedged after 500 ms; it hangs unless told otherwise), Azure OpenAI answering at once, on a clock the test moves. */
  const hedging = (openai: Step[] = [{ hang: true }], deadlineMs = DEADLINE_MS) => {
    const clock = new ManualClock();
    const providers = {
      openai: new ScriptedProvider('openai', openai),
      'azure-openai': new ScriptedProvider('azure-openai', [{ ok: true }]),
    };
    const orchestrator = new Orchestrator({ providers: directory(providers), clock, random: new ScriptedRandom([0]), deadlineMs });
    return { clock, providers, orchestrator };
  };

  it('starts the next target when the first has sent nothing after hedgeAfterMs; the first to answer wins and the other is cancelled', async () => {
    const { clock, providers, orchestrator } = hedging();
    const pending = orchestrator.openStream(hedgedTargets, {}, signal);
    await settleMicrotasks();
    expect(providers['azure-openai'].calls).toHaveLength(0);
    await clock.advance(500);
    const routed = await pending;
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(routed.ok && routed.hedgeLoser?.provider).toBe('openai');
    expect(providers.openai.calls[0]?.signal.aborted).toBe(true);
    expect(routed.trace.attempts.map((a) => `${a.provider}:${a.outcome}${a.hedge ? ':hedge' : ''}`)).toEqual([
      'openai:hedge_lost',
      'azure-openai:success:hedge',
    ]);
    expect(routed.trace.chosen?.reason).toMatch(/^hedge: openai had sent no first event after 500 ms/);
  });

  it('gives the hedge no more time than the primary has left: both end by the same deadline', async () => {
    const { clock, providers, orchestrator } = hedging([{ hang: true }], 20_000);
    const pending = orchestrator.complete(hedgedTargets, {}, signal);
    await settleMicrotasks();
    await clock.advance(500);
    expect((await pending).ok).toBe(true);
    // The primary keeps 10 s of the 20 for the next target's first event; the hedge, started 500 ms
    // later, has what is left of the 20 s and ends by the same deadline (it had 20 s, ending 500 ms past it).
    expect(providers.openai.calls[0]!.timeouts.totalMs).toBe(10_000);
    expect(providers['azure-openai'].calls[0]!.timeouts).toMatchObject({ totalMs: 19_500, firstByteMs: 10_000 });
  });

  it('does not hedge a call asked whole, which sends nothing before its whole answer', async () => {
    const { clock, providers, orchestrator } = hedging();
    const client = new AbortController();
    const pending = orchestrator.complete(
      hedgedTargets,
      { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } },
      client.signal,
    );
    await settleMicrotasks();
    await clock.advance(500);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // Past hedgeAfterMs without a first event, which a whole call never sends early: no second call.
    expect(providers['azure-openai'].calls).toHaveLength(0);
    client.abort();
    await pending;
  });

  it('does not hedge when the first target answers in time', async () => {
    const { providers, orchestrator } = hedging([{ ok: true }]);
    const routed = await orchestrator.complete(hedgedTargets, {}, signal);
    expect(routed.ok && routed.target.provider).toBe('openai');
    expect(routed.ok && routed.hedgeLoser).toBeUndefined();
    expect(providers['azure-openai'].calls).toHaveLength(0);
  });
});

describe('operations a provider does not serve', () => {
  const setupWith = (azureOperations: ReadonlySet<ProviderOperation>, openaiSteps: Step[] = []) => {
    const clock = new FakeClock();
    const providers = {
      openai: new ScriptedProvider('openai', openaiSteps, clock),
      'azure-openai': new ScriptedProvider('azure-openai', [], clock, azureOperations),
    };
    return {
      providers,
      orchestrator: new Orchestrator({
        providers: directory(providers),
        clock,
        random: new ScriptedRandom([0.5]),
        deadlineMs: DEADLINE_MS,
      }),
    };
  };

  it('skips a target whose provider does not serve the operation, without calling it, and uses the next', async () => {
    const { providers, orchestrator } = setupWith(new Set(['embeddings']));
    const azureFirst = [...targets].reverse();
    const routed = await orchestrator.complete(azureFirst, { input: 'x' }, signal, 'responses');
    expect(routed.ok).toBe(true);
    expect(providers['azure-openai'].calls).toHaveLength(0);
    expect(routed.trace.attempts[0]).toMatchObject({ provider: 'azure-openai', outcome: 'skipped', errorClass: 'unsupported' });
    expect(providers.openai.calls[0]!.operation).toBe('responses');
  });

  it('answers a 400 naming the providers when no target serves the operation', async () => {
    const { providers, orchestrator } = setupWith(new Set());
    const azureOnly = targets.filter((t) => t.provider === 'azure-openai');
    const routed = await orchestrator.openStream(azureOnly, { input: 'x' }, signal, 'responses');
    expect(routed.ok).toBe(false);
    if (routed.ok) return;
    expect(routed.failure).toEqual({ reason: 'unsupported', operation: 'responses', providers: ['azure-openai'] });
    expect(answered(routed.failure)).toMatchObject({
      status: 400,
      errorClass: 'client_error',
      body: { error: { code: 'unsupported_operation', message: expect.stringContaining('azure-openai') } },
    });
    expect(providers['azure-openai'].calls).toHaveLength(0);
  });

  it('reports the real failure when a serving target failed and another was unsupported', async () => {
    const { orchestrator } = setupWith(new Set(), [http(503, 'server_error'), http(503, 'server_error')]);
    const routed = await orchestrator.complete(targets, { input: 'x' }, signal, 'responses');
    expect(routed.ok).toBe(false);
    if (routed.ok) return;
    expect(routed.failure.reason).toBe('exhausted');
  });
});

describe('Azure OpenAI and the Responses API', () => {
  it.each([
    ['2024-10-21', false],
    ['2024-12-01-preview', false],
    ['2025-03-01-preview', true],
    ['2025-04-01-preview', true],
    ['preview', true],
    ['v1', true],
  ])('api-version %s serves it: %s', (version, serves) => {
    expect(servesResponses(version)).toBe(serves);
  });
});

describe('targets that cannot serve the request as sent', () => {
  const gap: ProviderFailure = {
    errorClass: 'client_error',
    status: 400,
    body: {
      error: {
        message: 'Amazon Bedrock: only one choice per request (n must be 1)',
        type: 'invalid_request_error',
        param: 'n',
        code: 'unsupported_parameter',
      },
    },
  };
  /** OpenAI refusing `n` (standing in for Bedrock) before any call. */
  function refusing(azure: Step[]) {
    const { clock, providers, orchestrator } = setup([], azure);
    Object.assign(providers.openai, { refuses: () => gap });
    return { clock, providers, orchestrator };
  }

  it('sets a target the caller did not name aside, without calling it, and answers from the next', async () => {
    const { providers, orchestrator } = refusing([{ ok: true }]);
    const defaults = planRoute(table, 'general', undefined);
    const routed = await orchestrator.complete(defaults, { n: 2 }, signal);
    expect(routed.ok && routed.target.provider).toBe('azure-openai');
    expect(providers.openai.calls).toHaveLength(0);
    expect(routed.trace.attempts[0]).toMatchObject({ provider: 'openai', outcome: 'skipped', errorClass: 'unsupported' });
  });

  it("answers the refusal when the caller named that target's model, or when no other target serves the request", async () => {
    const named = await refusing([{ ok: true }]).orchestrator.complete(targets, { n: 2 }, signal);
    expect(!named.ok && named.failure).toEqual({ reason: 'rejected', failure: gap });
    const onlyOne = await refusing([]).orchestrator.complete(planRoute(table, 'general', undefined).slice(0, 1), { n: 2 }, signal);
    expect(!onlyOne.ok && onlyOne.failure).toEqual({ reason: 'rejected', failure: gap });
  });

  it('tries the targets before a refusing one first: a later refusal decides nothing while an earlier target answers', async () => {
    const { providers, orchestrator } = setup([{ ok: true }], []);
    Object.assign(providers['azure-openai'], { refuses: () => gap });
    const routed = await orchestrator.complete(targets, { n: 2 }, signal);
    expect(routed.ok && routed.target.provider).toBe('openai');
  });

  it('lets a real failure of the other target speak rather than the refusal', async () => {
    const { orchestrator } = refusing([http(503, 'server_error'), http(503, 'server_error')]);
    const routed = await orchestrator.complete(planRoute(table, 'general', undefined), { n: 2 }, signal);
    expect(!routed.ok && routed.failure).toMatchObject({ reason: 'exhausted', last: { status: 503 } });
  });
});
