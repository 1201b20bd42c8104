import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { s3StoreConfig, startS3Server, type S3TestServer } from '../../../test-support/s3.js';
import { WedsyncError, type ErrorCode } from '../../contract/errors.js';
import { MIB } from './s3-config.js';
import { createS3Client, S3BlobStore } from './s3-store.js';
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<WedsyncError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WedsyncError);
  expect((err as WedsyncError).code).toBe(code);
  expect((err as WedsyncError).message).not.toMatch(/\n/);
  return err as WedsyncError;
}

/** A port nobody listens on: bind, read it, close. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('S3BlobStore', () => {
  it('names its location s3://bucket/prefix, ignoring stray slashes', async () => {
    const store = new S3BlobStore({ ...s3StoreConfig(server), prefix: '/a/b/' });
    expect(store.location).toBe(`s3://${server.bucket}/a/b`);
    expect(new S3BlobStore({ ...s3StoreConfig(server), prefix: '' }).location).toBe(`s3://${server.bucket}`);
    await store.close();
  });

  it('rejects a prefix that is not a blob-like path', () => {
    expect(() => new S3BlobStore({ ...s3StoreConfig(server), prefix: 'a//b' })).toThrow(WedsyncError);
  });

  it('keeps blobs of different prefixes apart', async () => {
    const a = new S3BlobStore(s3StoreConfig(server, 'iso/a'));
    const b = new S3BlobStore(s3StoreConfig(server, 'iso/ab'));
    await a.put('x', Buffer.from('a'));
    await b.put('x', Buffer.from('b'));
    expect(await a.list('')).toEqual([{ name: 'x', size: 1 }]);
    expect((await b.get('x')).toString()).toBe('b');
    await Promise.all([a.close(), b.close()]);
  });

  it('follows list pagination', async () => {
    // s3rver cannot truncate a listing on Node >= 17 (its continuation tokens use DES, which
    // OpenSSL 3 dropped), so a middleware pages its full answer two keys at a time instead.
    const client = createS3Client(s3StoreConfig(server));
    const tokens: (string | undefined)[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'ListObjectsV2Command') return next(args);
        const { ContinuationToken, ...input } = args.input as ListObjectsV2CommandInput;
        tokens.push(ContinuationToken);
        const start = Number(ContinuationToken ?? 0);
        const full = await next({ ...args, input });
        const output = full.output as ListObjectsV2CommandOutput;
        const more = start + 2 < (output.Contents ?? []).length;
        const page = { ...output, Contents: output.Contents?.slice(start, start + 2), IsTruncated: more, NextContinuationToken: more ? String(start + 2) : undefined };
        return { ...full, output: page };
      },
      { step: 'initialize', name: 'pageByTwo' },
    );
    const store = new S3BlobStore(s3StoreConfig(server, 'paged'), client);
    const names = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5', 'q/6'];
    for (const n of names) await store.put(n, Buffer.from(n));
    expect((await store.list('')).map((b) => b.name).sort()).toEqual(names);
    expect(tokens).toEqual([undefined, '2', '4']);
    expect((await store.list('p/')).length).toBe(5);
    client.destroy();
  });

  it('aborts a failed multipart upload and leaves nothing visible', async () => {
    const client = createS3Client(s3StoreConfig(server));
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '?');
        if (context.commandName === 'UploadPartCommand' && (args.input as { PartNumber?: number }).PartNumber === 2) {
          throw Object.assign(new Error('injected'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failPartTwo' },
    );
    const store = new S3BlobStore({ ...s3StoreConfig(server, 'multipart'), multipartThresholdBytes: 6 * MIB, partSizeBytes: 5 * MIB, partConcurrency: 1 }, client);
    const err = await failure(store.put('big', randomBytes(12 * MIB)), 'STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(true);
    expect(sent).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'AbortMultipartUploadCommand']);
    expect(await store.head('big')).toBeNull();
    expect(await store.list('')).toEqual([]);

    // The same store succeeds with multipart once nothing interferes.
    const ok = new S3BlobStore({ ...s3StoreConfig(server, 'multipart'), multipartThresholdBytes: 6 * MIB, partSizeBytes: 5 * MIB });
    const data = randomBytes(12 * MIB + 3);
    await ok.put('big', data);
    expect((await ok.get('big')).equals(data)).toBe(true);
    await ok.close();
    client.destroy();
  });

  it('reports refused credentials as STORAGE_NOT_WRITABLE without echoing them', async () => {
    // s3rver checks the key id (not SigV4 signatures): an unknown one is a 403 InvalidAccessKeyId.
    const credentials = { accessKeyId: 'AKIAWRONGKEY123', secretAccessKey: 'not-the-secret-XYZ123' };
    const store = new S3BlobStore({ ...s3StoreConfig(server), credentials });
    const err = await failure(store.put('x', Buffer.from('x')), 'STORAGE_NOT_WRITABLE');
    expect(err.message).toContain(store.location);
    expect(err.message).toContain('InvalidAccessKeyId');
    // Neither the message nor what a logger would serialise from the error carries the keys.
    const serialised = JSON.stringify({ message: err.message, details: err.details, cause: err.cause, causeKeys: Object.keys(err.cause as object) });
    expect(serialised).not.toContain(credentials.secretAccessKey);
    expect(serialised).not.toContain('$response');
    expect(err.message).not.toContain(credentials.accessKeyId);
    await store.close();
  });

  it('reports a missing bucket as non-retryable STORAGE_UNAVAILABLE', async () => {
    const store = new S3BlobStore({ ...s3StoreConfig(server), bucket: 'no-such-bucket' });
    const err = await failure(store.get('x'), 'STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(false);
    await store.close();
  });

  it('reports an unreachable endpoint as retryable STORAGE_UNAVAILABLE', async () => {
    const store = new S3BlobStore({ ...s3StoreConfig(server), endpoint: `http://127.0.0.1:${await deadPort()}`, maxAttempts: 1 });
    const err = await failure(store.list(''), 'STORAGE_UNAVAILABLE');
    expect(err.details?.retryable).toBe(true);
    expect(err.details?.errno).toBe('ECONNREFUSED');
    await store.close();
  });

  it('takes the endpoint from AWS_ENDPOINT_URL when none is configured', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', server.endpoint);
    const { endpoint: _unused, ...config } = s3StoreConfig(server, 'from-env');
    const store = new S3BlobStore(config);
    await store.put('env', Buffer.from('ok'));
    expect((await store.get('env')).toString()).toBe('ok');
    await store.close();
  });
});
