/** Liveness (`/health`, no dependencies) and readiness (`/health/ready`, names the failing check). */
import { Hono } from 'hono';
import type { AppEnv, CheckResult } from '../context';

const CHECK_TIMEOUT_MS = 3000;

async function runCheck(check: () => Promise<CheckResult>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().catch((error: unknown) => ({ ok: false, detail: (error as Error).name || 'error' })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: { readiness: Record<string, () => Promise<CheckResult>> }) {
  const app = new Hono<AppEnv>();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/health/ready', async (c) => {
    const names = Object.keys(deps.readiness);
    const results = await Promise.all(names.map((name) => runCheck(deps.readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const failing = names.filter((_, i) => !results[i]!.ok);
    if (failing.length === 0) return c.json({ status: 'ready', checks });
    const details = failing.map((name) => `${name}${checks[name]?.detail ? ` (${checks[name].detail})` : ''}`).join(', ');
    return c.json(
      {
        error: { message: `Not ready: ${details}.`, type: 'service_unavailable', param: null, code: 'not_ready' },
        status: 'not_ready',
        failing,
        checks,
      },
      503,
    );
  });
  return app;
}
