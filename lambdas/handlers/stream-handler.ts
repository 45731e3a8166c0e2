/**
 * The Lambda streaming handler around a gateway: `hono/aws-lambda` streams the response, then the
 * invocation waits for its own request's post-response work (usage record, alerts), so a frozen or
 * recycled instance never loses it. The client has its answer before that work runs.
 */
import { streamHandle } from 'hono/aws-lambda';
import type { Gateway } from '../shared/container';
import { withInvocationWork } from '../shared/invocation-work';

/** Provided by the Lambda Node.js runtime. */
declare const awslambda: { streamifyResponse<T>(handler: T): T };

type Handler = (event: unknown, responseStream: unknown, context: unknown) => Promise<void>;

export function streamingHandler(gateway: Pick<Gateway, 'app' | 'background'> & { health?: Pick<Gateway['health'], 'flushDue'> }): Handler {
  const respond = streamHandle(gateway.app) as unknown as Handler;
  return awslambda.streamifyResponse<Handler>((event, responseStream, context) =>
    withInvocationWork(async (own) => {
      try {
        await respond(event, responseStream, context);
      } finally {
        // This request's work only: an environment serving several requests at once must not make
        // each invocation wait for the others' (under steady traffic it would never end).
        await gateway.background.endInvocation(own);
        // A frozen instance runs no timer: health counts that have waited their interval go now.
        await gateway.health?.flushDue().catch(() => undefined);
      }
    }),
  );
}
