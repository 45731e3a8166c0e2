/**
 * The flags in force: fetched from a `FlagSource` (AppConfig on AWS, a file locally), validated,
 * cached in memory and refreshed at most every `refreshMs`. An invalid document is rejected and the
 * last good one stays in force; a failing source keeps the last good flags (and says they are stale);
 * with nothing ever loaded, the safe defaults apply (everyone on the legacy path).
 */
import { InvalidFlagsError, parseFlagDocument, type FlagValues } from './flags';
import type { Clock } from '../ports';
import { errorFields } from '../errors';
import type { Telemetry } from '../telemetry';
import type { FlagSource } from './ports';
import { within } from '../within';

export interface FlagSnapshot {
  values: FlagValues;
  /** When the values were last confirmed current by the source (ms), or null for the defaults. */
  confirmedAt: number | null;
  origin: 'source' | 'default';
  stale: boolean;
}

export interface FlagStoreOptions {
  /** How often the source is asked (at most 45 s on AWS so a rollback lands within 5 minutes). */
  refreshMs: number;
  /** Flags older than this are reported stale, and a request waits (up to `waitMs`) for a refresh. */
  maxStaleMs: number;
  /** Longest a request waits for a due refresh before using what it has. */
  waitMs: number;
  /** What applies before any document was loaded (the legacy path by default). */
  defaults: FlagValues;
}

export class FlagStore {
  private values: FlagValues | undefined;
  private confirmedAt: number | null = null;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly source: FlagSource,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    private readonly options: FlagStoreOptions,
  ) {}

  /** The flags for a request: cached; refreshed in the background when due, awaited (briefly) when very old. */
  async current(): Promise<FlagSnapshot> {
    const now = this.clock.now();
    if (now - this.lastAttempt >= this.options.refreshMs) {
      const refreshing = this.refresh();
      const tooOld = this.confirmedAt === null || now - this.confirmedAt >= this.options.maxStaleMs;
      if (tooOld) await within(refreshing, this.options.waitMs, undefined);
    }
    return this.snapshot();
  }

  snapshot(): FlagSnapshot {
    if (!this.values) return { values: this.options.defaults, confirmedAt: null, origin: 'default', stale: true };
    const stale = this.confirmedAt === null || this.clock.now() - this.confirmedAt >= this.options.maxStaleMs;
    return { values: this.values, confirmedAt: this.confirmedAt, origin: 'source', stale };
  }

  /** Asks the source once (single flight); never throws. */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.lastAttempt = this.clock.now();
    let document: unknown;
    try {
      document = await this.source.fetch();
    } catch (error) {
      this.telemetry.error('flags unreachable: keeping the last good flags', {
        source: this.source.name,
        error: errorFields(error),
      });
      this.reportStaleness();
      return;
    }
    if (document === undefined) {
      // Unchanged: what we hold is confirmed current.
      if (this.values) this.confirmedAt = this.clock.now();
      return;
    }
    try {
      const values = parseFlagDocument(document);
      const changed = JSON.stringify(values) !== JSON.stringify(this.values);
      this.values = values;
      this.confirmedAt = this.clock.now();
      if (changed) this.telemetry.info('flags loaded', { source: this.source.name, flags: values });
    } catch (error) {
      if (!(error instanceof InvalidFlagsError)) throw error;
      this.telemetry.error('flag document rejected: keeping the last good flags', { source: this.source.name, reason: error.message });
      this.telemetry.count('FlagsRejected', 1);
      this.reportStaleness();
    }
  }

  private reportStaleness(): void {
    const snapshot = this.snapshot();
    if (!snapshot.stale) return;
    this.telemetry.count('FlagsStale', 1);
    this.telemetry.error(snapshot.origin === 'default' ? 'no flags loaded yet: using the safe defaults (legacy path)' : 'flags are stale', {
      source: this.source.name,
      confirmedAt: snapshot.confirmedAt === null ? null : new Date(snapshot.confirmedAt).toISOString(),
    });
  }
}
