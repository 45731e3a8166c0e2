/** `MessageGateway` over HTTP: `POST {baseUrl}/messages` with the message and an `Idempotency-Key`, under a timeout. */
import { MessageGatewayError } from '../../core/messaging/message-service';
import { type MessageGateway, type OnlyFansMessage } from '../../core/messaging/ports';

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
      throw new MessageGatewayError(
        name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${this.timeoutMs} ms` : 'connection failed',
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new MessageGatewayError('the answer was cut off', response.status);
    }
    if (!response.ok) throw new MessageGatewayError(`answered HTTP ${response.status}`, response.status);
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
