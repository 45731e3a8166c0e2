/**
 * Post-response work per invocation: a Lambda environment may serve several requests at once (Lambda
 * Managed Instances), so each invocation waits for its own request's work (usage record, alerts),
 * never for the other requests' work, which would keep it running as long as traffic flows. (Its usage
 * record may share a `BatchWriteItem` with other requests' records, or wait for one partial batch on its
 * way: at most one DynamoDB call of someone else's, bounded by `DYNAMODB_TIMEOUT_MS`.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<Set<Promise<unknown>>>();

/** The work set of the invocation whose code is running now (`undefined` outside any invocation). */
export const currentInvocationWork = (): Set<Promise<unknown>> | undefined => storage.getStore();

/** Runs `body` with a fresh work set, which `BackgroundTasks.track` fills while it runs. */
export function withInvocationWork<T>(body: (own: Set<Promise<unknown>>) => Promise<T>): Promise<T> {
  const own = new Set<Promise<unknown>>();
  return storage.run(own, () => body(own));
}
