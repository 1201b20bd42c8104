import { z } from 'zod';
import { WedsyncError } from '../contract/errors.js';
import { type BlobCodec, UnsealError } from './codec.js';
import { AAD, FORMAT_VERSION } from './format.js';

/**
 * The repository config (`config`, sealed JSON, AAD "wedsync:config:v1"): identity and settings
 * fixed at init. Written once; its existence is what makes a folder/bucket a repository.
 */
export const configSchema = z.object({
  formatVersion: z.number().int().positive(),
  repositoryId: z.string().min(1),
  created: z.string(),
  settings: z.object({
    /** Target pack size in bytes. */
    packSize: z.number().int().min(64 * 1024).max(256 * 1024 * 1024),
    /** zstd level for blobs and metadata. */
    compressionLevel: z.number().int().min(-7).max(22),
  }),
});

export type RepositoryConfig = z.infer<typeof configSchema>;

export function sealConfig(codec: BlobCodec, config: RepositoryConfig): Buffer {
  return codec.seal(Buffer.from(JSON.stringify(config)), AAD.config);
}

/** Decrypts and checks the config; INTEGRITY when altered, REPO_VERSION_UNSUPPORTED when newer. */
export function openConfig(codec: BlobCodec, bytes: Buffer, location: string): RepositoryConfig {
  const fail = (reason: string, cause?: unknown) =>
    new WedsyncError('INTEGRITY', `repository config at ${location} is damaged: ${reason}`, { cause });
  let plain: Buffer;
  try {
    plain = codec.open(bytes, AAD.config);
  } catch (err) {
    if (err instanceof UnsealError) throw fail(`${err.message} (does the key file belong to this repository?)`, err);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(plain.toString('utf8'));
  } catch (err) {
    throw fail('not JSON', err);
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new WedsyncError(
      'REPO_VERSION_UNSUPPORTED',
      `repository at ${location} has format version ${version}; this program reads up to ${FORMAT_VERSION}`,
      { details: { formatVersion: version } },
    );
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) throw fail(parsed.error.issues[0]?.message ?? 'bad shape');
  return parsed.data;
}
