import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlagStore } from '../../../../lambdas/core/rollout/flag-store';
import { type FlagSource } from '../../../../lambdas/core/rollout/ports';
import {
  decideRollout,
  flagDocument,
  parseFlagDocument,
  rolloutBucket,
  SAFE_DEFAULT_FLAGS,
  type FlagValues,
} from '../../../../lambdas/core/rollout/flags';
import type { Telemetry } from '../../../../lambdas/core/telemetry';
import { FakeClock } from '../../../helpers/fakes';

const values = (rollout: Partial<FlagValues['hybrid_orchestrator']>): FlagValues => ({
  hybrid_orchestrator: { enabled: true, rollout_percentage: 0, allow_users: [], deny_users: [], ...rollout },
});

describe('flag documents', () => {
  it('accepts the full AppConfig feature-flag document and the values map AppConfig serves', () => {
    const full = flagDocument(
      { enabled: true, rollout_percentage: 25, allow_users: ['u1'], deny_users: [] },
      { response_caching: { enabled: false } },
    );
    const parsed = parseFlagDocument(full);
    expect(parsed.hybrid_orchestrator).toEqual({ enabled: true, rollout_percentage: 25, allow_users: ['u1'], deny_users: [] });
    expect(parsed.response_caching).toEqual({ enabled: false });
    expect(parseFlagDocument({ hybrid_orchestrator: { enabled: false, rollout_percentage: 10 } }).hybrid_orchestrator).toEqual({
      enabled: false,
      rollout_percentage: 10,
      allow_users: [],
      deny_users: [],
    });
  });

  it('ships a valid local flags file that turns the orchestrator on for everyone', () => {
    const file = parseFlagDocument(JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'config', 'flags.local.json'), 'utf8')));
    expect(file.hybrid_orchestrator).toMatchObject({ enabled: true, rollout_percentage: 100 });
  });

  it.each([
    ['not an object', 'nope', /invalid flag values/],
    ['no rollout flag', { response_caching: { enabled: true } }, /hybrid_orchestrator/],
    ['percentage over 100', { hybrid_orchestrator: { enabled: true, rollout_percentage: 101 } }, /rollout_percentage/],
    ['enabled not a boolean', { hybrid_orchestrator: { enabled: 'yes' } }, /enabled/],
    ['users not strings', { hybrid_orchestrator: { enabled: true, allow_users: [1] } }, /allow_users/],
    ['wrong document version', { version: '2', flags: {}, values: {} }, /version/],
    [
      'values for an undefined flag',
      { version: '1', flags: {}, values: { hybrid_orchestrator: { enabled: true } } },
      /undefined flags hybrid_orchestrator/,
    ],
    ['unparseable JSON (from a source)', { invalidJson: 'Unexpected token' }, /hybrid_orchestrator/],
  ])('rejects %s', (_name, doc, message) => {
    expect(() => parseFlagDocument(doc)).toThrow(message);
  });
});

