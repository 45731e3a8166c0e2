/**
 * Runs the whole gateway on a laptop: dynalite for DynamoDB, simulated upstreams for providers
 * without keys, seeded API keys, and the same HTTP app served by `@hono/node-server` on loopback.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { serve } from '@hono/node-server';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { attemptBoundedConfig } from '../adapters/aws/bounded-clients';
import { backfillDayShards } from '../adapters/dynamodb/dynamodb-usage-store';
import { FileUsageOutbox } from '../adapters/outbox/file-usage-outbox';
import { StaticCredentialSource } from '../adapters/providers/credentials';
import { providersOf } from '../adapters/providers/registry';
import type { ProviderId } from '../core/ai/route-table';
import { loadConfig, type AppConfig } from '../shared/config';
import { buildGateway, type ContainerOverrides, type Gateway } from '../shared/container';
import {
  API_KEYS_TABLE,
  PROVIDER_HEALTH_TABLE,
  RATE_LIMITS_TABLE,
  RESPONSE_CACHE_TABLE,
  USAGE_AGGREGATES_TABLE,
  USAGE_TABLE,
} from '../shared/tables';
import { drain } from './drain';
import { ensureTables, startDynalite } from './dynamodb-local';
import { startDynaliteProcess } from './dynamodb-process';
import { SimulatedOnlyFansGateway } from './simulated-onlyfans';
import { parseSimFail, SimulatedUpstream } from './simulated-upstream';

/** How long shutdown waits for the last usage records and alerts before spilling them to disk. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** The longest one table call may take at start (a table rebuild reads and writes in pages). */
const TABLE_CALL_MS = 10_000;

export const LOCAL_USER_ID = 'local-user';
export const LOCAL_ADMIN_ID = 'local-admin';
const SIMULATED_KEY = 'sk-simulated-upstream-key';

export interface LocalGateway {
  url: string;
  config: AppConfig;
  gateway: Gateway;
  /** Simulated upstreams, for the providers that have no real credentials. */
  sims: Partial<Record<ProviderId, SimulatedUpstream>>;
  providerModes: Record<ProviderId, 'real' | 'simulated'>;
  /** The simulated OnlyFans gateway, when ONLYFANS_GATEWAY_URL is unset. */
  onlyfans: SimulatedOnlyFansGateway | undefined;
  dynamoEndpoint: string;
  /** The local engine's process, when it runs in its own. */
  dynamoPid: number | undefined;
  close(): Promise<void>;
}

export interface LocalGatewayOptions {
  /** How long shutdown waits for requests in flight (default 5 s). */
  drainMs?: number;
  /** How long shutdown waits for usage records being written before it spills them (default `SHUTDOWN_GRACE_MS`). */
  shutdownGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  overrides?: ContainerOverrides;
  /** Adjusts the parsed configuration (tests use it for short timeouts). */
  configure?: (config: AppConfig) => AppConfig;
  /**
   * Where dynalite runs when no DYNAMODB_ENDPOINT is set: in a process of its own (`npm start`: it
   * does not share the gateway's event loop) or in this one (tests: faster to start, and no TypeScript
   * loader needed in a forked process). Default `in-process`.
   */
  engine?: 'process' | 'in-process';
  /** Called when an engine in its own process stops on its own (the gateway cannot serve without it). */
  onEngineStopped?: () => void;
}

