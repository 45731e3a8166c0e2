/**
 * What follows every finished request, after its response: its usage record (for metered routes)
 * and a critical alert when the way it failed calls for one. Runs as post-response work.
 */
import type { BackgroundTasks } from '../background';
import type { RequestSummary } from '../request-summary';
import type { CriticalAlerts, CriticalKind } from './alerts';
import type { UsageLedger } from './usage-ledger';

/** The metered routes: every authenticated request to them leaves one usage record. */
export const METERED_ROUTES: ReadonlySet<string> = new Set([
  '/v1/embeddings',
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/smart/completions',
  '/api/ai/messages/generate',
  '/api/ai/content/plan',
  '/api/onlyfans/messages',
]);

/** The metered routes that stay metered with AI metering off: a creator's messages always leave a record. */
const ALWAYS_METERED: ReadonlySet<string> = new Set(['/api/onlyfans/messages']);

/**
 * Whether a finished request leaves a usage record: authenticated POSTs to a metered route, failed and
 * refused ones included; with `aiMetering` off (`AI_METERING=off`), only OnlyFans messages.
 */
export function isMetered(summary: RequestSummary, aiMetering = true): boolean {
  return summary.userId !== undefined && summary.method === 'POST' && (aiMetering ? METERED_ROUTES : ALWAYS_METERED).has(summary.path);
}

/** Which critical alert a finished request calls for, if any. */
export function criticalKind(summary: RequestSummary): CriticalKind | undefined {
  if (summary.status === 500) return 'unexpected_exception';
  if (summary.rateLimit?.outcome === 'limiter_unavailable') return 'limiter_unavailable';
  // A provider refused the gateway's own key (wrong or rotated), even if another provider then answered.
  if (summary.ai?.attempts.some((a) => a.errorClass === 'auth' || a.errorClass === 'forbidden')) return 'provider_credentials';
  if (summary.ai?.outcome === 'error' && summary.status >= 500 && summary.ai.attempts.length > 0) return 'all_providers_failed';
  if (summary.errorCode === 'auth_unavailable' || summary.errorCode === 'dependency_unavailable') return 'store_unavailable';
  return undefined;
}

/** Schedules a finished request's usage record and critical alert as post-response work. */
export function afterRequest(deps: {
  ledger: UsageLedger;
  critical: CriticalAlerts;
  background: BackgroundTasks;
  /** `false`: AI requests leave no usage record (`AI_METERING=off`). */
  aiMetering?: boolean;
}): (summary: RequestSummary) => void {
  return (summary) => {
    if (isMetered(summary, deps.aiMetering)) deps.background.track(deps.ledger.record(summary));
    const kind = criticalKind(summary);
    if (!kind) return;
    const refusing = [
      ...new Set(summary.ai?.attempts.filter((a) => a.errorClass === 'auth' || a.errorClass === 'forbidden').map((a) => a.provider) ?? []),
    ];
    const message =
      kind === 'provider_credentials'
        ? `${refusing.join(', ')} refused the gateway's credentials (HTTP 401/403) on request ${summary.requestId}: check the provider key in its secret (or environment).`
        : `Request ${summary.requestId} on ${summary.path} failed with ${summary.status}.`;
    deps.background.track(
      deps.critical.raise(kind, message, {
        requestId: summary.requestId,
        path: summary.path,
        status: summary.status,
        taskType: summary.ai?.taskType ?? null,
        providersTried: [...new Set(summary.ai?.attempts.filter((a) => a.outcome !== 'skipped').map((a) => a.provider) ?? [])],
        errorClasses: [...new Set(summary.ai?.attempts.map((a) => a.errorClass).filter((e) => e !== null) ?? [])],
        limiter: summary.rateLimit?.outcome ?? null,
      }),
    );
  };
}
