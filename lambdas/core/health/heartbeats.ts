/**
 * Heartbeats: every configured target probed with the cheapest call that takes the same path as real
 * traffic (a streamed one-token completion on the very model or deployment; a `GET /models` that
 * answers proves nothing about a hung deployment). Results feed the fleet's health like any request,
 * and a heartbeat that finds a breaker half-open serves as its probe. On AWS an EventBridge schedule
 * runs them every minute; locally `npm start` runs the same code on a timer.
 */
import type { ChatProvider, ProviderDirectory } from '../ai/ports';
import { ProviderCallError, type ProviderFailure } from '../errors';
import { healthOutcome } from '../ai/retry';
import { planRoute, targetKey, TASK_TYPES, tierTargets, TIERS, type PlannedTarget, type RouteTable } from '../ai/route-table';
import type { Clock } from '../ports';
import type { Telemetry } from '../telemetry';
import { circuitState } from './breaker';
import type { HealthMonitor } from './health-monitor';

export interface HeartbeatResult {
  target: string;
  outcome: 'ok' | 'failed' | 'rejected' | 'skipped' | 'not_configured';
  latencyMs?: number;
  firstEventMs?: number;
  errorClass?: string;
  /** Why a target was not probed (its breaker is open, it cools, an admin took it out). */
  skipped?: string;
  /** The heartbeat was the half-open probe of the target's breaker. */
  probe?: boolean;
}

/** The smallest request that exercises generation: one output token. */
const PING = { messages: [{ role: 'user', content: 'Reply with OK.' }], max_completion_tokens: 1, stream_options: { include_usage: true } };

/** Every distinct target of the route table (a provider and model or deployment), in task order, smart-routing tiers included. */
export function configuredTargets(table: RouteTable): PlannedTarget[] {
  const seen = new Map<string, PlannedTarget>();
  for (const task of TASK_TYPES)
    for (const target of [...planRoute(table, task, undefined), ...TIERS.flatMap((tier) => tierTargets(table, task, tier))])
      if (!seen.has(targetKey(target))) seen.set(targetKey(target), target);
  return [...seen.values()];
}

export class Heartbeats {
  constructor(
    private readonly deps: {
      /** The route table in force (runtime provider configurations applied). */
      routes: () => RouteTable;
      providers: ProviderDirectory;
      health: HealthMonitor;
      clock: Clock;
      telemetry: Telemetry;
    },
  ) {}

  /**
   * Probes every configured target once, in parallel, and reports each target's circuit as a metric
   * (`CircuitOpen`: 1 while open, half-open or taken out by an admin), which the "provider down for
   * 5 minutes" alarm watches.
   */
  async run(): Promise<HeartbeatResult[]> {
    const { health, clock, telemetry } = this.deps;
    await health.refresh();
    const targets = configuredTargets(this.deps.routes());
    const results = await Promise.all(targets.map((target) => this.probe(target)));
    for (const target of targets) {
      const state = health.state(targetKey(target));
      const out = circuitState(state, clock.now()) !== 'closed' || (state?.manual !== undefined && state.manual.until > clock.now());
      telemetry.metric('CircuitOpen', out ? 1 : 0, { target: targetKey(target) });
    }
    telemetry.info('heartbeats', { results });
    return results;
  }

  private async probe(target: PlannedTarget): Promise<HeartbeatResult> {
    const { providers, health, clock, telemetry } = this.deps;
    const key = targetKey(target);
    const provider = await providers.get(target.provider).catch(() => undefined);
    if (!provider) return { target: key, outcome: 'not_configured' };
    const admission = await health.admit(target);
    if (admission.kind === 'skip') return { target: key, outcome: 'skipped', skipped: admission.reason };
    const probe = admission.kind === 'probe';
    const ping = await pingTarget(provider, target, clock);
    if (ping.ok) {
      health.report(target, { kind: 'success', firstEventMs: ping.firstEventMs, latencyMs: ping.latencyMs }, probe);
      telemetry.metric('HeartbeatLatency', ping.latencyMs, { target: key }, 'Milliseconds');
      telemetry.metric('HeartbeatFailures', 0, { target: key });
      return { target: key, outcome: 'ok', latencyMs: ping.latencyMs, firstEventMs: ping.firstEventMs, ...(probe ? { probe } : {}) };
    }
    const outcome = healthOutcome(ping.failure);
    health.report(target, outcome, probe);
    // A refusal of the heartbeat itself (400, 404) is our probe's fault, not the provider's.
    const rejected = outcome.kind === 'neutral';
    telemetry.metric('HeartbeatFailures', rejected ? 0 : 1, { target: key });
    telemetry.error(rejected ? 'heartbeat rejected by the provider' : 'heartbeat failed', {
      target: key,
      errorClass: ping.failure.errorClass,
      status: ping.failure.status ?? null,
    });
    return {
      target: key,
      outcome: rejected ? 'rejected' : 'failed',
      latencyMs: ping.latencyMs,
      errorClass: ping.failure.errorClass,
      ...(probe ? { probe } : {}),
    };
  }
}

export type Ping = { ok: true; latencyMs: number; firstEventMs: number } | { ok: false; latencyMs: number; failure: ProviderFailure };

/** One streamed one-token completion on the target, timed: what a heartbeat and `POST /api/ai-providers/test` send. */
export async function pingTarget(provider: ChatProvider, target: PlannedTarget, clock: Clock): Promise<Ping> {
  const started = clock.now();
  let firstEventMs: number | undefined;
  try {
    // A one-token answer: its first event within the target's firstByteMs, all of it within 10 s more.
    const timeouts = { ...target.timeouts, totalMs: Math.min(target.timeouts.totalMs, target.timeouts.firstByteMs + 10_000) };
    const stream = await provider.stream({
      upstreamModel: target.upstreamModel,
      body: PING,
      timeouts,
      signal: new AbortController().signal,
    });
    for await (const _event of stream) firstEventMs ??= clock.now() - started;
    if (firstEventMs === undefined) throw new ProviderCallError({ errorClass: 'stream_error' }, 'ping: the stream sent no event');
    return { ok: true, latencyMs: clock.now() - started, firstEventMs };
  } catch (error) {
    const failure: ProviderFailure = error instanceof ProviderCallError ? error.failure : { errorClass: 'protocol_error' };
    return { ok: false, latencyMs: clock.now() - started, failure };
  }
}
