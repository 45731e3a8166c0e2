/**
 * Lambda entry for the gateway: the shared HTTP app behind API Gateway REST with response
 * streaming. Everything is built once per cold start.
 */
import { loadConfig } from '../shared/config';
import { buildGateway } from '../shared/container';
import { streamingHandler } from './stream-handler';

export const handler = streamingHandler(buildGateway(loadConfig('aws')));
