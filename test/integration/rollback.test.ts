/**
 * Rollback drill on a running local gateway: under continuous traffic, flip the rollout flag in the
 * flags file and measure how long until every request takes the new path. It must happen within the
 * refresh interval, with no failed request during the switch.
 */
import { chatBody, startTestGateway, type TestGateway } from '../helpers/local-gateway';
import { FlagsFile } from '../helpers/flags';

const REFRESH_SECONDS = 1;

interface Sample {
  startedAt: number;
  status: number;
  path: string | null;
}

describe('rollback under traffic', () => {
  let gw: TestGateway;
  const flags = new FlagsFile({ enabled: true, rollout_percentage: 100 });
  beforeAll(async () => {
    gw = await startTestGateway({ env: { FLAGS_FILE: flags.path, FLAGS_REFRESH_SECONDS: String(REFRESH_SECONDS) } });
  });
  afterAll(() => gw.close());

  /** Sends requests from 4 concurrent clients until `stop()`; returns every sample. */
  function traffic() {
    const samples: Sample[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const startedAt = Date.now();
        const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
        await response.arrayBuffer();
        samples.push({ startedAt, status: response.status, path: response.headers.get('x-orchestrator-path') });
      }
    };
    const clients = Promise.all(Array.from({ length: 4 }, client));
    return {
      samples,
      stop: async () => {
        running = false;
        await clients;
        return samples;
      },
    };
  }

  /** Time from the flip until the last request that still took the old path started. */
  function switchTime(samples: Sample[], flippedAt: number, to: string): number {
    const late = samples.filter((s) => s.startedAt >= flippedAt && s.path !== to);
    return late.length === 0 ? 0 : Math.max(...late.map((s) => s.startedAt)) - flippedAt;
  }

  it.each([
    ['rolls everyone back to the legacy path', { enabled: false }, 'legacy'],
    ['rolls everyone forward to the orchestrator again', { enabled: true, rollout_percentage: 100 }, 'orchestrated'],
  ] as const)('%s within the refresh interval, with no failed request', async (_name, rollout, to) => {
    const run = traffic();
    await new Promise((r) => setTimeout(r, 500));
    const flippedAt = Date.now();
    flags.set(rollout);
    await new Promise((r) => setTimeout(r, REFRESH_SECONDS * 1000 + 1000));
    const samples = await run.stop();
    const after = samples.filter((s) => s.startedAt >= flippedAt);
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    const elapsed = switchTime(samples, flippedAt, to);
    // One refresh interval, plus the time one request takes to pass through.
    expect(elapsed).toBeLessThanOrEqual(REFRESH_SECONDS * 1000 + 250);
    // Every request in the last half second took the new path.
    expect(after.filter((s) => s.startedAt >= flippedAt + REFRESH_SECONDS * 1000 + 500).every((s) => s.path === to)).toBe(true);
    process.stdout.write(`rollback drill (${to}): switched ${elapsed} ms after the flip, ${samples.length} requests, 0 failed\n`);
  });

  it('keeps the last good flags when the file is broken', async () => {
    flags.write('{ "version": "1", "flags": ');
    await new Promise((r) => setTimeout(r, REFRESH_SECONDS * 1000 + 300));
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-path')).toBe('orchestrated');
  });
});
