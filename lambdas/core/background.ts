/**
 * Work that follows a response (usage records, aggregates, alerts) without holding the client up.
 * The Lambda handler drains it before its invocation ends, so nothing is frozen half-way; the local
 * server drains it on shutdown; reads that must see it (usage and status endpoints) drain first.
 */
import { within } from './within';
/**
 * How long a read waits for this instance's post-response work before answering: long enough for the
 * last requests' records and aggregates, bounded because under steady traffic (an environment serving
 * many requests at once) there is always more.
 */
export const READ_DRAIN_MS = 2000;

export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();
  /** Work tracked outside any live invocation (init, or a timer an invocation left behind). */
  private readonly orphans = new Set<Promise<unknown>>();
  /** Invocations that have ended: later work started in their context is an orphan. */
  private readonly ended = new WeakSet<Set<Promise<unknown>>>();

  constructor(
    private readonly onError: (error: unknown) => void,
    /**
     * The work set of the invocation running now, if the host keeps one per invocation (a Lambda
     * environment serving several requests at once): its handler then waits for its own work only.
     */
    private readonly scope: () => Set<Promise<unknown>> | undefined = () => undefined,
  ) {}

  track(task: Promise<unknown>): void {
    const scope = this.scope();
    const own = scope && !this.ended.has(scope) ? scope : this.orphans;
    const tracked = task.catch(this.onError).finally(() => {
      this.pending.delete(tracked);
      own.delete(tracked);
    });
    this.pending.add(tracked);
    own.add(tracked);
  }

  /**
   * Ends an invocation: waits for its own work (and what that work started), then once for the
   * orphaned work pending now (a paced write a timer started after its invocation had ended), never
   * for other live invocations' work.
   */
  async endInvocation(own: Set<Promise<unknown>>): Promise<void> {
    while (own.size > 0) await Promise.allSettled([...own]);
    this.ended.add(own);
    await Promise.allSettled([...this.orphans]);
  }

  /**
   * Resolves when everything tracked so far (and anything it started) has finished; with `withinMs`,
   * at the latest after that long, resolving `false` when work was still running.
   */
  async drain(withinMs?: number): Promise<boolean> {
    const all = (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      return true;
    })();
    return withinMs === undefined ? all : within(all, withinMs, false);
  }

  get size(): number {
    return this.pending.size;
  }
}
