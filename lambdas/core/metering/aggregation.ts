/**
 * Aggregates, applied off the request path: a batch of usage records collapses into one addition
 * per cell (a day's detail cell per hour x task x provider x model, a user's day, the spend totals a
 * budget reads, a user's token settlements of a quota day), each applied with one single-item update,
 * then the budgets are checked against the totals those updates return, and each user's settlement
 * totals are brought to the user's quota counters.
 *
 * On AWS the batches come from the usage table's stream, which delivers at least once: each addition
 * then carries a guard (the stream shard and the sequence numbers of its records) and a cell applies
 * only records past the last sequence number of that shard it has applied. Locally the batches come
 * from the process itself, exactly once, without guards.
 */
import { isFailure } from '../request-summary';
import type { Telemetry } from '../telemetry';
import { errorFields, GatewayError } from '../errors';
import type { BudgetAlerts } from './alerts';
import { cellPerformance } from './performance';
import type { AggregateCounts, AggregateRow, CellPerformance, SpendTotals } from './ports';
import { ZERO_COUNTS } from './usage-report';
import type { UsageRecord } from './usage-record';

/** One aggregate cell. */
export type CellId =
  | { kind: 'detail'; day: string; hour: string; taskType: string; provider: string; model: string }
  | { kind: 'user-day'; day: string; userId: string }
  | { kind: 'day'; day: string }
  | { kind: 'month'; month: string }
  | { kind: 'user-month'; month: string; userId: string }
  /** A user's token settlements of one quota day (`day`, `month`: the quota windows the requests were admitted in). */
  | { kind: 'settlement'; userId: string; day: number; month: number };

/** What a batch adds to one cell. */
export interface CellAddition {
  cell: CellId;
  counts: AggregateCounts | undefined;
  performance: CellPerformance | undefined;
  /** The budget total this cell holds, when a budget reads it (its cost after the addition is returned). */
  budget: keyof SpendTotals | undefined;
  /** Token settlements (settlement cells only): how many, and their change in tokens; the cell's totals are returned. */
  settled?: { records: number; tokens: number };
}

/** Where a record sits in the usage table's stream. */
export interface StreamPosition {
  shard: string;
  /** The record's sequence number, zero-padded (see `padSequence`) so strings order like numbers. */
  sequence: string;
}

/** Applies an addition only over records of `shard` the cell has not applied yet (those after `first`). */
export interface CellGuard {
  shard: string;
  first: string;
  last: string;
}

/**
 * `costMicros`: the cell's cost after the update (or as found, when refused), for budget cells; else
 * `null`. `settled`: a settlement cell's totals after the update (or as found), records and tokens.
 */
export type CellResult = (
  { applied: true; costMicros: number | null } | { applied: false; appliedUpTo: string; costMicros: number | null }
) & { settled?: { records: number; tokens: number } };

/** Port: the aggregate cells. */
export interface AggregateStore {
  add(addition: CellAddition, guard: CellGuard | undefined): Promise<CellResult>;
}

/**
 * Port: the users' token quota counters, brought up to a cumulative settlement (`version` records
 * settled, `total` tokens of change, for the requests admitted in quota day `day` and month `month`).
 * Applying an older or equal version again changes nothing.
 */
export interface QuotaSettlements {
  settle(userId: string, settlement: { day: number; month: number; version: number; total: number }): Promise<void>;
}

/** Port: where the request path hands a stored record over to aggregation (nowhere on AWS: the stream does). */
export interface AggregationFeed {
  add(record: UsageRecord): void;
}

export function countsOf(record: UsageRecord): AggregateCounts {
  return {
    requests: 1,
    errors: isFailure(record.status, record.errorClass) ? 1 : 0,
    fallbacks: record.fallback ? 1 : 0,
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    cachedTokens: record.cachedTokens,
    costMicros: record.costMicros ?? 0,
    unpriced: record.costMicros === null ? 1 : 0,
    estimated: record.tokensSource === 'estimated' ? 1 : 0,
    latencyMs: record.latencyMs,
    cacheHits: record.cache === 'hit' ? 1 : 0,
    savedMicros: record.savedCostMicros ?? 0,
    routingSavedMicros:
      record.qualityCostMicros !== undefined && record.qualityCostMicros !== null && record.costMicros !== null
        ? record.qualityCostMicros - record.costMicros
        : 0,
  };
}

