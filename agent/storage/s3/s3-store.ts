import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { WedsyncError } from '../../contract/errors.js';
import type { BlobInfo, BlobStore } from '../blob-store.js';
import { assertValidBlobName } from '../blob-store.js';
import { assertValidBlobPrefix, assertValidRange, isValidBlobName } from '../checks.js';
import { blobNotFound, rangePastEnd } from '../errors.js';
import { DEFAULT_CONNECTION_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MIN_PART_SIZE, type S3BlobStoreConfig } from './s3-config.js';
import { mapS3Error } from './s3-errors.js';

export type { S3BlobStoreConfig } from './s3-config.js';

/**
 * BlobStore in an S3 bucket (AWS or any S3-compatible server): blob "a/b" is the object
 * "<prefix>/a/b". A PUT is atomic by nature; big blobs go up as a multipart upload, which is
 * invisible until completed and aborted on failure, so no partial object ever appears.
 */
export class S3BlobStore implements BlobStore {
  readonly provider = 's3' as const;
  readonly location: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly bucket: string;
  /** "" or "prefix/": prepended to every blob name to form its key. */
  private readonly keyPrefix: string;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;

  /** `client` is for tests that need to intercept requests; normally the store builds its own. */
  constructor(config: S3BlobStoreConfig, client?: S3Client) {
    const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    if (config.bucket === '' || (prefix !== '' && !isValidBlobName(prefix))) {
      throw new WedsyncError('BAD_INPUT', `invalid S3 location s3://${config.bucket}/${config.prefix}`);
    }
    this.bucket = config.bucket;
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.location = prefix === '' ? `s3://${config.bucket}` : `s3://${config.bucket}/${prefix}`;
    this.threshold = config.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSize = config.partSizeBytes ?? DEFAULT_PART_SIZE;
    this.partConcurrency = config.partConcurrency ?? 4;
    if (this.partSize < MIN_PART_SIZE || this.partConcurrency < 1) {
      throw new WedsyncError('BAD_INPUT', `S3 part size must be at least ${MIN_PART_SIZE} bytes and concurrency at least 1`);
    }
    this.ownsClient = client === undefined;
    this.client = client ?? createS3Client(config);
  }

  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    assertValidBlobName(name);
    const Key = this.keyOf(name);
    try {
      if (data.length > this.threshold) {
        await this.putMultipart(Key, data);
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length }));
      }
    } catch (err) {
      throw mapS3Error(err, { op: 'put', location: this.location, name });
    }
  }

  async get(name: string): Promise<Buffer> {
    assertValidBlobName(name);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name) }));
      const body = await readBody(res.Body);
      if (res.ContentLength !== undefined && body.length !== res.ContentLength) throw truncated(this.location, name);
      return body;
    } catch (err) {
      throw mapS3Error(err, { op: 'get', location: this.location, name });
    }
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidBlobName(name);
    assertValidRange(offset, length);
    // An HTTP range cannot be empty: answer a zero-length read from the blob's size.
    if (length === 0) return this.checkedEmptyRange(name, offset);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name), Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      // S3 clips a range that runs past the end; Content-Range ("bytes 0-9/42") has the real size.
      const size = totalSize(res.ContentRange);
      if (size !== undefined && offset + length > size) {
        (res.Body as { destroy?: () => void } | undefined)?.destroy?.(); // free the socket unread
        throw rangePastEnd(this.location, name, offset, length, size);
      }
      const body = await readBody(res.Body);
      if (body.length < length) throw rangePastEnd(this.location, name, offset, length, offset + body.length);
      if (body.length > length) throw truncated(this.location, name);
      return body;
    } catch (err) {
      if ((err as { name?: unknown }).name === 'InvalidRange') {
        // 416: the range starts at or after the end.
        const info = await this.head(name);
        if (info === null) throw blobNotFound(this.location, name);
        throw rangePastEnd(this.location, name, offset, length, info.size);
      }
      throw mapS3Error(err, { op: 'getRange', location: this.location, name });
    }
  }

  async head(name: string): Promise<BlobInfo | null> {
    assertValidBlobName(name);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name) }));
      return { name, size: res.ContentLength ?? 0 };
    } catch (err) {
      const mapped = mapS3Error(err, { op: 'head', location: this.location, name });
      if (mapped instanceof WedsyncError && mapped.code === 'BLOB_NOT_FOUND') return null;
      throw mapped;
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidBlobPrefix(prefix);
    const out: BlobInfo[] = [];
    try {
      let token: string | undefined;
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix + prefix, ContinuationToken: token }),
        );
        for (const obj of res.Contents ?? []) {
          const name = obj.Key?.slice(this.keyPrefix.length);
          // Folder markers ("x/") and keys written by other tools are not blobs.
          if (name !== undefined && isValidBlobName(name)) out.push({ name, size: obj.Size ?? 0 });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw mapS3Error(err, { op: 'list', location: this.location });
    }
    return out;
  }

  async delete(name: string): Promise<void> {
    assertValidBlobName(name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name) }));
    } catch (err) {
      const mapped = mapS3Error(err, { op: 'delete', location: this.location, name });
      if (mapped instanceof WedsyncError && mapped.code === 'BLOB_NOT_FOUND') return;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private keyOf(name: string): string {
    return this.keyPrefix + name;
  }

  private async checkedEmptyRange(name: string, offset: number): Promise<Buffer> {
    const info = await this.head(name);
    if (info === null) throw blobNotFound(this.location, name);
    if (offset > info.size) throw rangePastEnd(this.location, name, offset, 0, info.size);
    return Buffer.alloc(0);
  }

  /**
   * Parts go up `partConcurrency` at a time. On any failure the remaining parts are not
   * started, in-flight ones are awaited, and then the upload is aborted: aborting while parts
   * are still arriving can leave stored parts behind (S3 docs), and those cost money.
   */
  private async putMultipart(Key: string, data: Buffer | Uint8Array): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    if (UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    try {
      const count = Math.ceil(data.length / this.partSize);
      const parts: CompletedPart[] = new Array<CompletedPart>(count);
      let next = 0;
      let failed = false;
      const worker = async (): Promise<void> => {
        while (!failed && next < count) {
          const index = next++;
          const body = data.subarray(index * this.partSize, Math.min((index + 1) * this.partSize, data.length));
          try {
            const res = await this.client.send(
              new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: index + 1, Body: body, ContentLength: body.length }),
            );
            parts[index] = { PartNumber: index + 1, ETag: res.ETag };
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      };
      const results = await Promise.allSettled(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      // Best effort: the original failure is what the caller needs to see.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }
}

/** The S3 client a store builds for `config` (exported so tests can add middleware to one). */
export function createS3Client(config: S3BlobStoreConfig): S3Client {
  const endpoint = config.endpoint || process.env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    region: config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    followRegionRedirects: true,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: config.forcePathStyle ?? endpoint !== undefined,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    ...(config.maxAttempts ? { maxAttempts: config.maxAttempts } : {}),
    // Without these the SDK sends aws-chunked bodies with trailing checksums, which servers
    // such as s3rver store verbatim (chunk framing inside the object).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // socketTimeout, not requestTimeout: in this SDK requestTimeout only logs a warning (unless
    // throwOnRequestTimeout) and would cut long uploads on slow links; an idle socket is the
    // stall. It destroys the request with a TimeoutError, which the SDK's retry strategy and
    // our RetryingBlobStore retry as transient — so a connection that stalls forever costs at
    // most this long per attempt.
    requestHandler: {
      connectionTimeout: config.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      socketTimeout: config.requestTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    },
  });
}

function totalSize(contentRange: string | undefined): number | undefined {
  const total = /\/(\d+)$/.exec(contentRange ?? '')?.[1];
  return total === undefined ? undefined : Number(total);
}

/** The response body as one Buffer, without copying the SDK's byte array. */
async function readBody(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The body ended before (or ran past) the length the server announced: a broken transfer, worth retrying. */
function truncated(location: string, name: string): WedsyncError {
  return new WedsyncError('STORAGE_UNAVAILABLE', `S3 get of blob ${JSON.stringify(name)} in ${location} returned a truncated body`, {
    details: { location, name, retryable: true },
  });
}