describe('rollout decision', () => {
  it('sends everyone to the legacy path when the flag is disabled, even allowed users', () => {
    expect(
      decideRollout({ hybrid_orchestrator: { enabled: false, rollout_percentage: 100, allow_users: ['a'], deny_users: [] } }, 'a'),
    ).toEqual({
      path: 'legacy',
      reason: 'disabled',
    });
  });

  it('lets deny_users win over allow_users, and allow_users over the percentage', () => {
    const flags = values({ rollout_percentage: 100, allow_users: ['both', 'allowed'], deny_users: ['both', 'denied'] });
    expect(decideRollout(flags, 'both')).toEqual({ path: 'legacy', reason: 'denied' });
    expect(decideRollout(flags, 'denied')).toEqual({ path: 'legacy', reason: 'denied' });
    expect(decideRollout(values({ rollout_percentage: 0, allow_users: ['allowed'] }), 'allowed')).toEqual({
      path: 'orchestrated',
      reason: 'allowed',
    });
    expect(decideRollout(values({ rollout_percentage: 100 }), 'anyone')).toEqual({ path: 'orchestrated', reason: 'in_percentage' });
    expect(decideRollout(values({ rollout_percentage: 0 }), 'anyone')).toEqual({ path: 'legacy', reason: 'outside_percentage' });
  });

  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

  it.each([1, 10, 25, 50, 90])('puts %i%% of 10,000 users on the orchestrator, within 3 points', (percentage) => {
    const share =
      users.filter((u) => decideRollout(values({ rollout_percentage: percentage }), u).path === 'orchestrated').length / users.length;
    expect(Math.abs(share * 100 - percentage)).toBeLessThanOrEqual(3);
  });

  it('keeps every user in as the percentage grows (10% -> 20% -> 50%)', () => {
    const inAt = (p: number) => new Set(users.filter((u) => decideRollout(values({ rollout_percentage: p }), u).path === 'orchestrated'));
    const ten = inAt(10);
    const twenty = inAt(20);
    const fifty = inAt(50);
    for (const u of ten) expect(twenty.has(u)).toBe(true);
    for (const u of twenty) expect(fifty.has(u)).toBe(true);
    expect(twenty.size).toBeGreaterThan(ten.size);
  });

  it('buckets by flag and user, stably', () => {
    expect(rolloutBucket('hybrid_orchestrator', 'u_1')).toBe(rolloutBucket('hybrid_orchestrator', 'u_1'));
    expect(rolloutBucket('hybrid_orchestrator', 'u_1')).not.toBe(rolloutBucket('response_caching', 'u_1'));
    expect(rolloutBucket('hybrid_orchestrator', 'u_1')).toBeGreaterThanOrEqual(0);
    expect(rolloutBucket('hybrid_orchestrator', 'u_1')).toBeLessThan(100);
  });

  it('is the SHA-256 of flag and user, whether the bucket was kept or not', () => {
    const byHash = (flag: string, user: string) =>
      (createHash('sha256').update(`${flag}\u0000${user}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
    const users = Array.from({ length: 12_000 }, (_, i) => `u_${i}`);
    // Over fewer users than are kept, twice, then over more than are kept.
    for (const user of [...users.slice(0, 5_000), ...users.slice(0, 5_000), ...users]) {
      if (rolloutBucket('response_caching', user) !== byHash('response_caching', user)) throw new Error(`bucket of ${user}`);
    }
    expect(rolloutBucket('response_caching', 'u_7')).toBe(byHash('response_caching', 'u_7'));
  });
});

class ScriptedSource implements FlagSource {
  readonly name = 'scripted';
  calls = 0;
  constructor(public next: () => Promise<unknown>) {}
  fetch() {
    this.calls += 1;
    return this.next();
  }
}

function recordingTelemetry() {
  const events: Array<{ level: string; message: string }> = [];
  const counts: Record<string, number> = {};
  const telemetry: Telemetry = {
    record: () => undefined,
    error: (message) => void events.push({ level: 'error', message }),
    info: (message) => void events.push({ level: 'info', message }),
    count: (metric, value) => void (counts[metric] = (counts[metric] ?? 0) + value),
    usage: () => undefined,
    metric: () => undefined,
  };
  return { telemetry, events, counts };
}

describe('FlagStore', () => {
  const on = flagDocument({ enabled: true, rollout_percentage: 100, allow_users: [], deny_users: [] });
  const options = { refreshMs: 45_000, maxStaleMs: 90_000, waitMs: 50, defaults: SAFE_DEFAULT_FLAGS };

  it('uses the safe defaults (legacy) on a cold start with no reachable source, and says so', async () => {
    const { telemetry, events, counts } = recordingTelemetry();
    const store = new FlagStore(
      new ScriptedSource(() => Promise.reject(new Error('ENOTFOUND appconfigdata'))),
      new FakeClock(),
      telemetry,
      options,
    );
    const snapshot = await store.current();
    expect(snapshot).toMatchObject({ origin: 'default', stale: true, values: SAFE_DEFAULT_FLAGS });
    expect(decideRollout(snapshot.values, 'u').path).toBe('legacy');
    expect(counts['FlagsStale']).toBe(1);
    expect(events.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'flags unreachable: keeping the last good flags',
        'no flags loaded yet: using the safe defaults (legacy path)',
      ]),
    );
  });

  it('refreshes at most once per interval, and confirms unchanged documents', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource(async () => on);
    const store = new FlagStore(source, clock, recordingTelemetry().telemetry, options);
    expect((await store.current()).values.hybrid_orchestrator.enabled).toBe(true);
    await store.current();
    clock.advance(44_999);
    await store.current();
    expect(source.calls).toBe(1);
    source.next = async () => undefined; // AppConfig: "no change"
    clock.advance(1);
    await store.current();
    await store.refresh();
    expect(source.calls).toBe(2);
    expect(store.snapshot()).toMatchObject({ origin: 'source', stale: false, confirmedAt: clock.now() });
  });

  it('rejects an invalid document and keeps the last good flags', async () => {
    const clock = new FakeClock();
    const { telemetry, events, counts } = recordingTelemetry();
    const source = new ScriptedSource(async () => on);
    const store = new FlagStore(source, clock, telemetry, options);
    await store.refresh();
    source.next = async () => ({ hybrid_orchestrator: { enabled: 'maybe' } });
    clock.advance(45_000);
    await store.refresh();
    expect(store.snapshot().values.hybrid_orchestrator.enabled).toBe(true);
    expect(counts['FlagsRejected']).toBe(1);
    expect(events.some((e) => e.message.startsWith('flag document rejected'))).toBe(true);
  });

  it('keeps the last good flags while the source is down, and reports them stale once too old', async () => {
    const clock = new FakeClock();
    const { telemetry, counts } = recordingTelemetry();
    const source = new ScriptedSource(async () => on);
    const store = new FlagStore(source, clock, telemetry, options);
    await store.refresh();
    source.next = () => Promise.reject(new Error('timeout'));
    clock.advance(45_000);
    await store.current();
    await store.refresh();
    expect(store.snapshot()).toMatchObject({ origin: 'source', stale: false });
    expect(counts['FlagsStale']).toBeUndefined();
    clock.advance(45_000);
    const snapshot = await store.current();
    expect(snapshot).toMatchObject({ origin: 'source', stale: true });
    expect(snapshot.values.hybrid_orchestrator.enabled).toBe(true);
    expect(counts['FlagsStale']).toBe(1);
  });
});
