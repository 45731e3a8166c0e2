/** `FlagSource` on a local file (`FLAGS_FILE`): re-read only when its modification time or size changes. */
import { readFile, stat } from 'node:fs/promises';
import type { FlagSource } from '../../core/rollout/ports';

export class FileFlagSource implements FlagSource {
  readonly name: string;
  private seen: string | undefined;

  constructor(private readonly path: string) {
    this.name = `file ${path}`;
  }

  async fetch(): Promise<unknown> {
    const info = await stat(this.path);
    const signature = `${info.mtimeMs}:${info.size}`;
    if (signature === this.seen) return undefined;
    const text = await readFile(this.path, 'utf8');
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      // Remember it anyway: the same broken file is reported once, not on every refresh.
      this.seen = signature;
      return { invalidJson: (error as Error).message };
    }
    this.seen = signature;
    return document;
  }
}
