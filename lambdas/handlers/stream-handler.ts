/**
 * The Lambda streaming handler around a gateway: `hono/aws-lambda` streams the response, then the
 * invocation waits for the request's post-response work (usage record, aggregates, alerts), so a
 * frozen or recycled instance never loses it. The client has its answer before that work runs.
 */
import { streamHandle } from 'hono/aws-lambda';
import type { Gateway } from '../shared/container';

/** Provided by the Lambda Node.js runtime. */
declare const awslambda: { streamifyResponse<T>(handler: T): T };

type Handler = (event: unknown, responseStream: unknown, context: unknown) => Promise<void>;

export function streamingHandler(gateway: Pick<Gateway, 'app' | 'background'> & { health?: Pick<Gateway['health'], 'flushDue'> }): Handler {
  const respond = streamHandle(gateway.app) as unknown as Handler;
  return awslambda.streamifyResponse<Handler>(async (event, responseStream, context) => {
    try {
      await respond(event, responseStream, context);
    } finally {
      await gateway.background.drain();
      // A frozen instance runs no timer: health counts that have waited their interval go now.
      await gateway.health?.flushDue().catch(() => undefined);
    }
  });
}
