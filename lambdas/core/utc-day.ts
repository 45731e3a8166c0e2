/** UTC calendar days as `YYYY-MM-DD` strings: the keys of usage aggregates, reports and admin queries. */
import * as z from 'zod';

const DAY_MS = 86_400_000;

/** A UTC date written `YYYY-MM-DD` that names a real day. */
export const UtcDaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a UTC date, YYYY-MM-DD')
  // Date.parse rolls 2026-02-30 over to March: the day must read back as itself.
  .refine((d) => {
    const ms = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === d;
  }, 'is not a day of the calendar');

/** The UTC day containing the instant `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC at the start of `day` (epoch ms). */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The day `n` days after `day` (before it when negative). */
export function shiftDay(day: string, n: number): string {
  return utcDay(dayStart(day) + n * DAY_MS);
}

/**
 * Every day from `from` to `to`, both included. Counted in epoch days, not by comparing strings: the
 * day after 9999-12-31 is written `+010000-01-01`, which sorts before it, and a string loop never ended.
 */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = dayStart(from), end = dayStart(to); ms <= end; ms += DAY_MS) days.push(utcDay(ms));
  return days;
}
