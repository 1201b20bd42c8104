import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3BlobStoreConfig } from '../agent/storage/s3/s3-config.js';

/** The slice of s3rver's API we use (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

// s3rver is CommonJS without typings: load it through require and give it the shape above.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3://<bucket>/<prefix>: a store location unique to this server. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a free loopback port with its files in a fresh temp folder and one empty
 * bucket. stop() shuts it down and removes the folder. s3rver accepts the fixed S3RVER keys.
 */
export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'wedsync-s3rver-'));
  const bucket = 'wedsync-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    url: `s3://${bucket}/run-${randomBytes(4).toString('hex')}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** An S3BlobStore config for `server`; `prefix` defaults to the one in server.url. */
export function s3StoreConfig(server: S3TestServer, prefix?: string): S3BlobStoreConfig {
  return {
    bucket: server.bucket,
    prefix: prefix ?? server.url.slice(`s3://${server.bucket}/`.length),
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
}
