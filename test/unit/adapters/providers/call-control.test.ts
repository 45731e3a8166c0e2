/** `CallControl`'s idle wait: measured from the last event, however many events came before it. */
import { CallControl } from '../../../../lambdas/adapters/providers/call-control';
import type { ProviderCall } from '../../../../lambdas/core/ai/ports';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function control(idleMs: number): CallControl {
  const call = {
    upstreamModel: 'm',
    body: {},
    timeouts: { connectMs: 1000, firstByteMs: 5000, idleMs, totalMs: 60_000 },
    signal: new AbortController().signal,
  } as unknown as ProviderCall;
  return new CallControl(call);
}

test('events closer together than the idle wait keep a call alive past it; silence after the last one ends it', async () => {
  const idleMs = 80;
  const c = control(idleMs);
  try {
    // Five events 40 ms apart: 200 ms in all, well past one idle wait, never idle for long.
    for (let i = 0; i < 5; i++) {
      c.progress();
      await sleep(40);
    }
    expect(c.timedOut).toBeUndefined();
    expect(c.controller.signal.aborted).toBe(false);
    const last = performance.now();
    c.progress();
    await new Promise<void>((resolve) => c.controller.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(c.timedOut).toBe('idle');
    // Not before the wait since the last event (timers may fire a millisecond early on their coarser clock).
    expect(performance.now() - last).toBeGreaterThanOrEqual(idleMs - 1);
  } finally {
    c.finish();
  }
});

test('finish stops the idle wait', async () => {
  const c = control(30);
  c.progress();
  c.finish();
  await sleep(60);
  expect(c.timedOut).toBeUndefined();
  expect(c.controller.signal.aborted).toBe(false);
});
