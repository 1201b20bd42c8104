import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassphraseStore, type SafeStorageLike } from './passphrase-store.js';

/** A stand-in for Electron's safeStorage: reversible, but never the plaintext on disk. */
const fakeSafe = (available = true): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (s) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ 0x5a)),
  decryptString: (b) => Buffer.from(b.map((x) => x ^ 0x5a)).toString('utf8'),
});

describe('passphrase store (electron/passphrase-store.ts)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-pass-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps only the encrypted bytes on disk, mode 0600, and reads them back', async () => {
    const store = new PassphraseStore(join(dir, 'p.enc'), fakeSafe());
    expect(await store.load()).toBeNull();
    expect(await store.save('correct horse battery staple')).toBe(true);
    expect((await readFile(join(dir, 'p.enc'))).toString('utf8')).not.toContain('horse');
    expect((await stat(join(dir, 'p.enc'))).mode & 0o777).toBe(0o600);
    expect(await store.load()).toBe('correct horse battery staple');
    await store.forget();
    expect(await store.load()).toBeNull();
  });

  it('refuses to store where the OS has no keychain, rather than writing plaintext', async () => {
    const store = new PassphraseStore(join(dir, 'q.enc'), fakeSafe(false));
    expect(await store.save('secret')).toBe(false);
    expect(await store.load()).toBeNull();
  });
});
