/**
 * `CredentialVault` for local runs: one JSON file under `DATA_DIR` (`provider-credentials.json`, mode
 * 0600), replaced atomically (written beside, then renamed) so gateway processes sharing the directory
 * never read half a file. Without a `DATA_DIR`, the keys live in memory like the rest of the data.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialVault } from '../../core/ai/provider-configs';

type Keys = Record<string, { apiKey: string }>;

export class FileCredentialVault implements CredentialVault {
  private readonly memory: Keys = {};
  private readonly file: string | undefined;

  constructor(dataDir: string | undefined) {
    this.file = dataDir ? join(dataDir, 'provider-credentials.json') : undefined;
  }

  private read(): Keys {
    if (!this.file) return this.memory;
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Keys) : {};
  }

  private write(keys: Keys): void {
    if (!this.file) return;
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(keys), { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.file);
  }

  async put(id: string, secret: { apiKey: string }): Promise<void> {
    const keys = this.read();
    keys[id] = { apiKey: secret.apiKey };
    this.write(keys);
  }

  async get(id: string): Promise<{ apiKey: string } | undefined> {
    return this.read()[id];
  }

  async delete(id: string): Promise<void> {
    const keys = this.read();
    delete keys[id];
    this.write(keys);
  }
}
