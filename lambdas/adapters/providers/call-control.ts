/**
 * What every provider adapter does around one upstream call, whatever its SDK: abort the call when its
 * first event is late, when the answer stalls between events, when it runs past its total time or when
 * the client goes away (`CallControl`); and read a stream as fast as the upstream sends it, whatever the
 * client's pace, so the idle timeout measures the provider and never a slow reader (`EventQueue`).
 */
import type { ProviderCallError } from '../../core/errors';
import type { ProviderCall, ProviderStream } from '../../core/ai/ports';
import type { ProviderLimits } from '../../core/ai/provider-limits';
import type { CallContext, TimedOut } from './failures';

export class CallControl {
  readonly controller = new AbortController();
  timedOut: TimedOut | undefined;
  private firstEventTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly totalTimer: NodeJS.Timeout;
  private readonly onClientAbort = () => this.controller.abort();

  constructor(private readonly call: ProviderCall) {
    this.totalTimer = setTimeout(() => this.expire('total'), call.timeouts.totalMs);
    this.firstEventTimer = setTimeout(() => this.expire('first_byte'), call.timeouts.firstByteMs);
    if (call.signal.aborted) this.controller.abort();
    else call.signal.addEventListener('abort', this.onClientAbort, { once: true });
  }

  /** Whether the client went away (rather than a timeout firing). */
  get clientAborted(): boolean {
    return this.call.signal.aborted;
  }

  /** What an adapter's error mapping needs to know of how the call to `provider` ended. */
  context(provider: string): CallContext {
    return { provider, timedOut: this.timedOut, clientAborted: this.clientAborted, now: Date.now() };
  }

  private expire(which: TimedOut): void {
    this.timedOut = which;
    this.controller.abort();
  }

  /**
   * An event (or, for a non-streamed call, the response) arrived: the first-event wait is over, the
   * idle wait starts again. Per event only the time is noted; the one idle timer, when it fires, waits
   * again for what is left of the wait since the last event (moving a timer per event cost more).
   */
  progress(): void {
    if (this.firstEventTimer) {
      clearTimeout(this.firstEventTimer);
      this.firstEventTimer = undefined;
    }
    this.lastProgress = performance.now();
    this.idleTimer ??= setTimeout(this.checkIdle, this.call.timeouts.idleMs);
  }

  private lastProgress = 0;
  private readonly checkIdle = (): void => {
    const quiet = performance.now() - this.lastProgress;
    if (quiet >= this.call.timeouts.idleMs) this.expire('idle');
    else this.idleTimer = setTimeout(this.checkIdle, this.call.timeouts.idleMs - quiet);
  };

  finish(): void {
    clearTimeout(this.totalTimer);
    clearTimeout(this.firstEventTimer);
    clearTimeout(this.idleTimer);
    this.call.signal.removeEventListener('abort', this.onClientAbort);
  }
}

/**
 * Events read from an upstream, waiting for the consumer: the reader pushes as they arrive and ends the
 * queue (with the failure, if any); the consumer iterates `events()`, which throws the failure after the
 * events that came before it.
 */
export class EventQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private ended = false;
  private failure: ProviderCallError | undefined;
  private wake: (() => void) | undefined;

  push(event: string): void {
    this.queue.push(event);
    this.wake?.();
  }

  /** No more events: the answer is complete, or broke with `failure`. The first call wins. */
  end(failure?: ProviderCallError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.wake?.();
  }

  /** The queue as the stream a provider hands the orchestrator: cancelling it aborts the call under `control`. */
  stream(control: CallControl, limits?: ProviderLimits): ProviderStream {
    const iterator = this.events();
    return {
      ...(limits ? { limits } : {}),
      [Symbol.asyncIterator]: () => iterator,
      cancel: () => {
        control.controller.abort();
        control.finish();
        void iterator.return(undefined).catch(() => undefined);
      },
    };
  }

  async *events(): AsyncGenerator<string> {
    for (;;) {
      if (this.head < this.queue.length) {
        const next = this.queue[this.head]!;
        this.queue[this.head++] = '';
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
