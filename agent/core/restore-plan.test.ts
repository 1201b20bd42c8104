import { describe, expect, it } from 'vitest';
import type { Manifest, ManifestTable } from '../contract/manifest.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { NO_WEDDING, orderByForeignKeys, planRestore, planSegments, withoutWeddings } from './restore-plan.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const seg = (n: number) => ({ id: n.toString(16).padStart(64, '0'), rows: n, rawBytes: n * 10 });

function table(name: string, dataType: ManifestTable['dataType'], weddingScoped: boolean, segments = [] as ReturnType<typeof seg>[]): ManifestTable {
  return { schema: 'public', name, columns: [{ name: 'id', type: 'uuid', nullable: false }], primaryKey: ['id'], dataType, weddingScoped, rowCount: 0, segments };
}

function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    formatVersion: 1,
    snapshotId: '11111111-1111-4111-8111-111111111111',
    repositoryId: 'r',
    createdAt: '2026-11-28T12:00:00.000Z',
    type: 'full',
    encryptionKeyId: 'k',
    database: { name: 'db', serverVersion: '15' },
    schema: {
      sql: '',
      tables: [
        table('organizations', null, false, [seg(1)]),
        table('weddings', 'wedding', true),
        table('vendors', 'vendors', true),
        table('guests', 'guests', true),
        table('timeline_events', 'timeline', true),
        table('photos', 'photos', true),
        table('wedding_backup_settings', null, true),
      ],
      sequences: [],
    },
    weddings: [
      {
        weddingId: A,
        tables: { 'public.weddings': [seg(2)], 'public.guests': [seg(3)], 'public.photos': [seg(4)] },
        rowCounts: {},
        photos: [{ photoId: 'p1', storageKey: 'k', sha256: 'a'.repeat(64), sizeBytes: 1, blobId: 'b'.repeat(64) }],
      },
      { weddingId: B, tables: { 'public.weddings': [seg(5)], 'public.guests': [seg(6)] }, rowCounts: {}, photos: [] },
    ],
    photoProblems: [],
    totals: { rowCount: 0, weddingCount: 2, bytesRaw: 0, bytesStored: 0, bytesNew: 0, segmentCount: 0, photoCount: 1 },
    integrityHash: 'c'.repeat(64),
    ...over,
  };
}

const tablesOf = (p: ReturnType<typeof planRestore>) => p.scopes.map((s) => s.table.qualified);

