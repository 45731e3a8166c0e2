import {
  formatResetDuration,
  secondsUntilReset,
  windowEndOf,
  windowIndex,
  windowReset,
  windowStartOf,
} from '../../../../lambdas/core/rate-limit/windows';

const at = (iso: string) => Date.parse(iso);

describe('calendar windows (UTC)', () => {
  it('keeps 59.999 s in the same minute and 60.000 s in the next', () => {
    const start = at('2026-11-22T10:14:00.000Z');
    expect(windowIndex('minute', start + 59_999)).toBe(windowIndex('minute', start));
    expect(windowIndex('minute', start + 60_000)).toBe(windowIndex('minute', start) + 1);
    expect(secondsUntilReset('minute', start + 59_999)).toBe(1);
    expect(secondsUntilReset('minute', start)).toBe(60);
    expect(new Date(windowReset('minute', start + 59_999)).toISOString()).toBe('2026-11-22T10:15:00.000Z');
  });

  it('rolls the hour and the day at midnight UTC', () => {
    const beforeMidnight = at('2026-11-22T23:59:59.999Z');
    const midnight = at('2026-11-23T00:00:00.000Z');
    expect(windowIndex('day', midnight)).toBe(windowIndex('day', beforeMidnight) + 1);
    expect(windowIndex('hour', midnight)).toBe(windowIndex('hour', beforeMidnight) + 1);
    expect(new Date(windowReset('day', beforeMidnight)).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(secondsUntilReset('day', at('2026-11-22T23:59:30.000Z'))).toBe(30);
    expect(secondsUntilReset('hour', at('2026-11-22T23:00:00.000Z'))).toBe(3600);
  });

  it('ends months on their last millisecond, including 31-day months and year ends', () => {
    expect(windowIndex('month', at('2026-01-31T23:59:59.999Z'))).toBe(windowIndex('month', at('2026-01-01T00:00:00.000Z')));
    expect(windowIndex('month', at('2026-02-01T00:00:00.000Z'))).toBe(windowIndex('month', at('2026-01-31T23:59:59.999Z')) + 1);
    const december = windowIndex('month', at('2026-12-15T00:00:00.000Z'));
    expect(new Date(windowEndOf('month', december)).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(new Date(windowStartOf('month', december + 1)).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('counts a leap day in February and resets the month on March 1st', () => {
    const leapDay = at('2028-02-29T12:00:00.000Z');
    expect(windowIndex('month', leapDay)).toBe(windowIndex('month', at('2028-02-01T00:00:00.000Z')));
    expect(new Date(windowReset('month', leapDay)).toISOString()).toBe('2028-03-01T00:00:00.000Z');
    expect(new Date(windowReset('day', leapDay)).toISOString()).toBe('2028-03-01T00:00:00.000Z');
    expect(new Date(windowReset('month', at('2026-02-28T23:59:59.999Z'))).toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  it('gives every window a start before and an end after each instant', () => {
    for (const ms of [0, 1, at('2026-11-22T10:14:59.999Z'), at('2028-02-29T23:59:59.999Z')]) {
      for (const kind of ['minute', 'hour', 'day', 'month'] as const) {
        const index = windowIndex(kind, ms);
        expect(windowStartOf(kind, index)).toBeLessThanOrEqual(ms);
        expect(windowEndOf(kind, index)).toBeGreaterThan(ms);
      }
    }
  });
});

describe('retry timing', () => {
  it('rounds Retry-After up to whole seconds, never 0', () => {
    expect(secondsUntilReset('minute', at('2026-11-22T10:14:58.001Z'))).toBe(2);
    expect(secondsUntilReset('minute', at('2026-11-22T10:14:59.999Z'))).toBe(1);
  });

  it('formats reset durations like OpenAI headers', () => {
    expect(formatResetDuration(250)).toBe('250ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(59_001)).toBe('1m0s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
    expect(formatResetDuration(-5)).toBe('0ms');
  });
});
