/**
 * `UsageOutbox` in a local file (JSON lines under `DATA_DIR`, or `.local/`): records wait there while
 * the usage store is down, and the local runner writes them when it starts again.
 */
import { appendFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UsageOutbox } from '../../core/metering/ports';
import type { UsageRecord } from '../../core/metering/usage-record';

export class FileUsageOutbox implements UsageOutbox {
  constructor(readonly path: string) {}

  async spill(records: UsageRecord[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Takes every waiting record out of the file (what cannot be written goes back through `spill`). */
  async takeAll(): Promise<UsageRecord[]> {
    const taken = `${this.path}.${process.pid}.${Date.now()}.replaying`;
    try {
      await rename(this.path, taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const text = await readFile(taken, 'utf8');
    await rm(taken, { force: true });
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as UsageRecord];
        } catch {
          return [];
        }
      });
  }
}