/** Sequence numbers are decimal strings of varying length: padded, they compare as strings in DynamoDB too. */
export function padSequence(sequence: string): string {
  return sequence.padStart(48, '0');
}

/** The cells one record adds to, and what it adds to each. */
export function additionsOf(record: UsageRecord, tracked: Record<keyof SpendTotals, boolean>): CellAddition[] {
  const counts = countsOf(record);
  const day = record.day;
  const month = day.slice(0, 7);
  const userId = record.userId ?? 'anonymous';
  const detail = { day, hour: record.hour, taskType: record.taskType ?? 'none' };
  const provider = record.provider ?? 'none';
  const model = record.model ?? 'none';
  const performance = cellPerformance(record);
  const own = performance.find((p) => p.provider === provider && p.model === model)?.performance;
  const out: CellAddition[] = [
    { cell: { kind: 'detail', ...detail, provider, model }, counts, performance: own, budget: undefined },
    // The other targets the request called get their calls and failures in their own cells.
    ...performance
      .filter((p) => p.performance !== own)
      .map((p): CellAddition => ({
        cell: { kind: 'detail', ...detail, provider: p.provider, model: p.model },
        counts: undefined,
        performance: p.performance,
        budget: undefined,
      })),
    // The user's day cell serves groupBy=user, and the per-user daily budget reads it back.
    { cell: { kind: 'user-day', day, userId }, counts, performance: undefined, budget: tracked.userDay ? 'userDay' : undefined },
  ];
  if (tracked.day) out.push({ cell: { kind: 'day', day }, counts, performance: undefined, budget: 'day' });
  if (tracked.month) out.push({ cell: { kind: 'month', month }, counts, performance: undefined, budget: 'month' });
  if (tracked.userMonth) out.push({ cell: { kind: 'user-month', month, userId }, counts, performance: undefined, budget: 'userMonth' });
  if (record.quota && record.userId !== null) {
    const { day: quotaDay, month: quotaMonth, deltaTokens } = record.quota;
    out.push({
      cell: { kind: 'settlement', userId, day: quotaDay, month: quotaMonth },
      counts: undefined,
      performance: undefined,
      budget: undefined,
      settled: { records: 1, tokens: deltaTokens },
    });
  }
  return out;
}

export function cellKey(cell: CellId): string {
  return Object.values(cell).join('\u0000');
}

function addCounts(a: AggregateCounts | undefined, b: AggregateCounts | undefined): AggregateCounts | undefined {
  if (!a || !b) return a ?? b;
  const sum = { ...a };
  for (const field of Object.keys(sum) as Array<keyof AggregateCounts>) sum[field] += b[field];
  return sum;
}

function addHistogram(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [bucket, n] of Object.entries(b)) sum[bucket] = (sum[bucket] ?? 0) + n;
  return sum;
}

function addPerformance(a: CellPerformance | undefined, b: CellPerformance | undefined): CellPerformance | undefined {
  if (!a || !b) return a ?? b;
  return {
    calls: a.calls + b.calls,
    callFailures: a.callFailures + b.callFailures,
    fallbacksFrom: a.fallbacksFrom + b.fallbacksFrom,
    latency: addHistogram(a.latency, b.latency),
    firstEvent: addHistogram(a.firstEvent, b.firstEvent),
  };
}

interface Contribution {
  addition: CellAddition;
  record: UsageRecord;
  position: StreamPosition | undefined;
}

