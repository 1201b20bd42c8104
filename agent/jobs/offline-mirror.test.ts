import { describe, expect, it } from 'vitest';
import { openSqliteCache } from '../cache/sqlite-store.js';
import { SnapshotSummarySchema } from '../contract/api.js';
import { refreshSnapshotMirror } from './offline.js';

const W = '11111111-1111-4111-8111-111111111111';
const row = (id: string, createdAt: string, validationStatus = 'pending') => ({
  id,
  backupJobId: null,
  snapshotType: 'full',
  tier: 3,
  parentSnapshotId: null,
  weddingIds: [W],
  organizationIds: ['o'],
  dataTypes: null,
  tableCount: 7,
  weddingCount: 1,
  rowCount: 10,
  photoCount: 0,
  photoProblems: 0,
  backupSizeBytes: 100,
  bytesNew: 100,
  compressionRatio: 1.5,
  dataIntegrityHash: 'h',
  encryptionKeyId: 'k',
  storageLocation: '/repo',
  storageProvider: 'local',
  validationStatus,
  validationCompletedAt: validationStatus === 'pending' ? null : '2026-01-02T00:00:00.000Z',
  validationDetails: validationStatus === 'pending' ? null : { checked: 3 },
  retentionUntil: null,
  createdAt,
  completedAt: createdAt,
});

describe('snapshot catalog mirror in the cache', () => {
  it('replaces the mirror with the catalog rows; summaries fit the API contract; validation results kept', () => {
    const store = openSqliteCache(':memory:');
    refreshSnapshotMirror(store, [row('a', '2026-01-01T00:00:00.000Z'), row('b', '2026-01-02T00:00:00.000Z', 'valid')]);
    expect(store.listSnapshots({ weddingId: W }).map((s) => s.id)).toEqual(['b', 'a']);
    for (const s of store.listSnapshots()) expect(SnapshotSummarySchema.safeParse(s.summary).success).toBe(true);
    expect(store.getValidation('b')).toMatchObject({ status: 'valid', details: { checked: 3 } });
    refreshSnapshotMirror(store, [row('b', '2026-01-02T00:00:00.000Z', 'valid')]);
    expect(store.listSnapshots().map((s) => s.id)).toEqual(['b']);
    expect(store.getCheckpoint('snapshots.refreshedAt')).toBeTruthy();
    store.close();
  });
});
