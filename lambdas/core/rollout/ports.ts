/** Rollout's port: where flag documents come from. */

/** Port: where flag documents come from. */
export interface FlagSource {
  readonly name: string;
  /** The current document, or `undefined` when it has not changed since the last fetch. */
  fetch(): Promise<unknown>;
}
