/** `MessageGateway` over HTTP: `POST {baseUrl}/messages` with the message and an `Idempotency-Key`, under a timeout. */
import { MessageGatewayError } from '../../core/messaging/message-service';
import { type MessageGateway, type OnlyFansMessage } from '../../core/messaging/ports';

/** 4xx answers that do not prove the message was not delivered. */
const MAYBE_DELIVERED = new Set([408, 409, 425]);

/** Connection errors that prove no byte of the request reached the OnlyFans gateway. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export class HttpMessageGateway implements MessageGateway {
  private readonly url: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.url = `${baseUrl.replace(/\/+$/, '')}/messages`;
  }

  async send(message: OnlyFansMessage, idempotencyKey: string): Promise<{ messageId: string | undefined }> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new MessageGatewayError(`no answer within ${this.timeoutMs} ms`, undefined, { cause: error });
      // No connection at all: the message never left. A connection lost later may have carried it.
      const code = ((error as { cause?: { code?: unknown } }).cause?.code ?? '') as string;
      const neverSent = NOT_CONNECTED.has(code);
      throw new MessageGatewayError(neverSent ? `connection failed (${code})` : 'connection failed', undefined, {
        cause: error,
        ...(neverSent ? { delivered: false as const } : {}),
      });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new MessageGatewayError('the answer was cut off', response.status, { cause: error });
    }
    if (!response.ok)
      throw new MessageGatewayError(
        `answered HTTP ${response.status}`,
        response.status,
        // A 4xx is a refusal to deliver, except a timeout (408), a conflict such as a duplicate key in
        // flight (409) and "too early" (425); a 5xx may come after the message went out.
        response.status < 500 && !MAYBE_DELIVERED.has(response.status) ? { delivered: false } : undefined,
      );
    let messageId: string | undefined;
    try {
      const parsed = JSON.parse(text) as { messageId?: unknown; id?: unknown };
      const id = parsed.messageId ?? parsed.id;
      messageId = typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
    } catch {
      messageId = undefined;
    }
    return { messageId };
  }
}
