/** `AlertPublisher` for the laptop: a line on stdout and one JSON line appended to `.local/alerts.jsonl`. */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert, AlertPublisher } from '../../core/metering/ports';

export class LocalAlertPublisher implements AlertPublisher {
  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  async publish(alert: Alert): Promise<void> {
    this.print(`ALERT [${alert.severity}] ${alert.subject}`);
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(alert)}\n`);
  }
}
