/** Several instances' health monitors sharing one store: what one learns, the others honour. */
import defaultRoutes from '../../../../config/routes.json';
import { parseRouteTable, planRoute, targetKey, type PlannedTarget } from '../../../../lambdas/core/ai/route-table';
import { HealthMonitor, DEFAULT_HEALTH_OPTIONS } from '../../../../lambdas/core/health/health-monitor';
import { CapturingTelemetry, FakeClock, InMemoryHealthStore } from '../../../helpers/fakes';

const table = parseRouteTable(defaultRoutes, 'config/routes.json');
const [openai] = planRoute(table, 'general', undefined) as [PlannedTarget, PlannedTarget];
const KEY = targetKey(openai);

function fleet(instances = 3) {
  const store = new InMemoryHealthStore();
  const clock = new FakeClock();
  const telemetry = new CapturingTelemetry();
  const work: Array<Promise<unknown>> = [];
  const monitors = Array.from(
    { length: instances },
    (_, i) =>
      new HealthMonitor(store, clock, telemetry, `gw-${i}`, (w) => void work.push(w), { ...DEFAULT_HEALTH_OPTIONS, flushMs: 60_000 }),
  );
  const settle = async () => {
    while (work.length > 0) await Promise.all(work.splice(0));
  };
  /** The breaker opened by five failures in a row, its cooldown over, and every instance's view fresh: a probe may go. */
  const probeDue = async () => {
    for (let i = 0; i < 5; i++) monitors[0]!.report(openai, failure, false);
    await settle();
    clock.advance(30_000);
    await Promise.all(monitors.map((m) => m.refresh()));
  };
  return { store, clock, telemetry, monitors, settle, probeDue };
}

const failure = { kind: 'failure', errorClass: 'timeout' } as const;

