/**
 * Generated bad input to every route: bodies (random JSON, broken JSON, deep nesting, valid shapes with
 * mutated fields), headers (content types, credentials, idempotency keys, task types) and query strings.
 * Whatever comes in, the answer is never a 500, is in the path's error shape (OpenAI's on `/v1/*` and
 * `/admin/*`, the legacy one on `/api/*`), and carries no stack trace and no secret.
 */
import fc from 'fast-check';
import { conformance } from '../helpers/openai-schemas';
import { ADMIN_KEY, chatBody, startTestGateway, USER_KEY, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ env: { MAX_BODY_BYTES: '16384' } });
});
afterAll(() => gw.close());

/** Every route, with its path parameters as placeholders. */
const ROUTES: Array<[method: string, path: string]> = [
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/smart/completions'],
  ['POST', '/v1/routing/explain'],
  ['GET', '/v1/models'],
  ['GET', '/v1/models/:id'],
  ['POST', '/api/ai/messages/generate'],
  ['POST', '/api/ai/content/plan'],
  ['POST', '/api/onlyfans/messages'],
  ['GET', '/api/rate-limits/status'],
  ['GET', '/api/ai-providers/health'],
  ['GET', '/api/ai-providers/performance'],
  ['GET', '/api/ai-providers/quotas'],
  ['POST', '/api/ai-providers/test'],
  ['POST', '/api/ai-providers/failover'],
  ['GET', '/admin/api-keys'],
  ['POST', '/admin/api-keys'],
  ['DELETE', '/admin/api-keys/:id'],
  ['GET', '/admin/rate-limits/:id'],
  ['DELETE', '/admin/rate-limits/:id'],
  ['GET', '/admin/usage'],
  ['GET', '/admin/costs'],
  ['DELETE', '/admin/cache'],
  ['GET', '/admin/recommendations'],
  ['POST', '/api/ai-providers/optimize'],
  ['GET', '/api/ai-providers/costs'],
  ['POST', '/admin/reports/daily'],
  ['GET', '/admin/reports/daily'],
  ['GET', '/health'],
  ['GET', '/health/ready'],
];

/** Secrets the gateway holds: the caller's and the admin's keys, and the simulated providers' keys. */
const SECRETS = [USER_KEY, ADMIN_KEY, 'sk-simulated'];
const STACK = /\bat .+[.](ts|js):\d+|node:internal|\n\s+at /;

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '../../etc/passwd', '%00', '\u0000', '2026-02-30', '9'.repeat(30), '-1', 'NaN', '__proto__', 'constructor'),
);

const deep = fc.integer({ min: 20, max: 5000 }).map((n) => `${'['.repeat(n)}1${']'.repeat(n)}`);

const mutatedChat = fc
  .record(
    {
      model: fc.oneof(fc.constantFrom('gpt-4o-mini', 'auto', 'task:content_planning', 'gpt-5'), text),
      messages: fc.oneof(
        fc.constant([{ role: 'user', content: 'hi' }]),
        fc.array(
          fc.record({
            role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), text),
            content: fc.jsonValue({ maxDepth: 3 }),
          }),
          {
            maxLength: 4,
          },
        ),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      stream: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
      temperature: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 1 })),
      max_tokens: fc.oneof(fc.integer(), fc.jsonValue({ maxDepth: 1 })),
      n: fc.oneof(fc.integer({ min: -2, max: 200 }), fc.jsonValue({ maxDepth: 1 })),
      tools: fc.jsonValue({ maxDepth: 4 }),
      response_format: fc.oneof(fc.constant({ type: 'json_object' }), fc.jsonValue({ maxDepth: 3 })),
      metadata: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: [] },
  )
  .map((fields) => JSON.stringify({ ...chatBody(), ...fields }));

