/**
 * OnlyFans messaging under the `onlyfans_messaging` limit: an admitted message is forwarded to the
 * OnlyFans gateway service exactly once per idempotency key; a refused one is never forwarded; a
 * message the gateway could not take gives its slot back.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../access/ports';
import { GatewayError } from '../errors';
import type { Clock, Random } from '../ports';
import type { LimitDecision, RateLimiter } from '../rate-limit/rate-limiter';
import type { IdempotencyStore, MessageGateway, OnlyFansMessage } from './ports';

export class MessageGatewayError extends GatewayError {
  /**
   * Whether the message may have reached the creator's fan despite the failure (a timeout, a 5xx, a
   * connection lost after sending, an answer cut off). Only a failure that proves it was not delivered
   * (no connection, a 4xx refusal) gives the limiter's slot back: the limit protects the account.
   */
  readonly mayHaveBeenDelivered: boolean;

  constructor(
    readonly reason: string,
    readonly status?: number,
    options?: { cause?: unknown; delivered?: false },
  ) {
    super(`OnlyFans gateway: ${reason}`, options);
    this.mayHaveBeenDelivered = options?.delivered !== false;
  }
}

export interface SentBody {
  messageId: string;
  /** The OnlyFans gateway's own id for the delivery, when it gives one (an added optional field). */
  gatewayMessageId?: string;
  status: 'sent';
  rateLimit: { limit: number | null; remaining: number | null; resetAt: string | null };
}

export type SendOutcome =
  /** `unrecorded`: sent, but the result could not be stored for replays (logged by the caller). */
  | { kind: 'sent'; body: SentBody; decision: LimitDecision; unrecorded?: Error }
  | { kind: 'replayed'; status: number; body: string }
  | { kind: 'refused'; decision: Extract<LimitDecision, { allowed: false }> }
  | { kind: 'in_progress' }
  /** Storage answered too slowly to send the message safely: not sent, not counted. */
  | { kind: 'not_sent' }
  | { kind: 'key_reused' }
  /** `counted`: the message may have been delivered, so its slot was kept. */
  | { kind: 'upstream_error'; reason: string; decision: LimitDecision; counted: boolean; error: MessageGatewayError };

export interface MessageServiceOptions {
  /**
   * How long a pending claim blocks retries before another request may take it over: longer than the
   * claim, the admission, the send and the write of its result together, so only a crashed request's
   * claim is taken over.
   */
  leaseMs: number;
  /**
   * The longest the OnlyFans gateway call and the write of its result may take: a message is sent only
   * while the claim outlasts both (the result written after the lease ended could meet a retry's claim).
   */
  sendMs: number;
  /** How long a completed result is replayed. */
  retentionSeconds: number;
}

export class MessageService {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly gateway: MessageGateway,
    private readonly idempotency: IdempotencyStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly options: MessageServiceOptions,
  ) {}

  /**
   * Sends one message for `principal`. Storage failures propagate (the caller fails closed);
   * a gateway failure is an outcome, with the slot given back if the message certainly did not go out.
   */
  async send(principal: Principal, message: OnlyFansMessage, idempotencyKey: string | undefined): Promise<SendOutcome> {
    const recordKey =
      idempotencyKey === undefined ? undefined : `idem#${encodeURIComponent(principal.userId)}#${encodeURIComponent(idempotencyKey)}`;
    const fingerprint = fingerprintOf(message);
    // This request's token: only it completes or releases the claim it makes.
    const owner = this.token();
    const release = () => (recordKey ? this.idempotency.release(recordKey, owner) : undefined);
    let leaseUntil = Number.POSITIVE_INFINITY;
    if (recordKey) {
      const now = this.clock.now();
      leaseUntil = now + this.options.leaseMs;
      const claim = await this.idempotency.claim(recordKey, { owner, fingerprint, now, leaseUntil, expiresAt: this.expiry(now) });
      if (claim.state !== 'claimed') {
        if (claim.fingerprint !== fingerprint) return { kind: 'key_reused' };
        return claim.state === 'completed' ? { kind: 'replayed', status: claim.status, body: claim.body } : { kind: 'in_progress' };
      }
    }
    let decision: LimitDecision;
    try {
      decision = await this.limiter.admit({ userId: principal.userId, plan: principal.plan, policy: 'onlyfans_messaging' });
    } catch (error) {
      await release()?.catch(() => undefined);
      throw error;
    }
    if (!decision.allowed) {
      // A refusal is not a result to replay: the same key may be retried once the window resets.
      await release();
      return { kind: 'refused', decision };
    }
    // Storage so slow that the claim could run out during the send: another request could then take
    // it over and send too. Not sent; the slot and the claim are given back, and a retry sends it.
    if (this.clock.now() + this.options.sendMs > leaseUntil) {
      await Promise.all([this.limiter.refund(decision.ticket), release()]);
      return { kind: 'not_sent' };
    }
    const messageId = `msg_${this.token()}`;
    let sent: { messageId: string | undefined };
    try {
      // Downstream deduplication uses the caller's key, or this message's own id.
      sent = await this.gateway.send(message, idempotencyKey ?? messageId);
    } catch (error) {
      if (!(error instanceof MessageGatewayError)) throw error;
      // The key is released either way (a retry with it is deduplicated downstream); the slot only
      // when the message certainly did not go out.
      await Promise.all([error.mayHaveBeenDelivered ? undefined : this.limiter.refund(decision.ticket), release()]);
      return { kind: 'upstream_error', reason: error.reason, decision, counted: error.mayHaveBeenDelivered, error };
    }
    const window = decision.requests;
    const body: SentBody = {
      messageId,
      ...(sent.messageId ? { gatewayMessageId: sent.messageId } : {}),
      status: 'sent',
      rateLimit: window
        ? { limit: window.limit, remaining: window.remaining, resetAt: new Date(window.resetAt).toISOString() }
        : { limit: null, remaining: null, resetAt: null },
    };
    if (recordKey) {
      try {
        const stored = await this.idempotency.complete(recordKey, owner, {
          fingerprint,
          status: 202,
          body: JSON.stringify(body),
          expiresAt: this.expiry(this.clock.now()),
        });
        if (!stored) return { kind: 'sent', body, decision, unrecorded: new GatewayError('the idempotency claim was taken over') };
      } catch (error) {
        // The message is gone: answer that it was sent. A retry after the lease re-sends with the same
        // downstream Idempotency-Key, which the OnlyFans gateway deduplicates.
        return { kind: 'sent', body, decision, unrecorded: error as Error };
      }
    }
    return { kind: 'sent', body, decision };
  }

  /** 96 random bits in hex: a message's id, a claim's owner. */
  private token(): string {
    return Buffer.from(this.random.bytes(12)).toString('hex');
  }

  private expiry(now: number): number {
    return Math.ceil(now / 1000) + this.options.retentionSeconds;
  }
}

/** Identifies a message's content, so a reused idempotency key with a different message is caught. */
export function fingerprintOf(message: OnlyFansMessage): string {
  return createHash('sha256')
    .update(JSON.stringify([message.creatorId, message.fanId, message.text, message.mediaIds ?? []]))
    .digest('base64url');
}
