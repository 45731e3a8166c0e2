/**
 * Lambda entry for the gateway: the shared HTTP app behind API Gateway REST with response
 * streaming. Everything is built once per cold start.
 */
import { loadConfig } from '../shared/config';
import { buildGateway } from '../shared/container';
import { streamingHandler } from './stream-handler';

/** The instance's gateway; `close()` stops its background refresh (tests that import this module call it). */
export const gateway = buildGateway(loadConfig('aws'));

export const handler = streamingHandler(gateway);
