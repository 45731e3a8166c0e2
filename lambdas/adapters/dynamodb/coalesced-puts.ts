/**
 * Puts of new items into one table, coalesced into `BatchWriteItem` calls: up to 25 items a call
 * instead of one `PutItem` each, which is most of what an item costs the caller (the SDK's work per
 * call, a signature, a round trip) and much of what it costs the engine.
 *
 * How puts gather, so that a lone put is never held back and a busy instance sends few calls:
 * - with no partial batch on its way, a put goes on the next turn of the event loop, with every put
 *   that arrived in this one (a Lambda serving one request at a time sends each record at once);
 * - while a partial batch is on its way, puts gather and go together when it returns;
 * - 25 gathered go at once, whatever is on its way (a slow call never holds more than one batch back).
 *
 * Batched puts carry no condition: this is only for items whose key was never written before (a
 * request id the gateway has just made), so a put can never replace another's item. A call that fails
 * fails each of its puts with its error; an item DynamoDB left unprocessed (throttled, not written)
 * fails with `UnprocessedPutError`. Either way the caller retries that one item its own way (the
 * ledger: a conditional `PutItem` each, with backoff).
 *
 * A put may wait for one partial batch on its way before it is sent: with a store that hangs, one
 * more DynamoDB call (`DYNAMODB_TIMEOUT_MS`) before its own fails.
 */
import { GatewayError } from '../../core/errors';
import type { ItemWrites } from './item-writes';

/** DynamoDB's limit of items in one `BatchWriteItem`. */
export const MAX_BATCH_ITEMS = 25;

/** The table did not process this item (it throttled the batch): it was not written. */
export class UnprocessedPutError extends GatewayError {
  constructor(tableName: string) {
    super(`${tableName}: item left unprocessed by BatchWriteItem (throttled); it was not written`);
    // Spelled out: the Lambda bundle is minified, so the class name `GatewayError` reads is not this one.
    this.name = 'UnprocessedPutError';
  }
}

interface Waiting {
  item: Record<string, unknown>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class CoalescedPuts {
  private waiting: Waiting[] = [];
  private partialOnItsWay = false;
  private scheduled = false;

  constructor(
    private readonly writes: Pick<ItemWrites, 'batchPut'>,
    private readonly tableName: string,
    /** The partition key's attribute: how an unprocessed item is matched to its put. */
    private readonly keyAttribute: string,
  ) {}

  /** Writes `item` (its key never written before); resolves once DynamoDB has it. */
  put(item: Record<string, unknown>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= MAX_BATCH_ITEMS) {
        void this.send(this.waiting.splice(0, MAX_BATCH_ITEMS), false);
      } else if (!this.partialOnItsWay && !this.scheduled) {
        this.scheduled = true;
        // The rest of this turn of the event loop: the records of requests finishing in it come along.
        setImmediate(() => {
          this.scheduled = false;
          this.sendPartial();
        });
      }
    });
  }

  /** Puts gathered and not yet sent. */
  get gathered(): number {
    return this.waiting.length;
  }

  private sendPartial(): void {
    if (this.partialOnItsWay || this.waiting.length === 0) return;
    this.partialOnItsWay = true;
    void this.send(this.waiting.splice(0, MAX_BATCH_ITEMS), true);
  }

  private async send(batch: Waiting[], partial: boolean): Promise<void> {
    try {
      const unprocessed = await this.writes.batchPut(
        this.tableName,
        batch.map((w) => w.item),
      );
      const left = new Set(unprocessed.map((item) => item[this.keyAttribute]));
      for (const w of batch) {
        if (left.has(w.item[this.keyAttribute])) w.reject(new UnprocessedPutError(this.tableName));
        else w.resolve();
      }
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      if (partial) {
        this.partialOnItsWay = false;
        this.sendPartial();
      }
    }
  }
}
