import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { z } from 'zod';
import type { MasterKey } from './codec.js';
import { AAD, KEY_FORMAT_VERSION } from './format.js';

/**
 * Key files (`keys/<id>`, plaintext JSON): each holds one copy of the master key, wrapped with
 * AES-256-GCM under a key derived from a passphrase with scrypt. Several may exist (one per
 * person or machine); any one of them opens the repository. The key id is the file name and is
 * bound into the wrap as AAD, so a key file renamed to another id no longer opens.
 */

export interface KdfParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** ~100 ms on a current laptop core, 32 MiB of memory: slows passphrase guessing, not users. */
export const DEFAULT_KDF: KdfParams = { N: 2 ** 15, r: 8, p: 1 };

const SALT_LENGTH = 32;
const DERIVED_KEY_LENGTH = 32;
const KEY_ID_BYTES = 16;

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

// Bounds on what a key file may ask of us: a hostile or corrupt file must not make open()
// allocate gigabytes or spin for minutes.
const kdfSchema = z.object({
  name: z.literal('scrypt'),
  N: z.number().int().min(2).max(2 ** 22).refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: b64,
});

export const keyFileSchema = z.object({
  formatVersion: z.number().int().positive(),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  label: z.string(),
  created: z.string(),
  kdf: kdfSchema,
  wrap: z.object({
    alg: z.literal('aes-256-gcm'),
    nonce: b64,
    ciphertext: b64,
    tag: b64,
  }),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

/** What `listKeys()` shows: never any secret material. */
export interface KeyInfo {
  id: string;
  label: string;
  created: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number };
  /** True for the key this Repository was opened with (its snapshots' encryption_key_id). */
  current: boolean;
}

export function newKeyId(): string {
  return randomBytes(KEY_ID_BYTES).toString('hex');
}

export function newMasterKey(): MasterKey {
  return { encryption: randomBytes(32), mac: randomBytes(32) };
}

function deriveKey(passphrase: string, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  // NFC so the same passphrase typed on macOS (NFD input) and elsewhere derives the same key.
  const secret = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  const maxmem = 128 * kdf.N * kdf.r * kdf.p + 16 * 1024 * 1024;
  // Async scrypt runs in libuv's thread pool, so a ~100 ms derivation does not stall the event loop.
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, DERIVED_KEY_LENGTH, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Wraps the master key under `passphrase`. `id` may be an existing key id (changing its passphrase). */
export async function wrapMasterKey(
  master: MasterKey,
  passphrase: string,
  opts: { id?: string; label?: string; kdf?: KdfParams; created?: string } = {},
): Promise<KeyFile> {
  const id = opts.id ?? newKeyId();
  const kdf = opts.kdf ?? DEFAULT_KDF;
  const salt = randomBytes(SALT_LENGTH);
  const wrappingKey = await deriveKey(passphrase, salt, kdf);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, nonce, { authTagLength: 16 });
  cipher.setAAD(AAD.key(id));
  const secret = Buffer.concat([master.encryption, master.mac]);
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  secret.fill(0);
  return {
    formatVersion: KEY_FORMAT_VERSION,
    id,
    label: opts.label ?? '',
    created: opts.created ?? new Date().toISOString(),
    kdf: { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString('base64') },
    wrap: {
      alg: 'aes-256-gcm',
      nonce: nonce.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    },
  };
}

/** The master key, or null when `passphrase` is not the one this key file was wrapped with. */
export async function unwrapMasterKey(file: KeyFile, passphrase: string): Promise<MasterKey | null> {
  const wrappingKey = await deriveKey(passphrase, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey, Buffer.from(file.wrap.nonce, 'base64'), {
    authTagLength: 16,
  });
  decipher.setAAD(AAD.key(file.id));
  decipher.setAuthTag(Buffer.from(file.wrap.tag, 'base64'));
  let secret: Buffer;
  try {
    secret = Buffer.concat([decipher.update(Buffer.from(file.wrap.ciphertext, 'base64')), decipher.final()]);
  } catch {
    // GCM cannot tell a wrong passphrase from a tampered file; both mean "this key does not open".
    return null;
  }
  if (secret.length !== 64) return null;
  return { encryption: secret.subarray(0, 32), mac: secret.subarray(32) };
}

export function serializeKeyFile(file: KeyFile): Buffer {
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}

export type ParsedKeyFile =
  | { kind: 'ok'; file: KeyFile }
  | { kind: 'newer'; formatVersion: number }
  | { kind: 'invalid'; reason: string };

/** Parses a key file stored under `keys/<expectedId>`; never throws. */
export function parseKeyFile(bytes: Buffer, expectedId: string): ParsedKeyFile {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > KEY_FORMAT_VERSION) return { kind: 'newer', formatVersion: version };
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: parsed.error.issues[0]?.message ?? 'bad shape' };
  if (parsed.data.id !== expectedId) return { kind: 'invalid', reason: `id ${parsed.data.id} does not match its name` };
  return { kind: 'ok', file: parsed.data };
}

export function keyInfo(file: KeyFile, currentId: string): KeyInfo {
  return {
    id: file.id,
    label: file.label,
    created: file.created,
    kdf: { name: 'scrypt', N: file.kdf.N, r: file.kdf.r, p: file.kdf.p },
    current: file.id === currentId,
  };
}
