/** A flags file in a temporary folder, rewritten by tests to flip the rollout. */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagDocument, type RolloutValue } from '../../lambdas/core/rollout/flags';

export class FlagsFile {
  readonly path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
  private n = 0;
  constructor(initial: Partial<RolloutValue> = { enabled: true, rollout_percentage: 100 }) {
    this.set(initial);
  }
  /** Writes atomically (rename), as an editor or a deploy would. */
  set(rollout: Partial<RolloutValue>): void {
    this.write(
      JSON.stringify(flagDocument({ enabled: true, rollout_percentage: 0, allow_users: [], deny_users: [], ...rollout }), null, 2),
    );
  }
  write(text: string): void {
    const tmp = `${this.path}.${++this.n}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.path);
  }
}

/**
 * A flags file of plain values: everyone on the orchestrated path, plus `values` (for example
 * `{ response_caching: { enabled: true } }`). Returns its path.
 */
export function orchestratedFlagsFile(values: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'flags-')), 'flags.json');
  writeFileSync(
    path,
    JSON.stringify({ hybrid_orchestrator: { enabled: true, rollout_percentage: 100, allow_users: [], deny_users: [] }, ...values }),
  );
  return path;
}
