/**
 * Scheduled Lambda (EventBridge, 00:15 UTC): reports the previous UTC day. A manual invocation may
 * name the day (`{"day":"2026-11-22"}`); re-running a day stores the same report and does not
 * announce it twice.
 */
import * as z from 'zod';
import { previousUtcDay } from '../core/metering/daily-report';
import { formatIssues, ValidationError } from '../core/errors';
import { UtcDaySchema } from '../core/utc-day';
import { loadConfig } from '../shared/config';
import { buildReporter } from '../shared/container';

const reporter = buildReporter(loadConfig('aws'));

const EventSchema = z.object({ day: UtcDaySchema.optional(), time: z.string().optional() }).loose();

export async function handler(event: unknown): Promise<{ day: string; announced: boolean; requests: number; costUsd: number }> {
  const parsed = EventSchema.safeParse(event ?? {});
  if (!parsed.success) throw new ValidationError(`invalid event: ${formatIssues(parsed.error)}`, null);
  // The schedule's `time` is when it fired (00:15 UTC): the report is for the day before it.
  const firedAt = parsed.data.time ? Date.parse(parsed.data.time) : Date.now();
  const day = parsed.data.day ?? previousUtcDay(firedAt);
  const { report, announced } = await reporter.run(day);
  reporter.logger.info('daily report', { day, announced, totals: report.totals });
  return { day, announced, requests: report.totals.requests, costUsd: report.totals.costUsd };
}
