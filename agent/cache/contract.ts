import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheStore, CachedWedding } from './store.js';

/**
 * The one test suite every CacheStore backing must pass (after the BlobStore contract): each
 * guarantee of store.ts, against a fresh empty store per test from `factory`. `reopen`, when the
 * backing persists, opens the same data again (as a restarted agent would).
 */
export interface CacheContractOptions {
  factory: () => CacheStore;
  reopen?: (closed: CacheStore) => CacheStore;
}

const W1 = '11111111-1111-4111-8111-111111111111';
const W2 = '22222222-2222-4222-8222-222222222222';

function weddingRecord(id: string, patch: Partial<CachedWedding> = {}): Omit<CachedWedding, 'updatedAt'> {
  return {
    weddingId: id,
    state: 'ready',
    weddingDate: '2026-06-01',
    organizationId: null,
    coupleNames: 'A & B',
    venueName: 'Barn',
    baseSnapshotId: null,
    baseLocation: null,
    baseJournalSnapshot: null,
    baseAt: null,
    realtimeUntil: null,
    purgeAfter: null,
    lastChangeAt: null,
    ...patch,
  };
}

export function cacheStoreContract(name: string, options: CacheContractOptions): void {
  describe(`CacheStore contract: ${name}`, () => {
    let store: CacheStore;
    beforeEach(() => {
      store = options.factory();
    });
    afterEach(() => store.close());

    it('keeps row values verbatim: text output, NULL, tabs, newlines, backslashes, unicode', () => {
      const values = { id: 'k1', note: 'a\tb\nc\\d', empty: '', nothing: null, uni: 'Zoë 🎉', json: '{"a": [1, 2]}' };
      store.putRow({ table: 'public.guests', key: ['k1'], weddingId: W1, values });
      expect(store.getRow('public.guests', ['k1'])).toEqual({ table: 'public.guests', key: ['k1'], weddingId: W1, values });
      expect(store.getRow('public.guests', ['nope'])).toBeNull();
    });

    it('rows: replace by key, list per wedding by table then key, delete one, per wedding, per table', () => {
      store.putRow({ table: 'public.guests', key: ['b'], weddingId: W1, values: { id: 'b', n: '1' } });
      store.putRow({ table: 'public.guests', key: ['a'], weddingId: W1, values: { id: 'a', n: '1' } });
      store.putRow({ table: 'public.guests', key: ['a'], weddingId: W1, values: { id: 'a', n: '2' } });
      store.putRow({ table: 'public.vendors', key: ['v'], weddingId: W1, values: { id: 'v' } });
      store.putRow({ table: 'public.guests', key: ['c'], weddingId: W2, values: { id: 'c' } });
      expect(store.weddingRows(W1).map((r) => `${r.table}:${r.key[0]}:${r.values.n ?? ''}`)).toEqual(['public.guests:a:2', 'public.guests:b:1', 'public.vendors:v:']);
      expect(store.weddingRows(W1, 'public.vendors')).toHaveLength(1);
      expect(store.deleteRow('public.guests', ['b'])).toBe(true);
      expect(store.deleteRow('public.guests', ['b'])).toBe(false);
      expect(store.deleteWeddingRows(W1, 'public.vendors')).toBe(1);
      expect(store.deleteTableRows('public.guests')).toBe(2);
      expect(store.stats().rows).toBe(0);
    });

    it('composite keys are matched whole', () => {
      store.putRow({ table: 's.t', key: ['1', '2'], weddingId: W1, values: { a: '1', b: '2' } });
      expect(store.getRow('s.t', ['1', '2'])).not.toBeNull();
      expect(store.getRow('s.t', ['12'])).toBeNull();
      expect(store.getRow('s.t', ['1'])).toBeNull();
    });

    it('transaction: all or nothing, nested calls join the outer one', () => {
      expect(() =>
        store.transaction(() => {
          store.putRow({ table: 't.a', key: ['1'], weddingId: W1, values: {} });
          store.appendChange({ weddingId: W1, table: 't.a', op: 'I', key: ['1'], values: {}, xid: '1', lsn: '0/1', commitTime: '2026-01-01T00:00:00.000Z' });
          store.setCheckpoint('stream.lsn', '0/10');
          store.transaction(() => store.putRow({ table: 't.a', key: ['2'], weddingId: W1, values: {} }));
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(store.stats()).toMatchObject({ rows: 0, changes: 0 });
      expect(store.getCheckpoint('stream.lsn')).toBeNull();
      const r = store.transaction(() => {
        store.putRow({ table: 't.a', key: ['1'], weddingId: W1, values: {} });
        store.setCheckpoint('stream.lsn', '0/20');
        return 42;
      });
      expect(r).toBe(42);
      expect(store.getCheckpoint('stream.lsn')).toBe('0/20');
      expect(store.stats().rows).toBe(1);
    });

    it('change log: ordered by seq, filtered by wedding, time, seq, table; unassigned entries; assign; prune', () => {
      const base = { table: 'public.guests', xid: '7', lsn: '0/A' };
      const s1 = store.appendChange({ ...base, weddingId: W1, op: 'I', key: ['g1'], values: { id: 'g1', first_name: 'Ann' }, commitTime: '2026-06-01T10:00:00.000Z' });
      const s2 = store.appendChange({ ...base, weddingId: W1, op: 'U', key: ['g1'], values: { id: 'g1', first_name: 'Anne' }, unchanged: ['metadata'], commitTime: '2026-06-01T10:05:00.000Z' });
      const s3 = store.appendChange({ ...base, weddingId: null, op: 'D', key: ['g9'], values: null, commitTime: '2026-06-01T10:06:00.000Z' });
      const s4 = store.appendChange({ ...base, weddingId: W2, op: 'T', key: null, values: null, commitTime: '2026-06-01T10:07:00.000Z' });
      expect([s1, s2, s3, s4]).toEqual([...[s1, s2, s3, s4]].sort((a, b) => a - b));
      expect(s2).toBeGreaterThan(s1);
      expect(store.changes().map((c) => c.seq)).toEqual([s1, s2, s3, s4]);
      const w1 = store.changes({ weddingId: W1 });
      expect(w1.map((c) => c.op)).toEqual(['I', 'U']);
      expect(w1[1]).toMatchObject({ values: { id: 'g1', first_name: 'Anne' }, unchanged: ['metadata'], key: ['g1'], xid: '7', lsn: '0/A' });
      expect(w1[0]!.unchanged).toBeUndefined();
      expect(store.changes({ weddingId: W1, includeUnassigned: true }).map((c) => c.seq)).toEqual([s1, s2, s3]);
      expect(store.changes({ weddingId: W1, until: '2026-06-01T10:04:59.999Z' }).map((c) => c.seq)).toEqual([s1]);
      expect(store.changes({ afterSeq: s2 }).map((c) => c.seq)).toEqual([s3, s4]);
      expect(store.changes({ limit: 1 }).map((c) => c.seq)).toEqual([s1]);
      expect(store.assignChanges('public.guests', [['g9'], ['zz']], W1)).toBe(1);
      expect(store.changes({ weddingId: W1 }).map((c) => c.seq)).toEqual([s1, s2, s3]);
      expect(store.pruneChanges('2026-06-01T10:05:30.000Z', W1)).toBe(2);
      expect(store.changes().map((c) => c.seq)).toEqual([s3, s4]);
      expect(store.pruneChanges('2030-01-01T00:00:00.000Z')).toBe(2);
    });

    it('weddings: put/get/list by date and state; delete takes rows and changes with it', () => {
      store.putWedding(weddingRecord(W2, { weddingDate: '2026-06-01', state: 'pending' }));
      store.putWedding(weddingRecord(W1, { weddingDate: '2026-05-01', baseJournalSnapshot: '10:12:11', baseAt: '2026-04-30T00:00:00.000Z' }));
      expect(store.getWedding(W1)).toMatchObject({ weddingId: W1, state: 'ready', baseJournalSnapshot: '10:12:11' });
      expect(store.getWedding(W1)!.updatedAt).toMatch(/^\d{4}-/);
      expect(store.listWeddings().map((w) => w.weddingId)).toEqual([W1, W2]);
      expect(store.listWeddings({ date: '2026-06-01' }).map((w) => w.weddingId)).toEqual([W2]);
      expect(store.listWeddings({ states: ['pending'] }).map((w) => w.weddingId)).toEqual([W2]);
      store.putRow({ table: 't.a', key: ['1'], weddingId: W1, values: {} });
      store.appendChange({ weddingId: W1, table: 't.a', op: 'I', key: ['1'], values: {}, xid: null, lsn: null, commitTime: '2026-01-01T00:00:00.000Z' });
      store.deleteWedding(W1);
      expect(store.getWedding(W1)).toBeNull();
      expect(store.stats()).toMatchObject({ weddings: 1, rows: 0, changes: 0 });
    });

    it('table meta, checkpoints, validation results', () => {
      const meta = { table: 'public.guests', columns: [{ name: 'id', type: 'uuid', nullable: false }], primaryKey: ['id'], dataType: 'guests', weddingColumn: 'wedding_id' };
      store.putTableMeta(meta);
      store.putTableMeta({ ...meta, dataType: null });
      expect(store.getTableMeta('public.guests')).toEqual({ ...meta, dataType: null });
      expect(store.listTableMeta()).toHaveLength(1);
      store.setCheckpoint('a', '1');
      store.setCheckpoint('a', '2');
      expect(store.getCheckpoint('a')).toBe('2');
      store.deleteCheckpoint('a');
      expect(store.getCheckpoint('a')).toBeNull();
      store.putValidation({ snapshotId: 's1', status: 'valid', completedAt: '2026-01-01T00:00:00.000Z', details: { checked: 3 } });
      expect(store.getValidation('s1')).toEqual({ snapshotId: 's1', status: 'valid', completedAt: '2026-01-01T00:00:00.000Z', details: { checked: 3 } });
      expect(store.listValidations()).toHaveLength(1);
    });

    it('snapshot mirror: newest first, by wedding and type, replace, retain', () => {
      const snap = (id: string, createdAt: string, weddingIds: string[], type = 'full') => ({ id, createdAt, snapshotType: type, storageLocation: '/r', weddingIds, summary: { id, weddingIds } });
      store.putSnapshots([snap('s1', '2026-01-01T00:00:00Z', [W1]), snap('s2', '2026-01-02T00:00:00Z', [W1, W2], 'incremental'), snap('s3', '2026-01-03T00:00:00Z', [W2])]);
      expect(store.listSnapshots().map((s) => s.id)).toEqual(['s3', 's2', 's1']);
      expect(store.listSnapshots({ weddingId: W1 }).map((s) => s.id)).toEqual(['s2', 's1']);
      expect(store.listSnapshots({ type: 'incremental' }).map((s) => s.id)).toEqual(['s2']);
      expect(store.listSnapshots({ limit: 1 }).map((s) => s.id)).toEqual(['s3']);
      store.putSnapshots([snap('s2', '2026-01-02T00:00:00Z', [W2], 'incremental')]);
      expect(store.listSnapshots({ weddingId: W1 }).map((s) => s.id)).toEqual(['s1']);
      expect(store.getSnapshot('s2')?.summary).toEqual({ id: 's2', weddingIds: [W2] });
      expect(store.retainSnapshots(['s1'])).toBe(2);
      expect(store.listSnapshots({ weddingId: W2 })).toEqual([]);
    });

    it('queued restores: oldest first, filtered by status, updated in place', () => {
      store.putQueuedRestore({ id: 'q2', createdAt: '2026-01-02T00:00:00Z', status: 'queued', request: { weddingId: W1 }, attempts: 0, lastError: null, operationId: null, result: null });
      store.putQueuedRestore({ id: 'q1', createdAt: '2026-01-01T00:00:00Z', status: 'queued', request: { weddingId: W2 }, attempts: 0, lastError: null, operationId: null, result: null });
      expect(store.listQueuedRestores(['queued']).map((q) => q.id)).toEqual(['q1', 'q2']);
      const q1 = store.getQueuedRestore('q1')!;
      store.putQueuedRestore({ ...q1, status: 'done', attempts: 1, operationId: 'op', result: { inserted: 3 } });
      expect(store.getQueuedRestore('q1')).toMatchObject({ status: 'done', attempts: 1, operationId: 'op', result: { inserted: 3 }, request: { weddingId: W2 } });
      expect(store.listQueuedRestores(['queued']).map((q) => q.id)).toEqual(['q2']);
      expect(store.getQueuedRestore('nope')).toBeNull();
    });

    it('close is idempotent and later calls fail', () => {
      store.close();
      store.close();
      expect(() => store.getCheckpoint('x')).toThrow();
      store = options.factory();
    });

    if (options.reopen) {
      it('committed writes survive a reopen', () => {
        store.transaction(() => {
          store.putWedding(weddingRecord(W1));
          store.putRow({ table: 't.a', key: ['1'], weddingId: W1, values: { v: 'x' } });
          store.appendChange({ weddingId: W1, table: 't.a', op: 'I', key: ['1'], values: { v: 'x' }, xid: '1', lsn: '0/1', commitTime: '2026-01-01T00:00:00.000Z' });
          store.setCheckpoint('stream.lsn', '0/1');
        });
        store = options.reopen!(store);
        expect(store.getRow('t.a', ['1'])?.values).toEqual({ v: 'x' });
        expect(store.changes()).toHaveLength(1);
        expect(store.getCheckpoint('stream.lsn')).toBe('0/1');
        expect(store.getWedding(W1)?.state).toBe('ready');
      });
    }
  });
}
