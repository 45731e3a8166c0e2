/**
 * `CredentialVault` for local runs: one JSON file under `DATA_DIR` (`provider-credentials.json`, mode
 * 0600) holding each provider's recent key versions, replaced atomically (written beside, then renamed)
 * so gateway processes sharing the directory never read half a file. Two admin changes at the very same
 * moment in two processes may lose one version (the last writer wins); its configuration then reads no
 * key and the test endpoint says so. Without a `DATA_DIR`, the keys live in memory like the rest.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialVault } from '../../core/ai/provider-configs';

/** Versions kept per provider: the one in force and a few before it (instances still on them). */
const KEEP_VERSIONS = 4;

type Keys = Record<string, Record<string, { apiKey: string }>>;

export class FileCredentialVault implements CredentialVault {
  private memory: Keys = {};
  private readonly file: string | undefined;

  constructor(dataDir: string | undefined) {
    this.file = dataDir ? join(dataDir, 'provider-credentials.json') : undefined;
  }

  private read(): Keys {
    if (!this.file) return this.memory;
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Keys;
    } catch {
      // Not the parser's message: it quotes the file, keys included, and errors get logged.
      throw new SyntaxError(`${this.file} is not valid JSON`);
    }
  }

  private write(keys: Keys): void {
    if (!this.file) {
      this.memory = keys;
      return;
    }
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(keys), { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.file);
  }

  async put(id: string, version: string, secret: { apiKey: string }): Promise<void> {
    const keys = this.read();
    const versions = Object.entries({ ...keys[id], [version]: { apiKey: secret.apiKey } });
    keys[id] = Object.fromEntries(versions.slice(-KEEP_VERSIONS));
    this.write(keys);
  }

  async get(id: string, version: string): Promise<{ apiKey: string } | undefined> {
    return this.read()[id]?.[version];
  }

  async delete(id: string): Promise<void> {
    const keys = this.read();
    delete keys[id];
    this.write(keys);
  }
}
