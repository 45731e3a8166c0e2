/** Properties of backoff and route planning that must hold for any input. */
import fc from 'fast-check';
import defaultRoutes from '../../../../config/routes.json';
import { retryDelayMs } from '../../../../lambdas/core/ai/retry';
import { parseRouteTable, planRoute, TASK_TYPES } from '../../../../lambdas/core/ai/route-table';

const policy = fc.record({
  attempts: fc.integer({ min: 1, max: 10 }),
  baseDelayMs: fc.integer({ min: 0, max: 60_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 60_000 }),
  maxRetryAfterMs: fc.integer({ min: 0, max: 120_000 }),
});

describe('retryDelayMs properties', () => {
  it('stays within [0, min(maxDelayMs, base * 2^(n-1))) without retry-after', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (p, retry, r) => {
        const delay = retryDelayMs(p, retry, () => r);
        const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (retry - 1));
        return Number.isInteger(delay) && delay >= 0 && (delay < ceiling || (ceiling === 0 && delay === 0));
      }),
    );
  });

  it('never waits longer than maxRetryAfterMs for a retry-after', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 1, max: 10 }), fc.integer({ min: -1000, max: 10_000_000 }), (p, retry, retryAfter) => {
        const delay = retryDelayMs(p, retry, () => 0.5, retryAfter);
        return delay >= 0 && delay <= p.maxRetryAfterMs && (retryAfter < 0 || delay === Math.min(retryAfter, p.maxRetryAfterMs));
      }),
    );
  });
});

describe('planRoute properties', () => {
  const table = parseRouteTable(defaultRoutes, 'config/routes.json');
  const models = [...new Set(Object.values(table.providers).flatMap((c) => c?.models ?? []))];

  it('keeps the task order, puts providers of a requested model no target serves first, and only ever plans a model the provider serves', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TASK_TYPES),
        fc.option(fc.oneof(fc.constantFrom(...models), fc.string()), { nil: undefined }),
        (task, requested) => {
          const planned = planRoute(table, task, requested);
          const configured = table.tasks[task].targets;
          const servedByTask = configured.some((t) => requested !== undefined && table.providers[t.provider]!.models.includes(requested));
          const added = planned.slice(0, planned.length - configured.length);
          return (
            planned.length >= configured.length &&
            (added.length === 0 || (!servedByTask && added.every((t) => t.model === requested))) &&
            (servedByTask ||
              requested === undefined ||
              added.length === Object.values(table.providers).filter((c) => c.models.includes(requested)).length) &&
            planned.slice(added.length).every((t, i) => t.provider === configured[i]!.provider) &&
            planned.every(
              (t) => table.providers[t.provider]!.models.includes(t.model) && (t.modelSource === 'requested') === (t.model === requested),
            )
          );
        },
      ),
    );
  });
});
