/**
 * Lambda entry for the gateway: the shared HTTP app behind API Gateway REST with response
 * streaming. Everything is built once per cold start.
 */
import { streamHandle } from 'hono/aws-lambda';
import { loadConfig } from '../shared/config';
import { buildGateway } from '../shared/container';

const gateway = buildGateway(loadConfig('aws'));

export const handler = streamHandle(gateway.app);
