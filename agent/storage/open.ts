import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WedsyncError } from '../contract/errors.js';
import type { BlobStore } from './blob-store.js';
import { isValidBlobName } from './checks.js';
import { LocalBlobStore } from './local/local-store.js';
import { MemoryBlobStore } from './memory/memory-store.js';
import type { S3BlobStoreConfig } from './s3/s3-config.js';

export type StoreLocation =
  | { kind: 'local'; path: string }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'memory'; name: string };

export interface OpenBlobStoreOptions {
  /** Folders only: create the folder when missing. */
  create?: boolean;
  /** S3 only: endpoint, region, credentials, tuning (bucket and prefix come from the location). */
  s3?: Omit<S3BlobStoreConfig, 'bucket' | 'prefix'>;
}

/**
 * S3 client settings every s3:// store opened here starts from (the configured timeouts: see
 * agent/cli/config.ts); options passed to openBlobStore win. Set once at start-up, from the
 * resolved configuration, so every store the process opens — repository, off-site, photos —
 * has the same bounds.
 */
let s3Defaults: NonNullable<OpenBlobStoreOptions['s3']> = {};
export function setS3Defaults(options: NonNullable<OpenBlobStoreOptions['s3']>): void {
  s3Defaults = { ...options };
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/; // two letters at least, so "C:\repo" stays a folder
const S3_URL = /^s3:\/\/([^/]+)(?:\/(.*))?$/i;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MEMORY_URL = /^memory:\/\/([A-Za-z0-9._-]+)$/i;
const HINT = 'use a folder path, s3://bucket/prefix or memory://name';

/**
 * Reads a repository location as the user wrote it (flag, config, API). Pure: folder paths
 * come back as given; openBlobStore resolves them. Anything unrecognised is BAD_INPUT.
 */
export function parseStoreLocation(location: string): StoreLocation {
  if (location.trim() === '' || location.includes('\0')) throw badLocation(location);
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: location };

  if (scheme === 's3') {
    const [, bucket = '', rawPrefix = ''] = S3_URL.exec(location) ?? [];
    const prefix = rawPrefix.replace(/\/+$/, '');
    if (!S3_BUCKET.test(bucket) || (prefix !== '' && !isValidBlobName(prefix))) throw badLocation(location);
    return { kind: 's3', bucket, prefix };
  }
  if (scheme === 'memory') {
    const name = MEMORY_URL.exec(location)?.[1];
    if (name === undefined) throw badLocation(location);
    return { kind: 'memory', name };
  }
  if (scheme === 'file' && location.startsWith('file://')) {
    try {
      return { kind: 'local', path: fileURLToPath(location) };
    } catch {
      throw badLocation(location);
    }
  }
  throw badLocation(location);
}

/**
 * Opens the BlobStore a location names. The S3 module (and with it the AWS SDK) is loaded
 * only for s3:// locations, so folder users never pay for it.
 */
export async function openBlobStore(location: string, opts: OpenBlobStoreOptions = {}): Promise<BlobStore> {
  const parsed = parseStoreLocation(location);
  switch (parsed.kind) {
    case 'local':
      return LocalBlobStore.open(expandHome(parsed.path), { create: opts.create ?? false });
    case 'memory':
      return MemoryBlobStore.shared(parsed.name);
    case 's3': {
      const { S3BlobStore } = await import('./s3/s3-store.js');
      return new S3BlobStore({ ...s3Defaults, ...opts.s3, bucket: parsed.bucket, prefix: parsed.prefix });
    }
  }
}

/** "~/backups" from a config file (no shell to expand it) means the user's home. */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function badLocation(location: string): WedsyncError {
  // Never echo credentials someone pasted into a URL (s3://KEY:SECRET@bucket).
  const shown = location.replace(/\/\/[^/@]*@/, '//***@');
  return new WedsyncError('BAD_INPUT', `unsupported storage location ${JSON.stringify(shown)}: ${HINT}`, {
    details: { location: shown },
  });
}
