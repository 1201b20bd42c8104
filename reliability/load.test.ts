import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepBackupsRunning, readPaths, runLoad, startAgentProcess, type AgentProcess } from '../bench/load.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { pick, report } from './profile.js';

/**
 * Load (issue 10, item 7): API reads (snapshot lists, status, a snapshot's detail, health) at
 * 200 requests/s against the agent — its own process, as users run it — while it runs backups
 * back to back. No request may fail. Latency is recorded, never asserted (machines differ);
 * the 60 s run (RELIABILITY_FULL=1, or bench/load-bench.js on bigger data) gives bench/RESULTS.md its p99.
 */
describe('API reads under load while backups run', () => {
  let world: BackupWorld;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: pick(10, 200) });
    await world.backup({ type: 'full' });
    await writeFile(join(world.dir, 'pass'), `${world.passphrase}\n`);
    agent = await startAgentProcess({
      DATABASE_URL: world.db.url,
      WEDSYNC_REPO: join(world.dir, 'repo'),
      WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'),
      WEDSYNC_PASSPHRASE_FILE: join(world.dir, 'pass'),
      WEDSYNC_PASSPHRASE: '',
      WEDSYNC_HOME: join(world.dir, 'home'),
      WEDSYNC_PARALLELISM: '2',
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await world?.close();
  });

  it('200 requests/s: every one answered 2xx while backups run back to back', { timeout: pick(60_000, 300_000) }, async () => {
    const [latest] = await world.catalog.listSnapshots({ limit: 1 });
    const backups = await keepBackupsRunning(world.db.url);
    const load = await runLoad({ url: agent!.url, token: agent!.token, rate: 200, durationMs: pick(5_000, 60_000), paths: readPaths(latest!.id) });
    const ran = await backups.stop();
    expect(load.errors.slice(0, 10)).toEqual([]);
    expect(load.answered).toBe(load.requests);
    expect(ran.completed).toBeGreaterThan(0);
    expect(ran.failed).toBe(0);
    const ms = (n: number) => Math.round(n * 10) / 10;
    report('load', { requests: load.requests, errors: load.errors.length, rate: ms(load.achievedRate), p50ms: ms(load.p50), p99ms: ms(load.p99), maxms: ms(load.max), backupsDuringLoad: ran.completed });
  });
});
