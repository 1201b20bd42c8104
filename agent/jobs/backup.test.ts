import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { openRepository } from '../repository/repository.js';
import { initRepository } from '../repository/repository.js';
import { RecordingStore, TEST_KDF } from '../repository/test-helpers.js';
import { collectGarbage } from '../repository/prune.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { runBackup } from './backup.js';
import { openBackupSource } from '../source/backup-source.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { silentLogger } from '../logger.js';
import type { Manifest } from '../contract/manifest.js';
import type { Repository } from '../repository/repository.js';

async function copyText(client: pg.Client, sql: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of client.query(copyTo(`COPY (${sql}) TO STDOUT`)) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every table's rows rebuilt from the snapshot's segments, in the export's order. */
async function rowsFromSnapshot(repo: Repository, m: Manifest): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of m.schema.tables) {
    const q = `${t.schema}.${t.name}`;
    const ids = [...m.weddings.flatMap((w) => (w.tables[q] ?? []).map((s) => s.id)), ...t.segments.map((s) => s.id)];
    const blobs = await repo.loadBlobs(ids);
    out.set(q, ids.map((id) => blobs.get(id)!.toString('utf8')).join(''));
  }
  return out;
}

/** The same rows straight from the database, in the same order (wedding, then key; NULL weddings last). */
async function rowsFromDatabase(client: pg.Client, m: Manifest): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of m.schema.tables) {
    const q = `${t.schema}.${t.name}`;
    const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
    const wc = q === 'public.weddings' ? 'id' : DEFAULT_SCHEMA_MAP.tables.find((x) => x.table === q)?.weddingColumn;
    const order = [...(wc ? [`"${wc}"`] : []), ...(t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name)).map((c) => `"${c}"`)].join(', ');
    out.set(q, await copyText(client, `SELECT ${cols} FROM "${t.schema}"."${t.name}" ORDER BY ${order}`));
  }
  return out;
}

