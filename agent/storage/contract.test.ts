import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { s3StoreConfig, startS3Server, type S3TestServer } from '../../test-support/s3.js';
import { blobStoreContract } from './contract.js';
import { LocalBlobStore } from './local/local-store.js';
import { MemoryBlobStore } from './memory/memory-store.js';
import { S3BlobStore } from './s3/s3-store.js';

// Each test gets a fresh, empty store: a new Map, a new folder, a new key prefix.
let counter = 0;

blobStoreContract('memory', () => new MemoryBlobStore(`contract-${counter++}`));

describe('local', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'wedsync-local-contract-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  blobStoreContract('local', () => LocalBlobStore.open(join(root, `store-${counter++}`), { create: true }));
});

describe('s3', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    await server.stop();
  });
  // s3rver writes an object in place while racing PUTs stream in, so it cannot keep the
  // "one whole version" promise that real S3 (atomic PUT) keeps; everything else is checked.
  blobStoreContract('s3', () => new S3BlobStore(s3StoreConfig(server, `contract/store-${counter++}`)), { atomicOverwrite: false });
});
