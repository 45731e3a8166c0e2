/** Messaging's ports: the OnlyFans gateway service and the idempotency records that guard it. */

export interface OnlyFansMessage {
  creatorId: string;
  fanId: string;
  text: string;
  mediaIds?: string[] | undefined;
}

/** Port: the OnlyFans gateway service. Throws `MessageGatewayError` when the message was not accepted. */
export interface MessageGateway {
  send(message: OnlyFansMessage, idempotencyKey: string): Promise<{ messageId: string | undefined }>;
}

export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'completed'; fingerprint: string; status: number; body: string }
  | { state: 'in_progress'; fingerprint: string };

/**
 * Port: idempotency records, claimed with a conditional write so two retries cannot both send. Each
 * claim is made by an `owner` (a token of the request): only its owner completes or releases it, so
 * a request whose claim was taken over (its lease ran out) cannot overwrite or drop the new owner's.
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `fingerprint`; a pending claim whose lease has ended can be taken over. */
  claim(
    key: string,
    claim: { owner: string; fingerprint: string; now: number; leaseUntil: number; expiresAt: number },
  ): Promise<ClaimResult>;
  /** Stores the result of `owner`'s claim; false when the claim is no longer `owner`'s (nothing is written). */
  complete(key: string, owner: string, result: { fingerprint: string; status: number; body: string; expiresAt: number }): Promise<boolean>;
  /** Drops `owner`'s pending claim so the request can be retried (never a completed one, nor another owner's). */
  release(key: string, owner: string): Promise<void>;
}
