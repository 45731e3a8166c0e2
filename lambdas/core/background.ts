/**
 * Work that follows a response (usage records, aggregates, alerts) without holding the client up.
 * The Lambda handler drains it before its invocation ends, so nothing is frozen half-way; the local
 * server drains it on shutdown; reads that must see it (usage and status endpoints) drain first.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  track(task: Promise<unknown>): void {
    const tracked = task.catch(this.onError).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Resolves when everything tracked so far (and anything it started) has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  get size(): number {
    return this.pending.size;
  }
}