/** One addition per cell for a set of contributions to it. */
export function collapse(contributions: readonly Contribution[]): CellAddition {
  const first = contributions[0]!.addition;
  return contributions.slice(1).reduce<CellAddition>(
    (sum, { addition }) => ({
      ...sum,
      counts: addCounts(sum.counts, addition.counts),
      performance: addPerformance(sum.performance, addition.performance),
      ...(sum.settled && addition.settled
        ? { settled: { records: sum.settled.records + addition.settled.records, tokens: sum.settled.tokens + addition.settled.tokens } }
        : {}),
    }),
    { ...first },
  );
}

function guardOf(contributions: readonly Contribution[]): CellGuard | undefined {
  const positions = contributions.map((c) => c.position);
  if (positions.some((p) => p === undefined)) return undefined;
  const sequences = positions.map((p) => p!.sequence).sort();
  return { shard: positions[0]!.shard, first: sequences[0]!, last: sequences.at(-1)! };
}

/** Applies batches of records to the aggregates and checks the budgets. */
export class UsageAggregator {
  constructor(
    private readonly store: AggregateStore,
    private readonly budgets: BudgetAlerts,
    private readonly tracked: Record<keyof SpendTotals, boolean>,
    private readonly telemetry: Pick<Telemetry, 'error'>,
    /** Where settlement totals go (the rate limiter's quota counters). */
    private readonly settlements: QuotaSettlements,
    private readonly options: { concurrency: number } = { concurrency: 16 },
  ) {}

  /**
   * Adds the records (of one stream shard, when positioned) to their cells: one update per cell.
   * Throws when a cell could not be updated; applied cells stay applied (a guarded retry skips them).
   */
  async apply(batch: ReadonlyArray<{ record: UsageRecord; position?: StreamPosition | undefined }>): Promise<{ cells: number }> {
    const shards = new Set(batch.flatMap((b) => (b.position ? [b.position.shard] : [])));
    if (shards.size > 1) throw new Error('a batch of usage records spans more than one stream shard');
    const byCell = new Map<string, Contribution[]>();
    for (const { record, position } of batch) {
      for (const addition of additionsOf(record, this.tracked)) {
        const key = cellKey(addition.cell);
        const list = byCell.get(key) ?? [];
        list.push({ addition, record, position });
        byCell.set(key, list);
      }
    }
    const groups = [...byCell.values()];
    const failures: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const group = groups[next++]!;
        try {
          await this.applyCell(group);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, groups.length) }, worker));
    if (failures.length > 0) throw new AggregationError(failures.length, groups.length, failures);
    return { cells: groups.length };
  }

  private async applyCell(contributions: Contribution[]): Promise<void> {
    let pending = contributions;
    let total: number | null = null;
    let settled: CellResult['settled'];
    for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
      const result = await this.store.add(collapse(pending), guardOf(pending));
      total = result.costMicros;
      settled = result.settled;
      if (result.applied) {
        pending = [];
        break;
      }
      // A re-delivered batch: the cell already holds this shard's records up to `appliedUpTo`.
      pending = pending.filter((c) => c.position!.sequence > result.appliedUpTo);
    }
    if (pending.length > 0) throw new Error(`aggregate cell ${cellKey(contributions[0]!.addition.cell)} kept changing under its guard`);
    const { cell } = contributions[0]!.addition;
    if (cell.kind === 'settlement') {
      // Whether this delivery applied the cell or an earlier one did: the totals are cumulative, so
      // bringing the counters up to them again is harmless, and catches up a settle that failed before.
      if (!settled) throw new Error(`settlement cell ${cellKey(cell)} returned no totals`);
      try {
        await this.settlements.settle(cell.userId, { day: cell.day, month: cell.month, version: settled.records, total: settled.tokens });
      } catch (error) {
        // Logged, not thrown: a failing limiter table must not hold back every aggregate and budget of
        // the shard. The cell keeps the totals: the user's next batch of the day brings the counters up
        // to them (until then the reservations stand in for the real use).
        this.telemetry.error('token settlement not applied', { userId: cell.userId, quotaDay: cell.day, error: errorFields(error) });
      }
      return;
    }
    const { budget } = contributions[0]!.addition;
    if (!budget || total === null) return;
    // Checked whether this delivery applied the cell or an earlier one did (and then failed before
    // its check). An alert that cannot go out now is logged; the next batch checks again.
    const sample = contributions[0]!.record;
    try {
      await this.budgets.checkTotal(budget, total, { day: sample.day, month: sample.day.slice(0, 7) }, sample.userId);
    } catch (error) {
      this.telemetry.error('budget alert not sent', { scope: budget, day: sample.day, error: errorFields(error) });
    }
  }
}

