import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { openCatalog, type Catalog, type NewSnapshot } from '../catalog/catalog.js';
import { migrate } from '../catalog/migrate.js';
import { SnapshotListReader, summary } from './snapshot-list.js';

/** A catalog row of `weddings` weddings (the list's id arrays are what the reader avoids re-reading). */
function row(weddings: number, createdAt: string, type: NewSnapshot['snapshotType'] = 'full'): NewSnapshot {
  return {
    id: randomUUID(), backupJobId: null, snapshotType: type, tier: 3, parentSnapshotId: null,
    weddingIds: Array.from({ length: weddings }, () => randomUUID()), organizationIds: [randomUUID()], dataTypes: null,
    tableCount: 7, weddingCount: weddings, rowCount: 10 * weddings, photoCount: 0, photoProblems: 0, backupSizeBytes: 1000, bytesNew: 10,
    compressionRatio: null, dataIntegrityHash: 'h', encryptionKeyId: 'k', storageLocation: '/repo', storageProvider: 'local', createdAt,
  };
}

describe('SnapshotListReader (the snapshot list under polling)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let catalog: Catalog;
  beforeAll(async () => {
    db = await createTestDatabase('snaplist');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrate(client);
    catalog = await openCatalog(db.url);
    for (let i = 0; i < 5; i++) await catalog.insertSnapshot(row(30, `2026-11-0${i + 1}T10:00:00Z`, i === 4 ? 'emergency' : 'full'));
  });
  afterAll(async () => {
    await catalog?.close();
    await client?.end();
    await db?.drop();
  });

  it('answers exactly what the catalog lists, reads each snapshot\'s wedding ids once, and hands out the same answer until a row changes', async () => {
    const reads: Array<{ brief?: boolean; ids?: string[] }> = [];
    const counting: Pick<Catalog, 'listSnapshots'> = {
      listSnapshots: (f) => {
        reads.push({ ...(f?.brief ? { brief: true } : {}), ...(f?.ids ? { ids: f.ids } : {}) });
        return catalog.listSnapshots(f);
      },
    };
    const reader = new SnapshotListReader();
    const expected = async (q: { type?: 'emergency'; limit?: number; weddingId?: string }) => (await catalog.listSnapshots(q)).map(summary);

    const first = await reader.list(counting, { limit: 3 });
    expect(first).toEqual(await expected({ limit: 3 }));
    expect(first.map((s) => s.weddingIds.length)).toEqual([30, 30, 30]);
    expect(reads).toEqual([{ brief: true }, { ids: first.map((s) => s.id) }]);

    // Nothing changed: the same object (validated and encoded once by api/http.ts), no id arrays read.
    reads.length = 0;
    expect(await reader.list(counting, { limit: 3 })).toBe(first);
    const all = await reader.list(counting, { limit: 200 });
    expect(all).toEqual(await expected({ limit: 200 }));
    expect(reads.filter((r) => r.ids).map((r) => r.ids!.length)).toEqual([2]); // only the two not seen yet
    const oneWedding = first[1]!.weddingIds[7]!;
    expect(await reader.list(counting, { weddingId: oneWedding })).toEqual(await expected({ weddingId: oneWedding }));
    expect(await reader.list(counting, { type: 'emergency' })).toEqual(await expected({ type: 'emergency' }));

    // A validation result, a new snapshot, a forgotten one: each gives a new, exact answer.
    await client.query(`UPDATE backup_snapshots SET validation_status = 'valid', validation_completed_at = now() WHERE id = $1`, [first[0]!.id]);
    const validated = await reader.list(counting, { limit: 3 });
    expect(validated).not.toBe(first);
    expect(validated).toEqual(await expected({ limit: 3 }));
    expect(validated[0]!.validationStatus).toBe('valid');
    await catalog.insertSnapshot(row(30, '2026-11-20T10:00:00Z'));
    await client.query(`UPDATE backup_snapshots SET forgotten_at = now() WHERE id = $1`, [first[2]!.id]);
    const later = await reader.list(counting, { limit: 200 });
    expect(later).toEqual(await expected({ limit: 200 }));
    expect(later.map((s) => s.id)).not.toContain(first[2]!.id);
    expect(later).toHaveLength(5);
  });
});
