/**
 * The HTTP app, one for every runtime: Lambda (`hono/aws-lambda` streaming) and the local server
 * (`@hono/node-server`). Routes stay thin: parse, call the core, map the result.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { chatRoutes } from './routes/chat';
import { embeddingRoutes } from './routes/embeddings';
import { responsesRoutes } from './routes/responses';
import { adminKeyRoutes } from './routes/admin-keys';
import { healthRoutes } from './routes/health';
import { modelRoutes } from './routes/models';
import { authenticate } from './auth';
import { adminUsageRoutes } from './routes/admin-usage';
import { aiProviderRoutes } from './routes/ai-providers';
import { legacyAiRoutes } from './routes/legacy-ai';
import { onlyFansRoutes } from './routes/onlyfans';
import { rateLimitRoutes } from './routes/rate-limits';
import { aiAdmission } from './rate-limits';
import { cacheProbe } from './ai-inputs';
import { adminCacheRoutes } from './routes/admin-cache';
import { costInsightRoutes } from './routes/cost-insights';
import { adminProviderRoutes } from './routes/admin-providers';
import { errorFields } from '../core/errors';
import { RequestRecord } from '../core/request-record';
import type { AppDeps, AppEnv } from './context';
import { errorResponse, isDependencyFailure } from './errors';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

const ROUTING_HEADER_DEFAULTS: ReadonlyArray<[string, string]> = [
  ['x-orchestrator-provider', 'none'],
  ['x-orchestrator-model', 'none'],
  ['x-orchestrator-fallback', 'false'],
  ['x-orchestrator-attempts', '0'],
];

/**
 * Opens each request's record (request id, start time) and finishes it when the handler returns,
 * unless the answer is a stream (then the stream's end finishes it). Every response says how it was
 * routed: the defaults (no provider) are set first, and routes that reach a provider overwrite them.
 */
export function recordRequests(deps: Pick<AppDeps, 'clock' | 'newRequestId' | 'summaries'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const record = new RequestRecord(deps.newRequestId(), c.req.method, c.req.path, deps.clock.now(), deps.clock, deps.summaries);
    // A caller's own id is echoed and logged, never the record's key: two requests sharing one would
    // otherwise share one usage record, and the second would go unmetered.
    if (incoming && REQUEST_ID.test(incoming)) record.callerRequestId = incoming;
    record.awsRequestId = (c.env?.context ?? c.env?.lambdaContext)?.awsRequestId;
    c.set('record', record);
    // Set before the handler runs, so they go into the response it builds (routes that reach a
    // provider overwrite the defaults): a header set on a finished response makes Hono rebuild it.
    c.header('x-request-id', record.responseRequestId);
    // The gateway's own id too, which its error lines and usage record carry, when the caller's differs.
    if (record.callerRequestId) c.header('x-orchestrator-request-id', record.requestId);
    for (const [name, value] of ROUTING_HEADER_DEFAULTS) c.header(name, value);
    await next();
    if (!record.finishesWithStream) record.finish(c.res.status);
  };
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', recordRequests(deps));

  const tooLarge = (c: Context<AppEnv>) =>
    errorResponse(c, 413, {
      message: `Request body is larger than the limit of ${deps.maxBodyBytes} bytes.`,
      type: 'invalid_request_error',
      code: 'request_too_large',
    });
  const streamedBodyLimit = bodyLimit({ maxSize: deps.maxBodyBytes, onError: tooLarge });
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // Declared length: decide from the header without touching the body stream (the common, fast case).
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > deps.maxBodyBytes ? tooLarge(c) : next();
    }
    // Chunked or unknown length: count the bytes as they arrive.
    return streamedBodyLimit(c, next);
  });

  app.route('/', healthRoutes(deps));
  // AI routes first: they authenticate and admit (rate limits, token quota) in one step.
  const admitted = authenticate(deps, 'user', aiAdmission({ ...deps, alongside: cacheProbe(deps.ai) }));
  // Only the AI routes themselves: an unknown path under /api/ai/ gets its 404 without being counted.
  for (const path of ['/v1/chat/completions', '/v1/smart/completions', '/api/ai/messages/generate', '/api/ai/content/plan'])
    app.use(path, admitted);
  // Embeddings and the Responses API: admitted the same way, without the chat cache's lookup.
  const admittedWithoutCache = authenticate(deps, 'user', aiAdmission(deps));
  for (const path of ['/v1/embeddings', '/v1/responses']) app.use(path, admittedWithoutCache);
  app.use('/api/ai/*', authenticate(deps, 'user'));
  app.use('/v1/*', authenticate(deps, 'user'));
  // The admin-only legacy routes, before their folder's key check (the first check that runs decides).
  for (const path of ['/api/ai-providers/failover', '/api/ai-providers/test', '/api/ai-providers/optimize', '/api/ai-providers/costs'])
    app.use(path, authenticate(deps, 'admin'));
  for (const legacy of ['/api/rate-limits/*', '/api/onlyfans/*', '/api/ai-providers/*']) app.use(legacy, authenticate(deps, 'user'));
  app.use('/admin/*', authenticate(deps, 'admin'));
  app.route('/', modelRoutes(deps));
  app.route('/', chatRoutes(deps));
  app.route('/', embeddingRoutes(deps));
  app.route('/', responsesRoutes(deps));
  app.route('/', adminKeyRoutes(deps));
  app.route('/', rateLimitRoutes(deps));
  app.route('/', onlyFansRoutes(deps));
  app.route('/', legacyAiRoutes(deps));
  app.route('/', adminUsageRoutes(deps));
  app.route('/', aiProviderRoutes(deps));
  app.route('/', adminCacheRoutes(deps));
  app.route('/', costInsightRoutes(deps));
  app.route('/', adminProviderRoutes(deps));

  // A wrong method on a known route is a 405 naming the methods it accepts, read from the routes
  // themselves (a hand-kept list missed the provider routes added after it).
  for (const [path, methods] of allowedMethods(app)) {
    app.all(path, (c) => {
      c.header('allow', methods.join(', '));
      return errorResponse(c, 405, {
        message: `Method ${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(' or ')}.`,
        type: 'invalid_request_error',
        code: 'method_not_allowed',
      });
    });
  }

  app.notFound((c) =>
    errorResponse(c, 404, { message: `Unknown route: ${c.req.method} ${c.req.path}`, type: 'invalid_request_error', code: 'unknown_url' }),
  );

  app.onError((error, c) => {
    const dependency = isDependencyFailure(error);
    deps.telemetry.error(dependency ? 'dependency failure' : 'unhandled error', {
      requestId: c.var.record.requestId,
      ...(c.var.record.callerRequestId ? { callerRequestId: c.var.record.callerRequestId } : {}),
      path: c.req.path,
      error: errorFields(error),
    });
    if (dependency) {
      return errorResponse(c, 503, {
        message: 'A storage dependency is temporarily unavailable; retry shortly.',
        type: 'service_unavailable',
        code: 'dependency_unavailable',
        retryAfterSeconds: 1,
      });
    }
    return errorResponse(c, 500, {
      message: 'Internal error. Quote the x-orchestrator-request-id header (or x-request-id) when reporting it.',
      type: 'server_error',
      code: 'internal_error',
    });
  });

  return app;
}

/** Each route's path and the methods it answers, from the app's handlers (middleware is `ALL`). */
function allowedMethods(app: Hono<AppEnv>): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL') continue;
    const methods = byPath.get(path) ?? [];
    if (!methods.includes(method)) methods.push(method);
    byPath.set(path, methods);
  }
  return byPath;
}