const legacyShaped = fc
  .record(
    {
      userId: text,
      creatorId: text,
      fanId: text,
      text: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
      prompt: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
      context: fc.jsonValue({ maxDepth: 3 }),
      mediaIds: fc.jsonValue({ maxDepth: 2 }),
      plan: fc.oneof(fc.constantFrom('free', 'pro', 'enterprise'), text),
      date: text,
      provider: text,
      enabled: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((fields) => JSON.stringify(fields));

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '{"a":', '[1,2', 'null', '"x"', '{"__proto__":{"admin":true}}', '\ufeff{}'),
  deep,
  mutatedChat,
  legacyShaped,
);

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      'multipart/form-data',
      '',
    ),
    authorization: fc.oneof(
      { weight: 4, arbitrary: fc.constant(`Bearer ${USER_KEY}`) },
      { weight: 3, arbitrary: fc.constant(`Bearer ${ADMIN_KEY}`) },
      fc.constantFrom('Bearer', 'Basic abc', `bearer ${USER_KEY}`, `Bearer ${USER_KEY}x`, `Bearer sk-${'a'.repeat(500)}`),
      { weight: 2, arbitrary: headerValue },
    ),
    'idempotency-key': headerValue,
    'x-task-type': fc.oneof(fc.constantFrom('content_planning', 'message_generation'), headerValue),
    'x-user-id': headerValue,
    'x-request-id': headerValue,
  },
  { requiredKeys: ['authorization', 'content-type'] },
);

const query = fc
  .dictionary(
    fc.constantFrom('window', 'date', 'from', 'to', 'userId', 'limit', 'cursor', 'provider', 'groupBy', 'x'),
    fc.oneof(text, fc.constantFrom('1h', '24h', '7d', '2026-11-25', '2026-13-01', '0', '-5', '1e400')),
    { maxKeys: 3 },
  )
  .map((params) => new URLSearchParams(params).toString());

const pathParam = fc.oneof(text, fc.constantFrom('gpt-4o-mini', 'user-1', 'key_123')).map((s) => encodeURIComponent(s) || 'x');

const request = fc.record({
  route: fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...ROUTES) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom('GET', 'POST'),
        text.map((t) => `/v1/${encodeURIComponent(t)}`),
      ),
    },
  ),
  // Mostly the route's own method; sometimes another one (405).
  method: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH')),
  param: pathParam,
  query,
  headers,
  body,
});

function shapeOf(path: string): 'openai' | 'legacy' | 'any' {
  if (path.startsWith('/v1/') || path.startsWith('/admin/')) return 'openai';
  if (path.startsWith('/api/')) return 'legacy';
  return 'any';
}

it('answers generated bad input on every route without a 500, in the right shape, with no stack or secret', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const [routeMethod, template] = r.route;
      const method = r.method ?? routeMethod;
      const path = template.replace(':id', r.param);
      const url = `${gw.url}${path}${r.query ? `?${r.query}` : ''}`;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: Object.fromEntries(Object.entries(r.headers).filter(([, v]) => v !== '')),
          ...(method === 'GET' || r.body === undefined ? {} : { body: r.body }),
        });
      } catch (error) {
        // fetch refuses some generated headers itself; nothing reached the gateway.
        if (error instanceof TypeError && !String(error.cause ?? '').includes('ECONN')) return;
        throw error;
      }
      const raw = await response.text();
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      const where = `${method} ${path} -> ${response.status} ${raw.slice(0, 300)}`;
      expect({ where, serverError: response.status >= 500 }).toEqual({ where, serverError: false });
      expect(raw).not.toMatch(STACK);
      for (const secret of SECRETS) expect(raw.includes(secret)).toBe(false);
      if (response.status < 400 || !raw) return;
      const parsed = JSON.parse(raw) as { error?: Record<string, unknown> };
      const shape = shapeOf(path);
      if (shape === 'openai') expect({ where, problems: conformance('ErrorResponse', parsed) }).toEqual({ where, problems: [] });
      if (shape === 'legacy') {
        expect(typeof parsed.error?.['code']).toBe('string');
        expect(typeof parsed.error?.['message']).toBe('string');
      }
    }),
    { numRuns: 800 },
  );
  // The generator reached past the edge too (not every request was refused at the door).
  expect([...seen.keys()].some((s) => s < 400)).toBe(true);
  expect([...seen.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
}, 180_000);
