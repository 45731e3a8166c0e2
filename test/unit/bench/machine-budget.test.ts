import { cpuOfLoad, machineBudget, type MeasuredRun } from '../../../bench/processes';

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
    const withoutServer: MeasuredRun = { ...run(10, 1, { bench: 1 }), cpuMs: undefined };
    expect(machineBudget([run(10, 1, { bench: 1 }), withoutServer], 2)).toBeUndefined();
    expect(machineBudget([run(10, 1, { bench: 1 }), run(10, 1, undefined)], 2)).toBeUndefined();
    expect(machineBudget([run(10, 1, { bench: 1, upstream: 1 }), run(10, 1, { bench: 1 })], 2)).toBeUndefined();
    expect(machineBudget([run(10, 1, {}), run(10, 1, { bench: 1 })], 2)).toBeUndefined();
    expect(machineBudget([], 2)).toBeUndefined();
    expect(machineBudget([run(0, 0, { bench: 0 })], 2)).toBeUndefined();
  });

  it('gives no estimate for CPU too small to read (no Infinity)', () => {
    expect(machineBudget([run(10, 0, { bench: 0 })], 2)).toBeUndefined();
    expect(machineBudget([run(10, 10, { bench: 0 }, 0)], 2)).toEqual({
      msPerRequest: { server: 1, bench: 0 },
      totalMsPerRequest: 1,
      ceilingReqPerSec: 2000,
    });
  });
});

describe('cpuOfLoad', () => {
  const loaded = run(100, 0, undefined);
  const reading = (processes: Array<number | null>, mainThread: number | null = null) => ({ processes, mainThread });

  it('takes each process from before to after, the bench process as given', () => {
    expect(cpuOfLoad(loaded, ['upstream', 'dynalite'], reading([1000, 50, 70], 900), reading([1150, 80, 170], 1030), 12)).toEqual({
      cpuMs: 150,
      cpuMsPerRequest: 1.5,
      mainThreadCpuMs: 130,
      machineCpuMs: { upstream: 30, dynalite: 100, bench: 12 },
    });
  });

  it('gives no machine CPU when any backend could not be read, before or after', () => {
    expect(cpuOfLoad(loaded, ['upstream', 'dynalite'], reading([1000, 50, 70]), reading([1150, null, 170]), 12)).toEqual({
      cpuMs: 150,
      cpuMsPerRequest: 1.5,
    });
    expect(cpuOfLoad(loaded, ['upstream', 'dynalite'], reading([1000, null, 70]), reading([1150, 80, 170]), 12)).toEqual({
      cpuMs: 150,
      cpuMsPerRequest: 1.5,
    });
  });

  it('gives nothing when the server could not be read or no request was answered', () => {
    expect(cpuOfLoad(loaded, [], reading([null]), reading([5]), 1)).toEqual({});
    expect(cpuOfLoad(loaded, [], reading([5]), reading([null]), 1)).toEqual({});
    expect(cpuOfLoad(run(0, 0, undefined), [], reading([5]), reading([9]), 1)).toEqual({});
  });
});
