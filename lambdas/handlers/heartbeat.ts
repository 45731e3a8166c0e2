/**
 * Scheduled Lambda (EventBridge, every minute): one heartbeat per configured target, written to the
 * fleet's provider health before the invocation ends.
 */
import { loadConfig } from '../shared/config';
import { buildHeartbeats } from '../shared/container';

const heartbeats = buildHeartbeats(loadConfig('aws'));

export async function handler(): Promise<unknown> {
  return heartbeats.run();
}