describe('backup engine (real PostgreSQL, folder repository)', () => {
  let world: BackupWorld;
  let full: Manifest;
  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 10 });
  });
  afterAll(async () => world?.close());

  it('full backup: every segment decodes back into exactly the database rows, and the catalog has the snapshot', async () => {
    const result = await world.backup({ type: 'full' });
    expect(result.type).toBe('full');
    expect(result.weddingCount).toBe(10);
    full = await world.repo.loadManifest(result.snapshotId);
    expect(full.weddings).toHaveLength(10);
    expect(full.totals.rowCount).toBe(result.rowCount);
    expect(full.weddings.every((w) => w.photos.length === 2)).toBe(true);
    expect(full.photoProblems).toEqual([]);

    const fromSnapshot = await rowsFromSnapshot(world.repo, full);
    const fromDb = await rowsFromDatabase(world.client, full);
    expect([...fromSnapshot.keys()].sort()).toEqual([...fromDb.keys()].sort());
    for (const [table, rows] of fromDb) expect(fromSnapshot.get(table), table).toBe(rows);
    // The catalog tables are not part of the backup.
    expect(full.schema.tables.map((t) => t.name)).not.toContain('backup_jobs');

    const row = await world.catalog.getSnapshot(result.snapshotId);
    expect(row).toMatchObject({ snapshotType: 'full', weddingCount: 10, rowCount: result.rowCount, dataIntegrityHash: full.integrityHash, encryptionKeyId: world.repo.keyId, storageProvider: 'local' });
    const { rows: jobs } = await world.client.query(`SELECT status FROM backup_jobs WHERE id = $1`, [result.jobId]);
    expect(jobs[0].status).toBe('completed');
  });

  it('a second full backup of unchanged data stores almost nothing new (dedup)', async () => {
    const again = await world.backup({ type: 'full' });
    const first = await world.catalog.getSnapshot(full.snapshotId);
    expect(again.bytesNew).toBeLessThan(first!.backupSizeBytes * 0.01);
    const m = await world.repo.loadManifest(again.snapshotId);
    expect(m.weddings).toEqual(full.weddings);
  });

  it('progress counts every wedding once (counted, not collected) and ends with all of them', async () => {
    const done: number[] = [];
    const deps = { catalog: world.catalog, repo: world.repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger: await silentLogger() };
    const result = await runBackup({ ...deps, openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), onProgress: (p) => done.push(p.weddingsDone) }, { type: 'full' });
    expect(result.weddingCount).toBe(10);
    expect(done.at(-1)).toBe(10);
    expect(done.every((n, i) => i === 0 || n >= done[i - 1]!)).toBe(true);
  });

  it('incremental reads only the changed wedding and equals a full backup taken at the same point', async () => {
    const { rows } = await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 2');
    const [a, b] = rows.map((r) => r.id);
    await world.client.query(`UPDATE guests SET dietary_requirements = 'vegan, changed' WHERE wedding_id = $1`, [a]);
    await world.client.query(`DELETE FROM timeline_events WHERE wedding_id = $1`, [b]);
    const inc = await world.backup({ type: 'incremental' });
    expect(inc.type).toBe('incremental');
    expect(inc.parentSnapshotId).not.toBeNull();
    const guestsPerWedding = 12;
    expect(inc.rowsExported).toBeLessThan(guestsPerWedding * 3 + 50);
    const incManifest = await world.repo.loadManifest(inc.snapshotId);
    const fullNow = await world.repo.loadManifest((await world.backup({ type: 'full' })).snapshotId);
    expect(incManifest.weddings).toEqual(fullNow.weddings);
    expect(incManifest.schema.tables).toEqual(fullNow.schema.tables);
    const weddingB = incManifest.weddings.find((w) => w.weddingId === b)!;
    expect(weddingB.tables['public.timeline_events']).toBeUndefined();
    expect(weddingB.rowCounts.timeline ?? 0).toBe(0);
  });

  it('incremental drops a deleted wedding and adds a new one', async () => {
    const { rows } = await world.client.query<{ id: string; organization_id: string }>('SELECT id, organization_id FROM weddings ORDER BY id DESC LIMIT 1');
    const gone = rows[0]!.id;
    await world.client.query('DELETE FROM weddings WHERE id = $1', [gone]);
    const { rows: added } = await world.client.query<{ id: string }>(
      `INSERT INTO weddings (organization_id, couple_names, wedding_date, venue_name, type, status) VALUES ($1, 'Siobhán & José', '2027-02-14', 'Barn', 'standard', 'planning') RETURNING id`,
      [rows[0]!.organization_id],
    );
    const inc = await world.backup({ type: 'incremental' });
    const m = await world.repo.loadManifest(inc.snapshotId);
    expect(m.weddings.map((w) => w.weddingId)).not.toContain(gone);
    expect(m.weddings.map((w) => w.weddingId)).toContain(added[0]!.id);
    const check = await rowsFromSnapshot(world.repo, m);
    const db = await rowsFromDatabase(world.client, m);
    for (const [table, text] of db) expect(check.get(table), table).toBe(text);
  });

  it('emergency backup of one wedding and chosen data types holds only those', async () => {
    const { rows } = await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY wedding_date LIMIT 1');
    const id = rows[0]!.id;
    const result = await world.backup({ type: 'emergency', weddingIds: [id], dataTypes: ['guests'] });
    const m = await world.repo.loadManifest(result.snapshotId);
    expect(m.scope).toMatchObject({ kind: 'partial', weddingIds: [id] });
    expect(m.weddings.map((w) => w.weddingId)).toEqual([id]);
    expect(Object.keys(m.weddings[0]!.tables).sort()).toEqual(['public.guests', 'public.weddings']);
    expect(m.weddings[0]!.photos).toEqual([]);
    const row = await world.catalog.getSnapshot(result.snapshotId);
    expect(row?.snapshotType).toBe('emergency');
    expect(row?.weddingIds).toEqual([id]);
  });

  it('an unknown wedding is refused with NOT_FOUND naming it, and no job or snapshot is recorded', async () => {
    const before = await world.client.query('SELECT count(*)::int AS n FROM backup_jobs');
    const missing = '00000000-0000-4000-8000-000000000abc';
    await expect(world.backup({ type: 'emergency', weddingIds: [missing] })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(missing) });
    const after = await world.client.query('SELECT count(*)::int AS n FROM backup_jobs');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('the manifest decrypts only with the right key', async () => {
    await expect(openRepository(world.repoStore, 'wrong passphrase')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    const other = await initRepository(new MemoryBlobStore(), world.passphrase, { kdf: TEST_KDF });
    const raw = await world.repoStore.get(`snapshots/${full.snapshotId}`);
    await other.store.put(`snapshots/${full.snapshotId}`, raw);
    await expect(other.loadManifest(full.snapshotId)).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('a repository still unlocking: the database snapshot opens before the key is awaited, and the incremental is the one the key at hand gives', async () => {
    const { rows } = await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 1 OFFSET 2');
    await world.client.query(`UPDATE guests SET dietary_requirements = 'gluten-free' WHERE wedding_id = $1`, [rows[0]!.id]);
    const logger = await silentLogger();
    const events: string[] = [];
    // The key is handed over only once the source is open: a backup that waited for the key
    // first would never get it (the fallback then releases it, and the order check fails).
    let release!: () => void;
    const keyWanted = new Promise<void>((resolve) => (release = resolve));
    const fallback = setTimeout(() => {
      events.push('fallback');
      release();
    }, 20_000);
    const opened = keyWanted.then(async () => {
      events.push('key');
      return world.reopen();
    });
    const inc = await runBackup(
      {
        openSource: async () => {
          const source = await openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2);
          events.push('source');
          release();
          return source;
        },
        catalog: world.catalog,
        repo: { store: world.repoStore, opened },
        photoStore: world.photoStore,
        map: DEFAULT_SCHEMA_MAP,
        logger,
      },
      { type: 'incremental' },
    ).finally(() => clearTimeout(fallback));
    expect(events).toEqual(['source', 'key']);
    expect(inc.type).toBe('incremental');
    expect(inc.rowsExported).toBeLessThan(100);
    const incManifest = await world.repo.loadManifest(inc.snapshotId);
    const fullNow = await world.repo.loadManifest((await world.backup({ type: 'full' })).snapshotId);
    expect(incManifest.weddings).toEqual(fullNow.weddings);
  });

  it('a wrong passphrase found while the source opens: WRONG_PASSPHRASE, and no job row, lock file or repository write', async () => {
    const recording = new RecordingStore(world.repoStore);
    const jobs = async () => (await world.client.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_jobs')).rows[0]!.n;
    const before = await jobs();
    const logger = await silentLogger();
    await expect(
      runBackup(
        {
          openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2),
          catalog: world.catalog,
          repo: { store: recording, opened: openRepository(recording, 'not the passphrase') },
          photoStore: world.photoStore,
          map: DEFAULT_SCHEMA_MAP,
          logger,
        },
        { type: 'incremental' },
      ),
    ).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(await jobs()).toBe(before);
    expect(recording.puts).toEqual([]);
    expect(await world.repoStore.list('locks/')).toEqual([]);
  });

  it('index files read before the lock are read again under it: packs a prune removed meanwhile are never deduplicated against', async () => {
    const logger = await silentLogger();
    // A wedding with guests (an earlier test adds one without any, and its random id may sort
    // anywhere): the update must change rows, or the crashed backup below stores nothing new.
    const { rows } = await world.client.query<{ id: string }>('SELECT wedding_id AS id FROM guests GROUP BY wedding_id ORDER BY wedding_id LIMIT 1 OFFSET 4');
    const updated = await world.client.query(`UPDATE guests SET dietary_requirements = 'halal, garbage test' WHERE wedding_id = $1`, [rows[0]!.id]);
    expect(updated.rowCount).toBeGreaterThan(0);
    // A backup that crashed before its root: its packs and index file are stored, no snapshot needs them.
    const crashing = new RecordingStore(world.repoStore);
    crashing.failPutsMatching = /^snapshots\//;
    const deps = (store: RecordingStore) => ({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger, repo: { store, opened: openRepository(store, world.passphrase) } });
    await expect(runBackup(deps(crashing), { type: 'full' })).rejects.toThrow(/snapshots\//);

    // The next backup of the same rows: once it has read the index (garbage included), and before
    // its lock file exists, a prune collects that garbage and rewrites the index.
    class PruneBeforeLock extends RecordingStore {
      hook: (() => Promise<void>) | null = null;
      override async put(name: string, data: Buffer | Uint8Array): Promise<void> {
        const hook = name.startsWith('locks/') ? this.hook : null;
        this.hook = null;
        if (hook) await hook();
        return super.put(name, data);
      }
    }
    const store = new PruneBeforeLock(world.repoStore);
    const d = deps(store);
    let deleted = 0;
    store.hook = async () => {
      await (await d.repo.opened).loadIndex(); // the read that started before the lock
      const gc = await openRepository(world.repoStore, world.passphrase);
      const now = Date.now();
      await collectGarbage(gc, { passphrase: world.passphrase, now: new Date(now), graceMs: 0 });
      deleted = (await collectGarbage(gc, { passphrase: world.passphrase, now: new Date(now + 1000), graceMs: 0 })).packs.deleted;
    };
    const result = await runBackup(d, { type: 'full' });
    expect(deleted).toBeGreaterThan(0);
    expect(result.bytesNew).toBeGreaterThan(0); // stored again, not found in the collected packs
    const fresh = await world.reopen();
    const m = await fresh.loadManifest(result.snapshotId);
    const check = await rowsFromSnapshot(fresh, m);
    for (const [table, text] of await rowsFromDatabase(world.client, m)) expect(check.get(table), table).toBe(text);
  });

  it('a crash before the manifest leaves no visible snapshot; the job is marked failed', async () => {
    const recording = new RecordingStore(world.repoStore);
    recording.failPutsMatching = /^snapshots\//;
    const repo = await openRepository(recording, world.passphrase);
    const before = await repo.listSnapshots();
    const logger = await silentLogger();
    await expect(
      runBackup({ openSource: () => openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' }),
    ).rejects.toThrow();
    expect(await repo.listSnapshots()).toEqual(before);
    const { rows } = await world.client.query(`SELECT status, error_details FROM backup_jobs ORDER BY created_at DESC LIMIT 1`);
    expect(rows[0].status).toBe('failed');
    expect(rows[0].error_details.message).toMatch(/snapshots\//);
    const listed = await world.catalog.listSnapshots();
    expect(listed.every((s) => before.includes(s.id))).toBe(true);
  });

  it('the database going away mid-export fails the job with the reason and lists no snapshot', async () => {
    const repo = await world.reopen();
    const before = await repo.listSnapshots();
    const admin = new pg.Client({ connectionString: world.db.url });
    await admin.connect();
    let killed = false;
    const logger = await silentLogger();
    const attempt = runBackup(
      {
        // The first segment waits until the export's connections are gone: however slow the
        // machine, the loss lands mid-export (each worker awaits its sink before reading on).
        openSource: async () => {
          const source = await openBackupSource(world.db.url, DEFAULT_SCHEMA_MAP, 2);
          return {
            ...source,
            export: (items, sink, onProgress) =>
              source.export(
                items,
                async (segment) => {
                  if (!killed) {
                    killed = true;
                    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'wedsync-backup export%' AND pid <> pg_backend_pid()`);
                  }
                  return sink(segment);
                },
                onProgress,
              ),
          };
        },
        catalog: world.catalog,
        repo,
        photoStore: world.photoStore,
        map: DEFAULT_SCHEMA_MAP,
        logger,
      },
      { type: 'full' },
    );
    await expect(attempt).rejects.toMatchObject({ code: 'DB_UNREACHABLE' });
    await admin.end();
    expect(await repo.listSnapshots()).toEqual(before);
    const { rows } = await world.client.query(`SELECT status, error_details FROM backup_jobs ORDER BY created_at DESC LIMIT 1`);
    expect(rows[0].status).toBe('failed');
    expect(rows[0].error_details.code).toBe('DB_UNREACHABLE');
    // And the next backup succeeds.
    const next = await world.backup({ type: 'full' });
    expect(next.weddingCount).toBeGreaterThan(0);
  });

  it('a missing or altered photo file is reported, not fatal', async () => {
    const { rows } = await world.client.query<{ storage_key: string; wedding_id: string }>(`SELECT storage_key, wedding_id FROM photos WHERE sha256 IS NOT NULL ORDER BY id LIMIT 2`);
    await world.photoStore.delete(rows[0]!.storage_key);
    await world.photoStore.put(rows[1]!.storage_key, Buffer.from('not the photo'));
    const result = await world.backup({ type: 'full' });
    expect(result.photoProblems).toBe(2);
    const m = await world.repo.loadManifest(result.snapshotId);
    expect(m.photoProblems.map((p) => p.problem).sort()).toEqual(['missing', 'sha256-mismatch']);
  });
});
