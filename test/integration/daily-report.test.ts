/**
 * The daily report on the real app and dynalite: a seeded day (real requests at a fixed clock), the
 * admin route the local script uses, the script itself, idempotent re-runs, and the scheduled Lambda.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CapturingAlerts, FakeClock } from '../helpers/fakes';
import { ADMIN_KEY, chatBody, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const run = promisify(execFile);

describe('daily report', () => {
  let gw: TestGateway;
  const clock = new FakeClock(Date.parse('2026-11-22T09:00:00.000Z'));
  const alerts = new CapturingAlerts();
  beforeAll(async () => {
    gw = await startTestGateway({ overrides: { clock, alerts } });
    // The seeded day: 5 answered requests (one after a fallback), 2 that failed everywhere.
    for (let i = 0; i < 4; i += 1) await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    gw.sims.openai!.setFault({ kind: 'status', status: 503 }, 2);
    await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    for (let i = 0; i < 2; i += 1) await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    gw.sims.openai!.setFault(undefined);
    gw.sims['azure-openai']!.setFault(undefined);
    await gw.gateway.background.drain();
    clock.advance(16 * 3_600_000); // the next day, 01:00 UTC
  });
  afterAll(() => gw.close());

  it('reports the seeded day with the totals computed from its records', async () => {
    const records = await gw.gateway.usage.recordsOfDay('2026-11-22');
    expect(records).toHaveLength(7);
    const response = await gw.call('/admin/reports/daily?date=2026-11-22', { method: 'POST', key: ADMIN_KEY });
    expect(response.status).toBe(200);
    const { report, text, announced } = await response.json();
    const cost = records.reduce((a, r) => a + (r.costMicros ?? 0), 0);
    expect(report.totals).toMatchObject({
      requests: 7,
      errors: 2,
      fallbacks: 1,
      inputTokens: records.reduce((a, r) => a + r.inputTokens, 0),
      outputTokens: records.reduce((a, r) => a + r.outputTokens, 0),
      costMicros: cost,
    });
    expect(report.providers.map((p: { provider: string; requests: number }) => [p.provider, p.requests])).toEqual([
      ['openai', 4],
      ['azure-openai', 1],
    ]);
    expect(report.topUsers).toEqual([{ userId: 'local-user', requests: 7, costMicros: cost, costUsd: cost / 1e6 }]);
    expect(report.previousDay).toMatchObject({ day: '2026-11-21', totals: { requests: 0 } });
    expect(text).toContain('Requests 7, errors 2');
    expect(announced).toBe(true);
    const announcements = alerts.sent.filter((a) => a.kind === 'report');
    expect(announcements).toHaveLength(1);
    expect(announcements[0]!.message).toBe(text);
  });

  it('gives the same report on a re-run and does not announce it twice', async () => {
    const first = await (await gw.call('/admin/reports/daily?date=2026-11-22', { method: 'POST', key: ADMIN_KEY })).json();
    const second = await (await gw.call('/admin/reports/daily?date=2026-11-22', { method: 'POST', key: ADMIN_KEY })).json();
    expect(second.report).toEqual(first.report);
    expect(second.text).toBe(first.text);
    expect([first.announced, second.announced]).toEqual([false, false]);
    expect(alerts.sent.filter((a) => a.kind === 'report')).toHaveLength(1);
    const stored = await (await gw.call('/admin/reports/daily?date=2026-11-22', { key: ADMIN_KEY })).json();
    expect(stored).toEqual({ report: first.report, text: first.text });
    expect((await gw.call('/admin/reports/daily?date=2020-01-01', { key: ADMIN_KEY })).status).toBe(404);
    expect((await gw.call('/admin/reports/daily?date=yesterday', { method: 'POST', key: ADMIN_KEY })).status).toBe(400);
  });

  it('npm run report prints it and writes the JSON and text files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'reports-'));
    const { stdout } = await run(
      'npx',
      ['tsx', 'scripts/report.ts', '--date', '2026-11-22', '--url', gw.url, '--key', ADMIN_KEY, '--out', out],
      { cwd: join(__dirname, '..', '..') },
    );
    expect(stdout).toContain('Hybrid Orchestrator daily report for 2026-11-22 (UTC)');
    expect(stdout).toContain('already announced before');
    expect(JSON.parse(readFileSync(join(out, '2026-11-22.json'), 'utf8')).totals.requests).toBe(7);
    expect(readFileSync(join(out, '2026-11-22.txt'), 'utf8')).toContain('Requests 7, errors 2');
  }, 30_000);
});
