import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../agent/source/embedded.js';
import { ensureBuilt } from './build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test cluster's `postgres` database. */
    pgAdminUrl: string;
  }
}

let cluster: EmbeddedCluster | undefined;
let dir: string | undefined;

/** Starts one throwaway PostgreSQL for the whole run, unless DATABASE_URL names one. */
export async function setup(project: TestProject): Promise<void> {
  ensureBuilt(process.cwd());
  if (process.env.DATABASE_URL) {
    project.provide('pgAdminUrl', process.env.DATABASE_URL);
    return;
  }
  dir = await mkdtemp(join(tmpdir(), 'wedsync-test-pg-'));
  cluster = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    persistent: false,
    // Throwaway cluster: durability buys nothing here and costs seconds.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200' },
  });
  project.provide('pgAdminUrl', cluster.url);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
