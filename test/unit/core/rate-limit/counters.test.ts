import { planAdmission, type CounterSpec } from '../../../../lambdas/core/rate-limit/counters';
import type { CounterState } from '../../../../lambdas/core/rate-limit/ports';
import { ScriptedRandom } from '../../../helpers/fakes';
import { windowIndex } from '../../../../lambdas/core/rate-limit/windows';

const now = Date.parse('2026-11-22T10:14:30.000Z');
const minute = windowIndex('minute', now);
const day = windowIndex('day', now);
const specs: CounterSpec[] = [
  { name: 'm', window: 'minute', limit: 10, add: 1 },
  { name: 'd', window: 'day', limit: 2000, add: 1 },
];

const plan = (list: CounterSpec[], at: number, state: CounterState | undefined) => planAdmission(list, at, state, new ScriptedRandom());

describe('planAdmission', () => {
  it('guesses that every window is current when nothing is known: one conditional add', () => {
    expect(plan(specs, now, undefined)).toEqual({
      kind: 'write',
      writes: [
        { name: 'm', kind: 'add', window: minute, add: 1, limit: 10 },
        { name: 'd', kind: 'add', window: day, add: 1, limit: 2000 },
      ],
      undo: [
        { kind: 'fixed', name: 'm', window: minute, field: 'count', add: -1 },
        { kind: 'fixed', name: 'd', window: day, field: 'count', add: -1 },
      ],
    });
  });

  it('restarts rolled-over windows pinned to the window it read, and adds to current ones', () => {
    const planned = plan(specs, now, {
      m: { window: minute - 1, count: 10, violations: 4 },
      d: { window: day, count: 11, violations: 4 },
    });
    expect(planned).toMatchObject({
      kind: 'write',
      writes: [
        { name: 'm', kind: 'reset', window: minute, expected: minute - 1, add: 1 },
        { name: 'd', kind: 'add', window: day, add: 1, limit: 2000 },
      ],
    });
  });

  it('creates absent counters only if they are still absent', () => {
    const planned = plan(specs, now, {});
    expect(planned).toMatchObject({
      kind: 'write',
      writes: [
        { name: 'm', kind: 'reset', window: minute, expected: null, add: 1 },
        { name: 'd', kind: 'reset', window: day, expected: null, add: 1 },
      ],
    });
  });

  it('refuses when any current window is full, naming every full one', () => {
    expect(plan(specs, now, { m: { window: minute, count: 10, violations: 0 }, d: { window: day, count: 5, violations: 0 } })).toEqual({
      kind: 'refuse',
      blocking: ['m'],
    });
    expect(plan(specs, now, { m: { window: minute, count: 10, violations: 0 }, d: { window: day, count: 2000, violations: 0 } })).toEqual({
      kind: 'refuse',
      blocking: ['m', 'd'],
    });
  });

  it('refuses everything under a limit of 0, and limits nothing without a limit', () => {
    expect(plan([{ name: 'm', window: 'minute', limit: 0, add: 1 }], now, {})).toEqual({ kind: 'refuse', blocking: ['m'] });
    expect(
      plan([{ name: 'm', window: 'minute', limit: undefined, add: 1 }], now, { m: { window: minute, count: 1e9, violations: 0 } }),
    ).toMatchObject({
      kind: 'write',
    });
  });

  it('counts in a window ahead of its clock instead of undoing another instance’s counts', () => {
    const planned = plan(specs, now, {
      m: { window: minute + 1, count: 3, violations: 0 },
      d: { window: day, count: 3, violations: 0 },
    });
    expect(planned).toMatchObject({
      kind: 'write',
      writes: [
        { name: 'm', kind: 'add', window: minute + 1 },
        { name: 'd', kind: 'add' },
      ],
    });
  });
});
