/**
 * One request's record: what the gateway learns about a request while serving it (the caller, the
 * rollout decision, the limiter's outcome, the AI routing and usage, the error code it was answered
 * with) in one object, instead of values passed around beside it. `finish(status)` ends it exactly
 * once, for buffered answers (when the handler returns) and streams (when the stream ends) alike:
 * it works out how far the real usage is from the admitted token reservation (applied to the quota by
 * the consumer of usage records) and emits the summary (log line, metrics, then the usage record and
 * alerts after the response).
 */
import type { Principal } from './access/ports';
import type { Clock } from './ports';
import type { RequestSummary } from './request-summary';

export type AiSummary = NonNullable<RequestSummary['ai']>;

/** Where a finished request's summary goes: the log line and metrics, then the post-response work. */
export type SummarySink = (summary: RequestSummary) => void;

export class RequestRecord {
  principal: Principal | undefined;
  rollout: RequestSummary['rollout'];
  rateLimit: RequestSummary['rateLimit'];
  /** The `code` of the error the request was answered with, if any. */
  errorCode: string | null = null;
  /** Set for AI requests by the AI-request service. */
  ai: AiSummary | undefined;
  /** The Lambda invocation, to join the log line with the platform's own logs. */
  awsRequestId: string | undefined;
  /**
   * The caller's own `x-request-id`, when it sent a safe one: echoed in the response and kept beside
   * `requestId` for correlation, never used as a key (callers may reuse theirs; every request is its own).
   */
  callerRequestId: string | undefined;
  private reservation: { tokens: number; windows: { day: number; month: number } } | undefined;
  private deferred = false;
  private summary: RequestSummary | undefined;

  constructor(
    readonly requestId: string,
    readonly method: string,
    readonly path: string,
    readonly startedAt: number,
    private readonly clock: Clock,
    private readonly sink: SummarySink,
  ) {}

  /** The id the response carries (`x-request-id`, `requestId` in bodies): the caller's if it sent one. */
  get responseRequestId(): string {
    return this.callerRequestId ?? this.requestId;
  }

  /** Admission reserved `tokens` in the quota's `windows`: the usage record settles them to the real count. */
  reservedTokens(tokens: number, windows: { day: number; month: number }): void {
    this.reservation = { tokens, windows };
  }

  /** The reservation was given back (a key found revoked): nothing left to settle. */
  reservationReleased(): void {
    this.reservation = undefined;
  }

  /** The answer is a stream: whoever ends the stream calls `finish`, not the handler's return. */
  finishWhenStreamEnds(): void {
    this.deferred = true;
  }

  get finishesWithStream(): boolean {
    return this.deferred;
  }

  get finished(): boolean {
    return this.summary !== undefined;
  }

  /** The AI answer failed after routing (an empty or unusable answer, or a failure the route maps). */
  aiFailed(errorClass?: string): void {
    if (!this.ai) return;
    this.ai.outcome = 'error';
    if (errorClass !== undefined) this.ai.errorClass = errorClass;
  }

  /** Ends the request and emits its summary. Later calls return the first summary and do nothing. */
  finish(status: number): RequestSummary {
    if (this.summary) return this.summary;
    const summary = this.toSummary(status);
    this.summary = summary;
    this.sink(summary);
    return summary;
  }

  /**
   * Tokens to settle the reservation to: the real (or estimated) usage; 0 when the request failed or
   * was refused before a provider answered; none (the reservation stands) for an answer without usage.
   */
  private usedTokens(): number | undefined {
    const ai = this.ai;
    if (ai?.usage) return ai.usage.totalTokens;
    // A cached answer used no provider tokens: it counts against request limits, not token quotas.
    if (ai?.cache?.status === 'HIT') return 0;
    return ai?.outcome === 'ok' ? undefined : 0;
  }

  /** The reservation's settlement: real use minus reserved tokens, when there is a change to make. */
  private settlement(): RequestSummary['quota'] {
    const used = this.usedTokens();
    if (!this.reservation || used === undefined) return undefined;
    const deltaTokens = Math.max(0, Math.round(used)) - this.reservation.tokens;
    return deltaTokens === 0 ? undefined : { ...this.reservation.windows, deltaTokens };
  }

  private toSummary(status: number): RequestSummary {
    const { principal, awsRequestId, callerRequestId, errorCode, rollout, rateLimit, ai } = this;
    const quota = this.settlement();
    return {
      requestId: this.requestId,
      ...(callerRequestId ? { callerRequestId } : {}),
      ...(awsRequestId ? { awsRequestId } : {}),
      method: this.method,
      path: this.path,
      status,
      latencyMs: this.clock.now() - this.startedAt,
      ...(principal ? { userId: principal.userId, keyId: principal.keyId } : {}),
      ...(errorCode ? { errorCode } : {}),
      ...(rollout ? { rollout } : {}),
      ...(rateLimit ? { rateLimit } : {}),
      ...(quota ? { quota } : {}),
      ...(ai ? { ai } : {}),
    };
  }
}
