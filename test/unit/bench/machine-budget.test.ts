import { machineBudget, type MeasuredRun } from '../../../bench/processes';

const run = (requests: number, cpuMs: number, machineCpuMs: Record<string, number>): MeasuredRun => ({
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
  machineCpuMs,
});

describe('machineBudget', () => {
  it('sums each process over every load, per request, and divides the cores by the total', () => {
    const budget = machineBudget(
      [
        run(1000, 1500, { loadGenerator: 200, upstream: 300, dynalite: 900 }),
        run(3000, 4500, { loadGenerator: 600, upstream: 900, dynalite: 2700 }),
      ],
      2,
      'server',
    );
    // 4,000 requests: server 6,000 ms, load generator 800, upstream 1,200, dynalite 3,600: 2.9 ms a request.
    expect(budget).toEqual({
      msPerRequest: { server: 1.5, loadGenerator: 0.2, upstream: 0.3, dynalite: 0.9 },
      totalMsPerRequest: 2.9,
      ceilingReqPerSec: 690,
    });
  });

  it('says nothing when a load was not measured (no /proc)', () => {
    const unmeasured: MeasuredRun = { ...run(10, 1, {}), cpuMs: undefined, machineCpuMs: undefined };
    expect(machineBudget([run(10, 1, {}), unmeasured], 2, 'server')).toBeUndefined();
    expect(machineBudget([], 2, 'server')).toBeUndefined();
  });
});
