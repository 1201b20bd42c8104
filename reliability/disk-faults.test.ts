import { spawn } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWedsyncError } from '../agent/contract/errors.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { runBackup } from '../agent/jobs/backup.js';
import { silentLogger } from '../agent/logger.js';
import { openRepository } from '../agent/repository/repository.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { LocalBlobStore } from '../agent/storage/local/local-store.js';
import { RetryingBlobStore } from '../agent/storage/retrying-store.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { FaultyBlobStore, type FaultRule } from '../test-support/faults/faulty-store.js';
import { ROOT } from './child.js';
import { churn, expectEverySnapshotValid, expectRepositoryClean, expectSnapshotEqualsDatabase, GARBAGE_KINDS } from './invariants.js';
import { report, seeded } from './profile.js';

/**
 * Folder target faults (issue 10, item 2): a full disk (ENOSPC), permissions taken away (EACCES),
 * a failing disk (EIO), injected through FaultyBlobStore at each stage of a backup — packs, the
 * index file, the manifest. Each ends in a clean failure: the job failed with the reason in one
 * line, no snapshot listed (repository or catalog), nothing but garbage left; and once the
 * disk is healthy again the next backup succeeds and holds exactly the database.
 * Also: a put killed mid-write leaves a temp file that no listing shows and that the next
 * listing removes once it is an hour old (a crash must not leak disk space forever).
 */
describe('folder target: ENOSPC, EACCES, EIO through a BlobStore wrapper', () => {
  let world: BackupWorld;
  let faulty: FaultyBlobStore;
  let injected = 0;
  let survived = 0;

  beforeAll(async () => {
    const dir = join(await import('node:os').then((os) => os.tmpdir()), `wedsync-disk-${process.pid}-${Date.now()}`);
    // The production stack: retries over the folder store, the fault below them (as a real disk's would be).
    faulty = new FaultyBlobStore(await LocalBlobStore.open(dir, { create: true }));
    world = await createBackupWorld({ weddings: 8, packSize: 64 * 1024, repoStore: new RetryingBlobStore(faulty, { retries: 3, minDelayMs: 10, maxDelayMs: 50 }) });
    await world.backup({ type: 'full' });
  });
  afterAll(async () => {
    await world?.close();
    report('disk faults', { injected, cleanFailures: injected > 0 ? survived : 0 });
  });

  const cases: Array<{ name: string; rules?: FaultRule[]; freeBytes?: number; code: string; message: RegExp }> = [
    { name: 'the disk fills up while packs are written', freeBytes: 100_000, code: 'STORAGE_UNAVAILABLE', message: /no space left on device \(ENOSPC\)/ },
    { name: 'ENOSPC on the index file', rules: [{ errno: 'ENOSPC', prefixes: ['index/'] }], code: 'STORAGE_UNAVAILABLE', message: /no space left on device \(ENOSPC\)/ },
    { name: 'ENOSPC on the manifest', rules: [{ errno: 'ENOSPC', prefixes: ['snapshots/'] }], code: 'STORAGE_UNAVAILABLE', message: /blob "snapshots\/.*no space left on device \(ENOSPC\)/ },
    { name: 'EACCES on the second pack', rules: [{ errno: 'EACCES', prefixes: ['packs/'], after: 1 }], code: 'STORAGE_NOT_WRITABLE', message: /permission denied \(EACCES\)/ },
    { name: 'EACCES on the manifest', rules: [{ errno: 'EACCES', prefixes: ['snapshots/'] }], code: 'STORAGE_NOT_WRITABLE', message: /permission denied \(EACCES\)/ },
    { name: 'EIO reading the index', rules: [{ errno: 'EIO', ops: ['get'], prefixes: ['index/'] }], code: 'STORAGE_UNAVAILABLE', message: /i\/o error|input\/output error \(EIO\)/ },
  ];

  for (const c of cases) {
    it(`${c.name}: clean failure with the reason, no partial snapshot; the next backup succeeds`, async () => {
      const prng = seeded(`disk ${c.name}`);
      await churn(world.client, world.photoStore, prng, 6);
      // A fresh repository object, as a new process has: its index is read through the faults.
      const repo = await openRepository(world.repoStore, world.passphrase);
      const before = { manifests: await repo.listSnapshots(), rows: (await world.catalog.listSnapshots()).map((r) => r.id) };
      faulty.setRules(c.rules ?? []);
      if (c.freeBytes !== undefined) faulty.setFreeBytes(c.freeBytes);
      const logger = await silentLogger();
      let error: unknown;
      try {
        await runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' });
      } catch (err) {
        error = err;
      } finally {
        injected += faulty.injected.length;
        faulty.injected.length = 0;
        faulty.heal();
      }
      expect(isWedsyncError(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: c.code });
      expect((error as Error).message).toMatch(c.message);
      expect((error as Error).message.split('\n')).toHaveLength(1);
      // Nothing half-visible: the same snapshots in the repository and the catalog; the job failed with the reason.
      const fresh = await openRepository(world.repoStore, world.passphrase);
      expect(await fresh.listSnapshots()).toEqual(before.manifests);
      expect((await world.catalog.listSnapshots()).map((r) => r.id)).toEqual(before.rows);
      const { rows } = await world.client.query(`SELECT status, error_details FROM backup_jobs ORDER BY created_at DESC LIMIT 1`);
      expect(rows[0]).toMatchObject({ status: 'failed', error_details: { code: c.code } });
      await expectRepositoryClean(fresh, world.passphrase, GARBAGE_KINDS, { readData: false });
      survived++;

      // Healthy again: the next backup succeeds and holds exactly the database.
      const next = await runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo: fresh, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' });
      await expectEverySnapshotValid(fresh, world.catalog);
      await expectSnapshotEqualsDatabase(fresh, next.snapshotId, world.client);
    });
  }
});

describe('a put killed mid-write', () => {
  it('leaves a temp file no listing shows; a listing removes it once it is an hour old, never a fresh one', async () => {
    const dir = join(await import('node:os').then((os) => os.tmpdir()), `wedsync-tmp-${process.pid}-${Date.now()}`);
    await mkdir(join(dir, 'packs', 'ab'), { recursive: true });
    // A child writes a big blob; it is killed as soon as its temp file appears (mid-write).
    const script = `import(${JSON.stringify(join(ROOT, 'dist/agent/storage/local/local-store.js'))}).then(async ({ LocalBlobStore }) => {
      const s = await LocalBlobStore.open(${JSON.stringify(dir)});
      await s.put('packs/ab/${'a'.repeat(64)}', Buffer.alloc(512 * 1024 * 1024, 7));
    });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const temps = async () => (await readdir(join(dir, 'packs', 'ab'))).filter((n) => n.startsWith('~tmp-'));
    const deadline = Date.now() + 30_000;
    while ((await temps()).length === 0) {
      if (Date.now() > deadline) throw new Error('the child never started writing');
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const [left] = await temps();
    expect(left).toBeDefined();

    const store = await LocalBlobStore.open(dir);
    expect(await store.list('packs/')).toEqual([]); // invisible, but still on disk while young
    expect(await temps()).toEqual([left]);
    // A fresh temp (a put in progress elsewhere) survives listings; an hour-old one does not.
    const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(dir, 'packs', 'ab', left!), hoursAgo, hoursAgo);
    await writeFile(join(dir, 'packs', 'ab', '~tmp-0123456789abcdef'), 'in progress');
    expect(await store.list('packs/')).toEqual([]);
    expect(await temps()).toEqual(['~tmp-0123456789abcdef']);
  });
});