export class AggregationError extends GatewayError {
  constructor(
    failed: number,
    total: number,
    /** Every cell's failure (the first is the cause). */
    readonly failures: unknown[],
  ) {
    super(`${failed} of ${total} aggregate cells not updated`, { cause: failures[0] });
  }
}

/**
 * The in-process consumer (local runs, tests): records handed over by the request path wait at most
 * `batchMs` (or until `maxBatch` are waiting), then go to the aggregator as one batch. Every flush
 * is tracked as post-response work, so draining the process waits for it.
 */
export class AggregationQueue implements AggregationFeed {
  private pending: UsageRecord[] = [];
  private scheduled = false;
  /** Counts flushes: a timer set before the last flush finds it changed and leaves the records after it alone. */
  private flushes = 0;

  constructor(
    private readonly aggregator: Pick<UsageAggregator, 'apply'>,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly track: (work: Promise<unknown>) => void,
    private readonly telemetry: Telemetry,
    private readonly options: { batchMs: number; maxBatch: number },
  ) {}

  add(record: UsageRecord): void {
    this.pending.push(record);
    if (this.pending.length >= this.options.maxBatch) {
      this.track(this.flush());
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Each batch waits its own `batchMs` from its first record. A timer whose batch has already gone
    // (full at `maxBatch`) does nothing: it used to flush the next batch early, a few records at a time.
    const flushes = this.flushes;
    this.track(this.sleep(this.options.batchMs).then(() => (this.flushes === flushes ? this.flush() : undefined)));
  }

  /** Applies what is waiting now. Never throws: a failed batch is logged (the records themselves are stored). */
  async flush(): Promise<void> {
    this.flushes += 1;
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      await this.aggregator.apply(batch.map((record) => ({ record })));
    } catch (error) {
      this.telemetry.error('usage aggregates not updated', {
        requestIds: batch.map((r) => r.requestId),
        error: errorFields(error),
      });
    }
  }
}

/** What a day's cells held before a rebuild: the day's sum and each user's (what the month totals got from it). */
export interface DayBaseline {
  day: AggregateCounts | undefined;
  users: Record<string, AggregateCounts>;
}

/** Port: what a rebuild reads and replaces of a day's cells. */
export interface DayCellStore extends AggregateStore {
  /** The detail and user rows of the days `from`..`to` as stored (every write shard summed into its row). */
  aggregates(from: string, to: string): Promise<AggregateRow[]>;
  /** Deletes every cell item of the day (detail cells on every write shard, user cells, the day total); their count. */
  clearDay(day: string): Promise<number>;
  /** The baseline a rebuild of the day saved before clearing it, if that rebuild did not finish. */
  rebuildBaseline(day: string): Promise<DayBaseline | undefined>;
  saveRebuildBaseline(day: string, baseline: DayBaseline): Promise<void>;
  dropRebuildBaseline(day: string): Promise<void>;
}

function subtractCounts(a: AggregateCounts | undefined, b: AggregateCounts | undefined): AggregateCounts {
  const difference = { ...(a ?? ZERO_COUNTS) };
  for (const field of Object.keys(difference) as Array<keyof AggregateCounts>) difference[field] -= b?.[field] ?? 0;
  return difference;
}

