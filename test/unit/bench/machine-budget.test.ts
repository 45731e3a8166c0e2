import { machineBudget, type MeasuredRun } from '../../../bench/processes';

const run = (requests: number, cpuMs: number, machineCpuMs: Record<string, number> | undefined, mainThreadCpuMs?: number): MeasuredRun => ({
  connections: 50,
  requestsPerSec: requests / 10,
  requests,
  p50: 1,
  p90: 1,
  p99: 1,
  non2xx: 0,
  errors: 0,
  cpuMs,
  cpuMsPerRequest: cpuMs / requests,
  ...(machineCpuMs ? { machineCpuMs } : {}),
  ...(mainThreadCpuMs === undefined ? {} : { mainThreadCpuMs }),
});

describe('machineBudget', () => {
  it('sums each process over every load and divides by every request (not an average of the loads)', () => {
    const budget = machineBudget(
      [
        run(1000, 1000, { bench: 100, upstream: 300, dynalite: 500 }, 800),
        run(3000, 6000, { bench: 300, upstream: 900, dynalite: 2500 }, 5200),
      ],
      2,
    );
    // 4,000 requests: server 7,000 ms, bench 400, upstream 1,200, dynalite 3,000: 2.9 ms a request.
    expect(budget).toEqual({
      msPerRequest: { server: 1.75, bench: 0.1, upstream: 0.3, dynalite: 0.75 },
      totalMsPerRequest: 2.9,
      ceilingReqPerSec: 690,
      mainThreadMsPerRequest: 1.5,
      mainThreadCeilingReqPerSec: 667,
    });
  });

  it('leaves the main thread out when a load did not read it', () => {
    const budget = machineBudget([run(1000, 1000, { bench: 100 }, 800), run(1000, 1000, { bench: 100 })], 2);
    expect(budget).toEqual({ msPerRequest: { server: 1, bench: 0.1 }, totalMsPerRequest: 1.1, ceilingReqPerSec: 1818 });
  });

  it('says nothing when a load was not measured, or measured fewer processes than another', () => {
    const unmeasured: MeasuredRun = { ...run(10, 1, undefined), cpuMs: undefined };
    expect(machineBudget([run(10, 1, { bench: 1 }), unmeasured], 2)).toBeUndefined();
    expect(machineBudget([run(10, 1, { bench: 1, upstream: 1 }), run(10, 1, { bench: 1 })], 2)).toBeUndefined();
    expect(machineBudget([run(10, 1, {}), run(10, 1, { bench: 1 })], 2)).toBeUndefined();
    expect(machineBudget([], 2)).toBeUndefined();
  });
});