describe('restore plans', () => {
  it('selective: only the data types asked, only the weddings asked', () => {
    const p = planRestore(manifest(), { recoveryScope: 'selective', weddingIds: [A.toUpperCase()], dataTypes: ['guests'] }, DEFAULT_SCHEMA_MAP);
    expect(tablesOf(p)).toEqual(['public.guests']);
    expect(p.weddingIds).toEqual([A]);
    expect(p.scopes[0]!.weddings).toEqual([A]);
    expect([...p.scopes[0]!.segments]).toEqual([[A, [seg(3)]]]);
    expect(p.photos).toEqual([]);
    expect(p.dataTypes).toEqual(['guests']);
  });

  it('selective without weddings: every wedding of the snapshot; photos bring their files', () => {
    const p = planRestore(manifest(), { recoveryScope: 'selective', dataTypes: ['photos', 'guests'] }, DEFAULT_SCHEMA_MAP);
    expect(p.weddingIds).toEqual([A, B]);
    expect(tablesOf(p)).toEqual(['public.guests', 'public.photos']);
    expect(p.photos.map((x) => x.photoId)).toEqual(['p1']);
  });

  it('wedding-only: every wedding-scoped table, the wedding row and its settings included', () => {
    const p = planRestore(manifest(), { recoveryScope: 'wedding-only', weddingIds: [B] }, DEFAULT_SCHEMA_MAP);
    expect(tablesOf(p)).toEqual(['public.weddings', 'public.vendors', 'public.guests', 'public.timeline_events', 'public.photos', 'public.wedding_backup_settings']);
    expect(p.scopes.find((s) => s.table.name === 'vendors')!.segments.size).toBe(0);
    expect(planSegments(p).get(seg(6).id)).toEqual({ weddingId: B, table: 'public.guests', dataType: 'guests' });
  });

  it('complete: whole tables, non-wedding rows under NO_WEDDING', () => {
    const p = planRestore(manifest(), { recoveryScope: 'complete' }, DEFAULT_SCHEMA_MAP);
    expect(p.scopes).toHaveLength(7);
    expect(p.scopes.every((s) => s.weddings === 'all')).toBe(true);
    expect(p.scopes[0]!.segments.get(NO_WEDDING)).toEqual([seg(1)]);
    expect(p.scopes[1]!.table.weddingColumn).toBe('id');
  });

  it('rejects what cannot be restored, naming it', () => {
    const m = manifest();
    expect(() => planRestore(m, { recoveryScope: 'complete', dataTypes: ['guests'] }, DEFAULT_SCHEMA_MAP)).toThrow(/complete restore takes no/);
    expect(() => planRestore(m, { recoveryScope: 'wedding-only' }, DEFAULT_SCHEMA_MAP)).toThrow(/needs at least one --wedding/);
    expect(() => planRestore(m, { recoveryScope: 'wedding-only', weddingIds: [A], dataTypes: ['guests'] }, DEFAULT_SCHEMA_MAP)).toThrow(/use --scope selective/);
    expect(() => planRestore(m, { recoveryScope: 'selective' }, DEFAULT_SCHEMA_MAP)).toThrow(/needs --data-types/);
    expect(() => planRestore(m, { recoveryScope: 'selective', weddingIds: ['00000000-0000-4000-8000-0000000000cc'], dataTypes: ['guests'] }, DEFAULT_SCHEMA_MAP)).toThrow(
      /wedding 00000000-0000-4000-8000-0000000000cc is not in snapshot/,
    );
    const partial = manifest({
      type: 'emergency',
      scope: { kind: 'partial', weddingIds: [A, B], tables: ['public.weddings', 'public.guests'] },
      schema: { sql: '', sequences: [], tables: [table('weddings', 'wedding', true), table('guests', 'guests', true)] },
    });
    expect(() => planRestore(partial, { recoveryScope: 'selective', dataTypes: ['timeline'] }, DEFAULT_SCHEMA_MAP)).toThrow(/holds no timeline data \(it holds: guests\)/);
    expect(() => planRestore(partial, { recoveryScope: 'complete' }, DEFAULT_SCHEMA_MAP)).toThrow(/is partial/);
    const p = planRestore(partial, { recoveryScope: 'wedding-only', weddingIds: [A] }, DEFAULT_SCHEMA_MAP);
    expect(p.notes[0]).toMatch(/holds no timeline, photos, vendors data/);
  });

  it('refuses a segment format it cannot read', () => {
    expect(() => planRestore(manifest({ segmentFormat: 'parquet' }), { recoveryScope: 'complete' }, DEFAULT_SCHEMA_MAP)).toThrow(/stores rows as parquet/);
    expect(planRestore(manifest({ segmentFormat: 'pg-copy-text' }), { recoveryScope: 'complete' }, DEFAULT_SCHEMA_MAP).scopes).toHaveLength(7);
  });

  it('a partial snapshot holds the weddings of its scope even without rows (undo empties them)', () => {
    const C = '00000000-0000-4000-8000-0000000000cc';
    const rp = manifest({ type: 'recovery-point', scope: { kind: 'partial', weddingIds: [C], tables: ['public.guests'] }, weddings: [] });
    const p = planRestore(rp, { recoveryScope: 'selective', weddingIds: [C], tables: ['public.guests'] }, DEFAULT_SCHEMA_MAP);
    expect(tablesOf(p)).toEqual(['public.guests']);
    expect(p.scopes[0]!.segments.size).toBe(0);
    expect(() => planRestore(rp, { recoveryScope: 'selective', weddingIds: [C], tables: ['public.organizations'] }, DEFAULT_SCHEMA_MAP)).toThrow(/does not belong to weddings/);
  });

  it('withoutWeddings drops weddings everywhere in the plan', () => {
    const p = withoutWeddings(planRestore(manifest(), { recoveryScope: 'selective', dataTypes: ['guests', 'photos'] }, DEFAULT_SCHEMA_MAP), new Set([A]));
    expect(p.weddingIds).toEqual([B]);
    expect(p.scopes.every((s) => !s.segments.has(A) && (s.weddings as string[]).every((w) => w === B))).toBe(true);
    expect(p.photos).toEqual([]);
  });

  it('orders tables parents first by foreign keys, cycles last', () => {
    const edges = [
      { child: 'g', parent: 'w' },
      { child: 't', parent: 'v' },
      { child: 'v', parent: 'w' },
      { child: 't', parent: 'w' },
      { child: 't', parent: 't' },
      { child: 'x', parent: 'y' },
      { child: 'y', parent: 'x' },
    ];
    expect(orderByForeignKeys(['t', 'g', 'v', 'w', 'x', 'y', 'z'], edges)).toEqual(['w', 'z', 'g', 'v', 't', 'x', 'y']);
  });
});
