/**
 * `npm run report -- --date YYYY-MM-DD`: builds the daily cost report of that UTC day on the running
 * local gateway (`npm start`; the same code the scheduled Lambda runs), prints it, and writes
 * `.local/reports/<date>.json` and `.txt`. Re-running gives the same report and announces it once.
 *
 *   npm run report -- --date 2026-11-22 [--url http://127.0.0.1:3000] [--key sk-local-admin-key] [--out .local/reports]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { previousUtcDay } from '../lambdas/core/metering/daily-report';
import { UtcDaySchema } from '../lambdas/core/utc-day';
import { answerHelp } from './help';

answerHelp(__filename);

async function main() {
  const { values } = parseArgs({
    options: {
      date: { type: 'string', default: previousUtcDay(Date.now()) },
      url: { type: 'string', default: process.env['GATEWAY_URL'] ?? `http://127.0.0.1:${process.env['PORT'] ?? 3000}` },
      key: { type: 'string', default: process.env['LOCAL_ADMIN_KEY'] ?? 'sk-local-admin-key' },
      out: { type: 'string', default: join('.local', 'reports') },
    },
  });
  if (!UtcDaySchema.safeParse(values.date).success) throw new Error('--date must be a UTC date, YYYY-MM-DD');
  let response: Response;
  try {
    response = await fetch(`${values.url}/admin/reports/daily?date=${values.date}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${values.key}` },
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new Error(`cannot reach the gateway at ${values.url} (${(error as Error).message}); start it with npm start`);
  }
  const body = (await response.json()) as { report?: unknown; text?: string; announced?: boolean; error?: { message: string } };
  if (!response.ok || !body.text) throw new Error(`the gateway answered ${response.status}: ${body.error?.message ?? 'no report'}`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, `${values.date}.json`), `${JSON.stringify(body.report, null, 2)}\n`);
  writeFileSync(join(values.out, `${values.date}.txt`), body.text);
  process.stdout.write(body.text);
  process.stdout.write(
    `\nwritten to ${join(values.out, `${values.date}.json`)} and .txt${body.announced ? '; announced on the alerts channel' : ' (already announced before)'}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`report: ${(error as Error).message}\n`);
  process.exit(1);
});