/** Starts everything and resolves once the gateway accepts connections. */
export async function startLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  let config = loadConfig('local', options.env ?? process.env);
  if (options.configure) config = options.configure(config);
  const closers: Array<() => Promise<void> | void> = [];
  let closing: Promise<void> | undefined;
  // Stops in the reverse order of starting (server first, engine last); safe to call twice.
  const close = () =>
    (closing ??= (async () => {
      for (const closer of [...closers].reverse()) await closer();
    })());
  try {
    let dynamoEndpoint = config.aws.dynamodbEndpoint;
    let dynamoPid: number | undefined;
    if (!dynamoEndpoint) {
      const path = config.local.dataDir ? join(config.local.dataDir, 'dynamodb') : undefined;
      if (path) mkdirSync(path, { recursive: true });
      const where = path ? { path } : {};
      const dynalite = await (options.engine === 'process'
        ? startDynaliteProcess({ ...where, ...(options.onEngineStopped ? { onStopped: options.onEngineStopped } : {}) })
        : startDynalite(where));
      closers.push(() => dynalite.close());
      dynamoEndpoint = dynalite.endpoint;
      dynamoPid = dynalite.pid;
    }
    config = { ...config, aws: { ...config.aws, dynamodbEndpoint: dynamoEndpoint } };

    // Bounded like every other call: an engine that accepts connections and never answers stops the start, not hangs it.
    const admin = new DynamoDBClient({
      ...attemptBoundedConfig(config.aws.region, Math.max(TABLE_CALL_MS, config.aws.dynamodbTimeoutMs)),
      endpoint: dynamoEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    let movedToDayShards: number | undefined;
    await ensureTables(
      admin,
      [
        { definition: API_KEYS_TABLE, name: config.tables.apiKeys },
        { definition: RATE_LIMITS_TABLE, name: config.tables.rateLimits },
        {
          definition: USAGE_TABLE,
          name: config.usage.recordsTable,
          // Records kept by a version before the day index was sharded get their shard.
          afterRebuild: async () => {
            movedToDayShards = await backfillDayShards(DynamoDBDocumentClient.from(admin), config.usage.recordsTable);
          },
        },
        { definition: USAGE_AGGREGATES_TABLE, name: config.usage.aggregatesTable },
        { definition: PROVIDER_HEALTH_TABLE, name: config.health.table },
        { definition: RESPONSE_CACHE_TABLE, name: config.cache.table },
      ],
      config.local.dataDir,
    )
      .catch((error: unknown) => {
        throw new Error(`DynamoDB at ${dynamoEndpoint} could not set up the tables: ${(error as Error).message}`, { cause: error });
      })
      .finally(() => admin.destroy());

    const providers = providersOf(config.routeTable);
    const faults = parseSimFail(
      config.local.simFail,
      providers.map((p) => p.id),
    );
    const sims: LocalGateway['sims'] = {};
    // Every registered provider without credentials in the environment gets a simulated upstream.
    const credentials: Record<ProviderId, unknown> = {};
    for (const provider of providers) {
      const real = config.providers.environment[provider.id];
      if (real !== undefined) {
        credentials[provider.id] = real;
        continue;
      }
      const simulation = provider.simulation;
      if (!simulation) throw new Error(`provider ${provider.id} has no simulated upstream (HO_LAMBDA_BUNDLE is set: unset it locally)`);
      const sim = new SimulatedUpstream({
        provider: provider.id,
        dialect: simulation,
        apiKey: SIMULATED_KEY,
        latencyMs: config.local.simLatencyMs,
        chunkDelayMs: config.local.simChunkDelayMs,
      });
      const url = await sim.listen();
      closers.push(() => sim.close());
      const fault = faults.get(provider.id);
      if (fault) sim.setFault(fault.fault, fault.times);
      sims[provider.id] = sim;
      credentials[provider.id] = simulation.credentials(url, SIMULATED_KEY);
    }

    let onlyfans: SimulatedOnlyFansGateway | undefined;
    if (!config.onlyfans.gatewayUrl) {
      const sim = new SimulatedOnlyFansGateway();
      const url = await sim.listen();
      closers.push(() => sim.close());
      onlyfans = sim;
      config = { ...config, onlyfans: { ...config.onlyfans, gatewayUrl: url } };
    }

    const gateway = buildGateway(config, {
      credentials: new StaticCredentialSource(credentials, providers),
      ...options.overrides,
    });
    closers.push(() => gateway.close());
    if (movedToDayShards !== undefined) gateway.logger.info('usage records moved to the sharded day index', { records: movedToDayShards });
    // After the server stops: usage records and alerts of the last requests are written first; what
    // is still being written after SHUTDOWN_GRACE_MS (storage hung) is spilled to disk instead.
    closers.push(async () => {
      if (!(await gateway.background.drain(options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS))) await gateway.ledger.spillInFlight();
    });
    // Records that waited on disk (written while the store was down, or at the last shutdown) go in now.
    if (gateway.outbox instanceof FileUsageOutbox) gateway.background.track(replaySpilled(gateway.outbox, gateway));
    // Heartbeats on a timer, as the EventBridge schedule runs them on AWS.
    if (config.health.heartbeatIntervalMs > 0) {
      const beat = setInterval(() => gateway.background.track(gateway.heartbeats.run()), config.health.heartbeatIntervalMs);
      beat.unref();
      closers.push(() => clearInterval(beat));
    }
    await gateway.apiKeys.register(config.local.userKey, { userId: LOCAL_USER_ID, plan: 'pro', role: 'user' });
    await gateway.apiKeys.register(config.local.adminKey, { userId: LOCAL_ADMIN_ID, plan: 'enterprise', role: 'admin' });

    const server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: gateway.app.fetch, hostname: config.local.host, port: config.local.port }, () =>
        resolve(s as Server),
      ) as Server;
      s.once('error', reject);
    });
    server.keepAliveTimeout = 65_000;
    answerParserRejections(server, gateway.logger);
    closers.push(async () => {
      // Streams in flight end with an error event (not a reset) and are recorded; then the server drains.
      gateway.shutdown();
      await drain(server, options.drainMs ?? 5000);
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://${config.local.host}:${port}`,
      config,
      gateway,
      sims,
      providerModes: Object.fromEntries(providers.map(({ id }) => [id, sims[id] ? 'simulated' : 'real'])),
      onlyfans,
      dynamoEndpoint,
      dynamoPid,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A request Node's HTTP parser refuses before any route sees it (a 32 KB header, bare CR, bad header
 * bytes) still gets an answer in OpenAI's shape, and a log line (Node's default is an empty 400).
 */
function answerParserRejections(server: Server, logger: Pick<Gateway['logger'], 'warn'>): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: {
        message: tooLarge ? 'The request headers are too large.' : 'The request is not valid HTTP (malformed request line or headers).',
        type: 'invalid_request_error',
        param: null,
        code: tooLarge ? 'request_header_fields_too_large' : 'malformed_request',
      },
    });
    logger.warn('request refused by the HTTP parser', {
      status,
      error: { name: error.name, code: error.code ?? null, message: error.message },
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

/**
 * Writes the records that waited in the spill file; those the store still refuses go back to it,
 * and so do those not yet written when the gateway stops. The file taken is deleted only then.
 */
async function replaySpilled(outbox: FileUsageOutbox, gateway: Gateway): Promise<void> {
  const taken = await outbox.take();
  if (taken.records.length > 0) {
    const { replayed, waiting } = await gateway.ledger.replayAll(taken.records);
    gateway.logger.info('spilled usage records replayed', { replayed, waiting, file: outbox.path });
  }
  await taken.done();
}
