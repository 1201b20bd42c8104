import { chmod, readFile, rm, writeFile } from 'node:fs/promises';

/**
 * The repository passphrase kept with the OS keychain (Electron safeStorage: Keychain on
 * macOS, DPAPI on Windows, libsecret/kwallet on Linux): only the encrypted bytes touch the disk
 * (mode 0600). Never logged, never put in argv; handed to the agent in its environment.
 */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export class PassphraseStore {
  constructor(
    private readonly file: string,
    private readonly safe: SafeStorageLike,
  ) {}

  /** The stored passphrase, or null when none is stored (or the keychain cannot open it). */
  async load(): Promise<string | null> {
    if (!this.safe.isEncryptionAvailable()) return null;
    const bytes = await readFile(this.file).catch(() => null);
    if (!bytes) return null;
    try {
      return this.safe.decryptString(bytes);
    } catch {
      return null;
    }
  }

  /** Stores it encrypted; refuses (false) where the OS offers no keychain rather than writing plaintext. */
  async save(passphrase: string): Promise<boolean> {
    if (!this.safe.isEncryptionAvailable()) return false;
    await writeFile(this.file, this.safe.encryptString(passphrase), { mode: 0o600 });
    await chmod(this.file, 0o600);
    return true;
  }

  async forget(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
