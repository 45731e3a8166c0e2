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

/** Port: idempotency records, claimed with a conditional write so two retries cannot both send. */
export interface IdempotencyStore {
  /** Claims `key` for a request with `fingerprint`; a pending claim older than `leaseMs` can be taken over. */
  claim(key: string, fingerprint: string, now: number, leaseMs: number, expiresAt: number): Promise<ClaimResult>;
  complete(key: string, fingerprint: string, status: number, body: string, expiresAt: number): Promise<void>;
  /** Drops a pending claim so the request can be retried (never a completed one). */
  release(key: string): Promise<void>;
}