function countsOfRow(row: AggregateRow): AggregateCounts {
  return Object.fromEntries(
    Object.keys(ZERO_COUNTS).map((field) => [field, row[field as keyof AggregateCounts]]),
  ) as unknown as AggregateCounts;
}

/** A day's cells as they stand: the sum of its detail rows, and its user rows. */
async function baselineOf(store: DayCellStore, day: string): Promise<DayBaseline> {
  const rows = await store.aggregates(day, day);
  const users: Record<string, AggregateCounts> = {};
  let sum: AggregateCounts | undefined;
  for (const row of rows) {
    if (row.kind === 'detail') sum = addCounts(sum, countsOfRow(row));
    else users[row.userId] = addCounts(users[row.userId], countsOfRow(row))!;
  }
  return { day: sum, users };
}

/**
 * Rebuilds a day's aggregates from its usage records (after a batch went to the dead-letter queue, or
 * after a bug): the day's cells are deleted and written again from the records, and the month's budget
 * totals get the day's own change (rebuilt minus what the day's cells held), by addition, so batches
 * the stream consumer applies to other days meanwhile are kept. What the cells held is saved before
 * they are cleared and dropped at the end: an interrupted rebuild, run again, corrects the month by
 * the same change once. Running it twice leaves the same cells.
 *
 * The rebuilt cells carry no stream markers: rebuild only a day whose records the stream can no longer
 * deliver (older than its 24-hour retention), and drop that day's dead-lettered batches instead of
 * replaying them.
 */
export async function rebuildDay(
  day: string,
  records: readonly UsageRecord[],
  store: DayCellStore,
  tracked: Record<keyof SpendTotals, boolean>,
): Promise<{ records: number; cells: number; deleted: number }> {
  const byCell = new Map<string, Contribution[]>();
  const ofDay = records.filter((r) => r.day === day);
  for (const record of ofDay) {
    for (const addition of additionsOf(record, tracked)) {
      // Month totals are corrected below; settlements are not the day's cells (and are never rebuilt).
      if (addition.cell.kind === 'month' || addition.cell.kind === 'user-month' || addition.cell.kind === 'settlement') continue;
      const key = cellKey(addition.cell);
      const list = byCell.get(key);
      if (list) list.push({ addition, record, position: undefined });
      else byCell.set(key, [{ addition, record, position: undefined }]);
    }
  }
  const rebuilt = [...byCell.values()].map((contributions) => ({ ...collapse(contributions), budget: undefined }));

  // What the month totals got from this day: saved before the cells go, kept if a previous run was cut short.
  let baseline = await store.rebuildBaseline(day);
  if (!baseline) {
    baseline = await baselineOf(store, day);
    await store.saveRebuildBaseline(day, baseline);
  }
  const deleted = await store.clearDay(day);
  for (const addition of rebuilt) await store.add(addition, undefined);

  let corrections = 0;
  const month = day.slice(0, 7);
  const correct = async (cell: CellId, rebuiltCounts: AggregateCounts | undefined, before: AggregateCounts | undefined) => {
    const delta = subtractCounts(rebuiltCounts, before);
    if (Object.values(delta).every((n) => n === 0)) return;
    await store.add({ cell, counts: delta, performance: undefined, budget: undefined }, undefined);
    corrections += 1;
  };
  const userCounts = new Map(rebuilt.flatMap((a) => (a.cell.kind === 'user-day' ? [[a.cell.userId, a.counts] as const] : [])));
  if (tracked.month) {
    const dayCounts = [...userCounts.values()].reduce<AggregateCounts | undefined>((sum, c) => addCounts(sum, c), undefined);
    await correct({ kind: 'month', month }, dayCounts, baseline.day);
  }
  if (tracked.userMonth) {
    for (const userId of new Set([...userCounts.keys(), ...Object.keys(baseline.users)]))
      await correct({ kind: 'user-month', month, userId }, userCounts.get(userId), baseline.users[userId]);
  }
  await store.dropRebuildBaseline(day);
  return { records: ofDay.length, cells: rebuilt.length + corrections, deleted };
}
