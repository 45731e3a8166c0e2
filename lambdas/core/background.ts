/**
 * Work that follows a response (usage records, aggregates, alerts) without holding the client up.
 * The Lambda handler drains it before its invocation ends, so nothing is frozen half-way; the local
 * server drains it on shutdown; reads that must see it (usage and status endpoints) drain first.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly onError: (error: unknown) => void,
    /**
     * The work set of the invocation running now, if the host keeps one per invocation (a Lambda
     * environment serving several requests at once): its handler then waits for its own work only.
     */
    private readonly scope: () => Set<Promise<unknown>> | undefined = () => undefined,
  ) {}

  track(task: Promise<unknown>): void {
    const own = this.scope();
    const tracked = task.catch(this.onError).finally(() => {
      this.pending.delete(tracked);
      own?.delete(tracked);
    });
    this.pending.add(tracked);
    own?.add(tracked);
  }

  /** Resolves when the work in `own` (one invocation's) has finished, including work it started. */
  static async drainScope(own: Set<Promise<unknown>>): Promise<void> {
    while (own.size > 0) await Promise.allSettled([...own]);
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
    if (withinMs === undefined) return all;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), withinMs);
      timer.unref?.();
    });
    return Promise.race([all, late]).finally(() => clearTimeout(timer));
  }

  get size(): number {
    return this.pending.size;
  }
}
