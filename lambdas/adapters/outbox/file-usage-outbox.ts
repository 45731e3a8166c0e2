/**
 * `UsageOutbox` in a local file (JSON lines under `DATA_DIR`, or `.local/`): records wait there while
 * the usage store is down, and the local runner writes them when it starts again.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { UsageOutbox } from '../../core/metering/ports';
import type { UsageRecord } from '../../core/metering/usage-record';

/** Files this process has taken and not finished with (another gateway of the same process may share the file). */
const replaying = new Set<string>();
let takes = 0;

/** Records taken out of the file, and `done`, to call once each is written or spilled back. */
export interface TakenRecords {
  records: UsageRecord[];
  done(): Promise<void>;
}

export class FileUsageOutbox implements UsageOutbox {
  constructor(
    readonly path: string,
    /** Whether the process `pid` still runs (a file it was replaying is its own until it stops). */
    private readonly alive: (pid: number) => boolean = processAlive,
  ) {}

  async spill(records: UsageRecord[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /**
   * Takes every waiting record out of the file: moved aside, and deleted only by `done`, once each
   * is written or spilled back. A process that stops before then (killed, crashed) leaves the moved
   * file, and the next take reads it again, so a record may be replayed twice but never lost: a
   * replay that finds its record adds nothing.
   */
  async take(): Promise<TakenRecords> {
    const taken = `${this.path}.${process.pid}.${Date.now()}-${++takes}.replaying`;
    const files: string[] = [];
    try {
      await rename(this.path, taken);
      files.push(taken);
      replaying.add(taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const abandoned = await this.abandoned();
    for (const file of abandoned) replaying.add(file);
    files.push(...abandoned);
    // An abandoned file another gateway of this process took first (and may have finished) is skipped.
    const texts = await Promise.all(
      files.map((file) =>
        readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return '';
          throw error;
        }),
      ),
    );
    const parsed = texts.flatMap((text) =>
      text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as UsageRecord];
          } catch {
            return [];
          }
        }),
    );
    // A record spilled twice (spilled back by a stop, then found aside too) is replayed once.
    const records = [...new Map(parsed.map((record) => [record.requestId, record])).values()];
    const done = async () => {
      await Promise.all(files.map((file) => rm(file, { force: true })));
      for (const file of files) replaying.delete(file);
    };
    return { records, done };
  }

  /**
   * Files moved aside to replay and never finished: by a process that no longer runs, or by this
   * one's pid in an earlier life (a container's pid repeats) and not taken in this one.
   */
  private async abandoned(): Promise<string[]> {
    const prefix = `${basename(this.path)}.`;
    let names: string[];
    try {
      names = await readdir(dirname(this.path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.startsWith(prefix) && name.endsWith('.replaying'))
      .map((name) => join(dirname(this.path), name))
      .filter((file) => {
        if (replaying.has(file)) return false;
        const pid = Number(basename(file).slice(prefix.length).split('.')[0]);
        return pid === process.pid || !this.alive(pid);
      });
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
