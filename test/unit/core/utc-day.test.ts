import { daysBetween, shiftDay, UtcDaySchema } from '../../../lambdas/core/utc-day';

describe('UTC days', () => {
  it('lists every day of a range, both ends included, across months and leap days', () => {
    expect(daysBetween('2028-02-27', '2028-03-01')).toEqual(['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
    expect(daysBetween('2026-11-27', '2026-11-27')).toEqual(['2026-11-27']);
    expect(daysBetween('2026-11-28', '2026-11-27')).toEqual([]);
  });

  it('ends at the last day the schema accepts (the day after it is written +010000-01-01 and sorts before it)', () => {
    expect(UtcDaySchema.safeParse('9999-12-31').success).toBe(true);
    expect(shiftDay('9999-12-31', 1) < '9999-12-31').toBe(true);
    expect(daysBetween('9999-12-29', '9999-12-31')).toEqual(['9999-12-29', '9999-12-30', '9999-12-31']);
  });
});
