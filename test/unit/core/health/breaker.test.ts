/** The circuit breaker's state machine, with exact times. */
import { DEFAULT_CIRCUIT_BREAKER as policy } from '../../../../lambdas/core/ai/route-table';
import {
  circuitState,
  claimProbe,
  close,
  cool,
  cooldownFor,
  decide,
  open,
  openingReason,
  setManual,
} from '../../../../lambdas/core/health/breaker';
import type { TargetStats } from '../../../../lambdas/core/health/ports';
import { slotOf } from '../../../../lambdas/core/health/stats';

const NOW = 1_800_000_000_000;

const stats = (slots: Array<[offsetMs: number, successes: number, failures: number]>, consecutiveFailures = 0): TargetStats => ({
  slots: slots.map(([offset, successes, failures]) => ({
    slot: slotOf(NOW + offset),
    successes,
    failures,
    tokens: 0,
    latency: {},
    firstEvent: {},
  })),
  consecutiveFailures,
  lastAt: NOW,
});

describe('breaker decisions', () => {
  it('calls a closed (or never seen) target', () => {
    expect(decide(undefined, policy, NOW)).toEqual({ kind: 'call' });
    expect(decide(close(undefined, NOW, 'x'), policy, NOW)).toEqual({ kind: 'call' });
  });

  it('skips an open target until its cooldown ends, then lets one request claim the probe', () => {
    const opened = open(undefined, policy, NOW, '5 consecutive failures');
    expect(opened).toMatchObject({ v: 1, state: 'open', openings: 1, openUntil: NOW + 30_000 });
    expect(decide(opened, policy, NOW + 29_999)).toEqual({ kind: 'skip', reason: 'circuit_open', retryAt: NOW + 30_000 });
    expect(circuitState(opened, NOW + 29_999)).toBe('open');
    expect(decide(opened, policy, NOW + 30_000)).toEqual({ kind: 'claim_probe' });
    expect(circuitState(opened, NOW + 30_000)).toBe('half-open');
    const probing = claimProbe(opened, NOW + 30_000, 'gw-a', NOW + 45_000);
    expect(probing.v).toBe(2);
    expect(decide(probing, policy, NOW + 31_000)).toEqual({ kind: 'skip', reason: 'probe_in_flight', retryAt: NOW + 45_000 });
    // A probe whose instance died: its lease runs out and another request may claim it.
    expect(decide(probing, policy, NOW + 45_000)).toEqual({ kind: 'claim_probe' });
  });

  it('closes on a successful probe and reopens on a failed one with a longer cooldown, up to the cap', () => {
    const first = open(undefined, policy, NOW, 'x');
    const closed = close(claimProbe(first, NOW + 30_000, 'a', NOW + 45_000), NOW + 31_000, 'probe succeeded');
    expect(closed).toMatchObject({ state: 'closed', openings: 0, v: 3 });
    expect(closed.probe).toBeUndefined();
    const second = open(claimProbe(first, NOW + 30_000, 'a', NOW + 45_000), policy, NOW + 31_000, 'probe failed');
    expect(second).toMatchObject({ state: 'open', openings: 2, openUntil: NOW + 31_000 + 60_000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => cooldownFor(policy, n))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('skips a target cooling after a 429 until its retry-after, whatever the breaker says', () => {
    const cooling = cool(undefined, NOW, NOW + 20_000);
    expect(decide(cooling, policy, NOW + 1)).toEqual({ kind: 'skip', reason: 'cooling', retryAt: NOW + 20_000 });
    expect(decide(cooling, policy, NOW + 20_000)).toEqual({ kind: 'call' });
  });

  it('honours manual failover until it expires or is lifted', () => {
    const down = setManual(
      undefined,
      NOW,
      { state: 'maintenance', until: NOW + 600_000, by: 'ops', reason: 'upgrade', at: NOW },
      'ops',
      'upgrade',
    );
    expect(decide(down, policy, NOW + 1)).toEqual({ kind: 'skip', reason: 'maintenance', retryAt: NOW + 600_000 });
    expect(decide(down, policy, NOW + 600_000)).toEqual({ kind: 'call' });
    const up = setManual(open(down, policy, NOW, 'x'), NOW + 2, 'up', 'ops', 'done');
    expect(up.manual).toBeUndefined();
    expect(decide(up, policy, NOW + 3)).toEqual({ kind: 'call' });
  });

  it('never skips for the breaker when the policy is disabled', () => {
    expect(decide(open(undefined, policy, NOW, 'x'), { ...policy, enabled: false }, NOW + 1)).toEqual({ kind: 'call' });
  });
});

describe('opening rules', () => {
  it('opens after the configured failures in a row', () => {
    expect(openingReason(stats([], 4), policy, NOW)).toBeUndefined();
    expect(openingReason(stats([], 5), policy, NOW)).toBe('5 consecutive failures');
  });

  it('opens on the failure rate over the window, once there were enough calls', () => {
    expect(openingReason(stats([[0, 4, 5]]), policy, NOW)).toBeUndefined(); // 9 calls < minimumCalls 10
    expect(openingReason(stats([[0, 5, 5]]), policy, NOW)).toBe('5 of 10 calls failed in 30 s');
    expect(openingReason(stats([[0, 6, 4]]), policy, NOW)).toBeUndefined(); // 40% < 50%
    // Failures older than the window do not count.
    expect(
      openingReason(
        stats([
          [-40_000, 0, 50],
          [0, 10, 1],
        ]),
        policy,
        NOW,
      ),
    ).toBeUndefined();
  });
});
