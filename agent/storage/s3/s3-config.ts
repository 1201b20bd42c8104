/**
 * Settings of an S3BlobStore. Kept apart from s3-store.ts (and free of SDK imports) so open.ts
 * and the CLI can name the type without loading the AWS SDK.
 */
export interface S3BlobStoreConfig {
  bucket: string;
  /** Key prefix under which blobs live ("" for the bucket root); slashes at either end are ignored. */
  prefix: string;
  /** S3-compatible endpoint (MinIO, s3rver, ...); defaults to AWS_ENDPOINT_URL, then AWS itself. */
  endpoint?: string;
  /** Defaults to AWS_REGION, AWS_DEFAULT_REGION, then us-east-1 (redirects to the bucket's region are followed). */
  region?: string;
  /** Path-style URLs (endpoint/bucket/key); defaults to true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain (env, profile, instance role) applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Blobs larger than this are uploaded in parts. Default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Size of each part but the last. Default 8 MiB; S3 needs at least 5 MiB. */
  partSizeBytes?: number;
  /** Parts in flight at once per put. Default 4. */
  partConcurrency?: number;
  /** Attempts the SDK makes itself before an error reaches us. Default 3 (the SDK's default). */
  maxAttempts?: number;
  /** Give up connecting after this long. Default 10 s. */
  connectionTimeoutMs?: number;
  /**
   * Give up on a request whose socket sits idle this long — nothing sent, nothing received: a
   * stalled connection — and let the retries try again. Default 30 s. (The SDK's socketTimeout.)
   */
  requestTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export const MIB = 1024 * 1024;
export const DEFAULT_MULTIPART_THRESHOLD = 16 * MIB;
export const DEFAULT_PART_SIZE = 8 * MIB;
/** S3 rejects smaller parts (all but the last) when the upload completes. */
export const MIN_PART_SIZE = 5 * MIB;