describe('HealthMonitor', () => {
  it('opens the breaker for the whole fleet from failures seen by one instance, and logs the transition once', async () => {
    const { monitors, settle, telemetry, clock } = fleet();
    const [a, b, c] = monitors as [HealthMonitor, HealthMonitor, HealthMonitor];
    for (let i = 0; i < 5; i++) a.report(openai, failure, false);
    await settle();
    await Promise.all([b.refresh(), c.refresh()]);
    for (const monitor of monitors)
      expect(await monitor.admit(openai)).toEqual({ kind: 'skip', reason: 'circuit_open', retryAt: clock.now() + 30_000 });
    expect(telemetry.events.filter((e) => e.message === 'circuit opened')).toHaveLength(1);
    expect(telemetry.metrics).toContainEqual({ name: 'CircuitTransitions', value: 1, dimensions: { target: KEY, to: 'open' } });
  });

  it('counts failures from several instances together', async () => {
    const { monitors, settle } = fleet();
    for (const monitor of monitors) {
      monitor.report(openai, failure, false);
      monitor.report(openai, failure, false);
    }
    await settle();
    await monitors[2]!.refresh();
    expect((await monitors[2]!.admit(openai)).kind).toBe('skip');
  });

  it('after the cooldown lets exactly one of 20 concurrent requests across 3 instances probe; success closes it', async () => {
    const { monitors, settle, clock, store } = fleet();
    for (let i = 0; i < 5; i++) monitors[0]!.report(openai, failure, false);
    await settle();
    clock.advance(30_000);
    await Promise.all(monitors.map((m) => m.refresh()));
    const admissions = await Promise.all(Array.from({ length: 20 }, (_, i) => monitors[i % 3]!.admit(openai)));
    expect(admissions.filter((a) => a.kind === 'probe')).toHaveLength(1);
    expect(admissions.filter((a) => a.kind === 'skip' && a.reason === 'probe_in_flight')).toHaveLength(19);
    const prober = monitors[admissions.findIndex((a) => a.kind === 'probe') % 3]!;
    prober.report(openai, { kind: 'started', firstEventMs: 120 }, true);
    await settle();
    expect(store.states_[KEY]).toMatchObject({ state: 'closed', openings: 0 });
    await Promise.all(monitors.map((m) => m.refresh()));
    for (const monitor of monitors) expect(await monitor.admit(openai)).toEqual({ kind: 'call' });
  });

  it('claims a probe for as long as its call may take to tell, and lets only the claim’s holder settle it', async () => {
    const { monitors, settle, clock, store, probeDue } = fleet(2);
    const [a, b] = monitors as [HealthMonitor, HealthMonitor];
    await probeDue();
    // A call told by its whole answer (not streamed): the claim outlasts its total time, not its first event.
    expect(await a.admit(openai, { settlesWithinMs: 120_000 })).toEqual({ kind: 'probe' });
    expect(store.states_[KEY]!.probe).toEqual({ by: 'gw-0', until: clock.now() + 120_000 + DEFAULT_HEALTH_OPTIONS.probeGraceMs });
    // Past the claim, another instance takes the probe over and it succeeds; the first one's late failure changes nothing.
    clock.advance(120_000 + DEFAULT_HEALTH_OPTIONS.probeGraceMs + 1);
    await Promise.all(monitors.map((m) => m.refresh()));
    expect(await b.admit(openai)).toEqual({ kind: 'probe' });
    await a.refresh();
    a.report(openai, failure, true);
    await settle();
    expect(store.states_[KEY]!.probe?.by).toBe('gw-1');
    b.report(openai, { kind: 'started', firstEventMs: 100 }, true);
    await settle();
    expect(store.states_[KEY]).toMatchObject({ state: 'closed' });
  });

  it('gives a probe answered 429 back and cools the target for the time the provider asked, in one write', async () => {
    const { monitors, settle, clock, store, probeDue } = fleet(1);
    const [m] = monitors as [HealthMonitor];
    await probeDue();
    expect(await m.admit(openai)).toEqual({ kind: 'probe' });
    m.report(openai, { kind: 'rate_limited', retryAfterMs: 20_000 }, true);
    await settle();
    expect(store.states_[KEY]!.probe).toBeUndefined();
    expect(store.states_[KEY]!.coolingUntil).toBe(clock.now() + 20_000);
    expect((await m.admit(openai)).kind).toBe('skip');
    clock.advance(20_001);
    expect(await m.admit(openai)).toEqual({ kind: 'probe' });
    // A 429 to a probe no longer this instance's (taken over) still cools the target.
    store.states_[KEY] = { ...store.states_[KEY]!, v: store.states_[KEY]!.v + 1, probe: { by: 'gw-other', until: clock.now() + 15_000 } };
    await m.refresh();
    m.report(openai, { kind: 'rate_limited', retryAfterMs: 30_000 }, true);
    await settle();
    expect(store.states_[KEY]).toMatchObject({ probe: { by: 'gw-other' }, coolingUntil: clock.now() + 30_000 });
  });

  it('reopens after a failed probe with a doubled cooldown', async () => {
    const { monitors, settle, clock, store } = fleet(1);
    const [m] = monitors as [HealthMonitor];
    for (let i = 0; i < 5; i++) m.report(openai, failure, false);
    await settle();
    clock.advance(30_000);
    expect(await m.admit(openai)).toEqual({ kind: 'probe' });
    m.report(openai, failure, true);
    await settle();
    expect(store.states_[KEY]).toMatchObject({ state: 'open', openings: 2, openUntil: clock.now() + 60_000 });
    expect(await m.admit(openai)).toMatchObject({ kind: 'skip', reason: 'circuit_open' });
  });

  it('cools a target on a 429 until its retry-after, without counting a failure', async () => {
    const { monitors, settle, clock, store } = fleet(2);
    monitors[0]!.report(openai, { kind: 'rate_limited', retryAfterMs: 20_000 }, false);
    await settle();
    await monitors[1]!.refresh();
    expect(await monitors[1]!.admit(openai)).toEqual({ kind: 'skip', reason: 'cooling', retryAt: clock.now() + 20_000 });
    expect(store.stats_[KEY]).toBeUndefined();
    clock.advance(20_000);
    expect(await monitors[1]!.admit(openai)).toEqual({ kind: 'call' });
  });

  it("ignores a client's own mistakes and departures", async () => {
    const { monitors, settle, store } = fleet(1);
    for (let i = 0; i < 10; i++) monitors[0]!.report(openai, { kind: 'neutral' }, false);
    await settle();
    await monitors[0]!.flushAll();
    expect(store.writes).toBe(0);
  });

  it('writes successes at most once per flush interval per target', async () => {
    const { monitors, store } = fleet(1);
    for (let i = 0; i < 100; i++) monitors[0]!.report(openai, { kind: 'success', firstEventMs: 100, latencyMs: 400 }, false);
    await monitors[0]!.flushAll();
    expect(store.writes).toBe(1);
    expect(store.stats_[KEY]?.slots[0]).toMatchObject({ successes: 100 });
  });

  it('still stops calling a failing target on its own when the store is down', async () => {
    const { monitors, settle, store, telemetry } = fleet(1);
    store.failing = true;
    for (let i = 0; i < 5; i++) monitors[0]!.report(openai, failure, false);
    await settle();
    expect(await monitors[0]!.admit(openai)).toMatchObject({ kind: 'skip', reason: 'circuit_open' });
    expect(telemetry.events.map((e) => e.message)).toContain('circuit opened locally');
  });

  it('takes a target out of rotation for everyone on manual failover, and puts it back', async () => {
    const { monitors, clock } = fleet(2);
    await monitors[0]!.setManual(
      KEY,
      { state: 'down', until: clock.now() + 600_000, by: 'ops', reason: 'bad deploy', at: clock.now() },
      'ops',
      'bad deploy',
    );
    await monitors[1]!.refresh();
    expect(await monitors[1]!.admit(openai)).toMatchObject({ kind: 'skip', reason: 'manual_down' });
    await monitors[1]!.setManual(KEY, 'up', 'ops', 'fixed');
    await monitors[0]!.refresh();
    expect(await monitors[0]!.admit(openai)).toEqual({ kind: 'call' });
  });

  it('puts a breaker opened by failures back in rotation for good: the next failure does not reopen it', async () => {
    const { monitors, settle, store } = fleet(2);
    const [a, b] = monitors as [HealthMonitor, HealthMonitor];
    for (let i = 0; i < 5; i++) a.report(openai, failure, false);
    await settle();
    await b.refresh();
    expect((await b.admit(openai)).kind).toBe('skip');
    await b.setManual(KEY, 'up', 'ops', 'provider fixed');
    expect(store.stats_[KEY]?.consecutiveFailures).toBe(0);
    // One failure after: one in a row, not the sixth.
    a.report(openai, failure, false);
    await settle();
    await Promise.all([a.refresh(), b.refresh()]);
    for (const monitor of [a, b]) expect(await monitor.admit(openai)).toEqual({ kind: 'call' });
  });

  it('keeps a state it wrote while a read was on its way over the older answer', async () => {
    const { monitors, store, clock, settle } = fleet(1);
    const [m] = monitors as [HealthMonitor];
    await m.ready();
    // A read answered with the store as it was before the breaker opened.
    const before = structuredClone(store.states_);
    let answer!: () => void;
    jest.spyOn(store, 'states').mockImplementationOnce(() => new Promise((resolve) => (answer = () => resolve(before))));
    clock.advance(DEFAULT_HEALTH_OPTIONS.maxStaleMs + 1);
    const reading = m.refresh();
    for (let i = 0; i < 5; i++) m.report(openai, failure, false);
    await settle();
    expect(store.states_[KEY]).toMatchObject({ state: 'open' });
    answer();
    await reading;
    expect(await m.admit(openai)).toMatchObject({ kind: 'skip', reason: 'circuit_open' });
  });

  it('does not make every request wait on a store that is down: one waits, the rest use the view they have', async () => {
    const { monitors, store, clock } = fleet(1);
    const [m] = monitors as [HealthMonitor];
    await m.ready();
    store.failing = true;
    const reads = jest.spyOn(store, 'states');
    clock.advance(DEFAULT_HEALTH_OPTIONS.maxStaleMs + 1);
    await m.ready();
    await m.ready();
    expect(reads).toHaveBeenCalledTimes(1);
    // A read that hangs: the requests of its first readyTimeoutMs wait for it (each up to that bound), the later ones do not.
    reads.mockImplementation(() => new Promise(() => undefined));
    clock.advance(DEFAULT_HEALTH_OPTIONS.maxStaleMs + 1);
    const settled = (ready: Promise<void>) =>
      Promise.race([ready.then(() => 'resolved'), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);
    expect(await settled(m.ready())).toBe('waiting');
    clock.advance(DEFAULT_HEALTH_OPTIONS.readyTimeoutMs);
    expect(await settled(m.ready())).toBe('resolved');
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('refreshes a stale view before deciding, and decides from memory when it is fresh', async () => {
    const { monitors, store, clock } = fleet(1);
    const [m] = monitors as [HealthMonitor];
    const reads = jest.spyOn(store, 'states');
    await m.ready();
    await m.ready();
    expect(reads).toHaveBeenCalledTimes(1);
    clock.advance(DEFAULT_HEALTH_OPTIONS.maxStaleMs + 1);
    await m.ready();
    expect(reads).toHaveBeenCalledTimes(2);
  });
});
