import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { migrate } from '../catalog/migrate.js';
import { isWedsyncError } from '../contract/errors.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import type { DataFinding, DataValidationReport } from '../contract/validation-report.js';
import { openWeddingDataSource } from '../source/data-validation.js';
import { seed } from '../source/seed.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { performDataValidation } from './validate-data.js';
import { FIXTURE_TZ, SMALL_SEED } from './verify-fixture.js';

/**
 * The live data check: the seed makes valid weddings, so every rule is proven by breaking the
 * data on purpose — one fault per wedding, so each finding can be told apart.
 */

let db: TestDatabase;
let client: pg.Client;
let photos: MemoryBlobStore;
let weddings: string[];

const validate = (weddingIds?: string[], photoStore: MemoryBlobStore | null = photos): Promise<DataValidationReport> =>
  performDataValidation({ openSource: () => openWeddingDataSource(db.url, DEFAULT_SCHEMA_MAP), photoStore, timeZone: FIXTURE_TZ }, weddingIds ? { weddingIds } : {});

const errorsOf = (r: DataValidationReport): DataFinding[] => r.reports.flatMap((w) => w.findings).filter((f) => f.severity === 'error');

async function one<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T> {
  const { rows } = await client.query<T>(sql, values);
  if (!rows[0]) throw new Error(`no row: ${sql}`);
  return rows[0];
}

beforeAll(async () => {
  db = await createTestDatabase('validate_data');
  await migrate(db.url);
  photos = new MemoryBlobStore(`validate-data-photos-${process.pid}`);
  await seed(db.url, { ...SMALL_SEED, guestsPerWedding: 12, writePhoto: (k, b) => photos.put(k, b) });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  weddings = (await client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY id')).rows.map((r) => r.id);
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('performDataValidation', () => {
  it('finds no errors in the seeded weddings, and checks every photo file', async () => {
    const report = await validate();
    expect(errorsOf(report)).toEqual([]);
    expect(report.weddings).toBe(8);
    expect(report.weddingsWithErrors).toBe(0);
    expect(report.reports.reduce((n, r) => n + r.checked.photoFiles, 0)).toBe(8 * 2);
    expect(report.reports.every((r) => r.checked.guests === 12 && r.checked.timelineEvents === 5 && r.checked.vendors === 3)).toBe(true);
    // Warnings the seed may legitimately produce (families sharing an address) are the only ones.
    expect(new Set(report.reports.flatMap((r) => r.findings.map((f) => f.kind)))).toSatisfy((s: Set<string>) => [...s].every((k) => k === 'duplicate-guest-email'));
  });

  it('finds every kind of broken data, attributed to its wedding, row and field', async () => {
    // The sample schema's CHECKs and the vendor FK would refuse some of the faults: drop them, as an upstream bug might have.
    await client.query(`ALTER TABLE guests DROP CONSTRAINT IF EXISTS guests_table_number_check`);
    await client.query(`ALTER TABLE timeline_events DROP CONSTRAINT IF EXISTS timeline_events_check`);
    await client.query(`ALTER TABLE timeline_events DROP CONSTRAINT IF EXISTS timeline_events_vendor_id_fkey`);
    const [w0, w1, w2, w3, w4, w5, w6] = weddings as [string, string, string, string, string, string, string];

    await client.query(`UPDATE weddings SET couple_names = '   ' WHERE id = $1`, [w0]);
    const g = await one<{ id: string }>(`SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 1`, [w1]);
    await client.query(`UPDATE guests SET first_name = '' WHERE id = $1`, [g.id]);
    const pair = (await client.query<{ id: string }>(`SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id OFFSET 1 LIMIT 2`, [w1])).rows.map((r) => r.id);
    await client.query(`UPDATE guests SET email = CASE id WHEN $1::uuid THEN 'Same@Example.com' ELSE 'same@example.com ' END WHERE id = ANY($2::uuid[])`, [pair[0], pair]);
    const seats = (await client.query<{ id: string }>(`SELECT id::text FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 2`, [w2])).rows.map((r) => r.id);
    await client.query(`UPDATE guests SET table_number = 0 WHERE id = $1`, [seats[0]]);
    await client.query(`UPDATE guests SET table_number = 400 WHERE id = $1`, [seats[1]]);

    const events = (await client.query<{ id: string }>(`SELECT id::text FROM timeline_events WHERE wedding_id = $1 ORDER BY starts_at`, [w3])).rows.map((r) => r.id);
    await client.query(`UPDATE timeline_events SET ends_at = starts_at - interval '1 hour' WHERE id = $1`, [events[0]]);
    await client.query(`UPDATE timeline_events SET starts_at = starts_at + interval '3 days', ends_at = ends_at + interval '3 days' WHERE id = $1`, [events[1]]);
    // Two events in one room at once.
    const ev = (await client.query<{ id: string }>(`SELECT id::text FROM timeline_events WHERE wedding_id = $1 ORDER BY starts_at LIMIT 2`, [w4])).rows.map((r) => r.id);
    await client.query(
      `UPDATE timeline_events t SET location = 'Main Hall', starts_at = a.starts_at + interval '10 minutes', ends_at = a.ends_at + interval '10 minutes'
         FROM timeline_events a WHERE a.id = $1 AND t.id = ANY($2::uuid[])`,
      [ev[0], ev],
    );
    await client.query(`UPDATE timeline_events SET starts_at = starts_at - interval '10 minutes' WHERE id = $1`, [ev[0]]);
    const foreignVendor = await one<{ id: string }>(`SELECT id::text FROM vendors WHERE wedding_id <> $1 LIMIT 1`, [w5]);
    const ev5 = await one<{ id: string }>(`SELECT id::text FROM timeline_events WHERE wedding_id = $1 ORDER BY id LIMIT 1`, [w5]);
    await client.query(`UPDATE timeline_events SET vendor_id = $2 WHERE id = $1`, [ev5.id, foreignVendor.id]);
    const ev5b = await one<{ id: string }>(`SELECT id::text FROM timeline_events WHERE wedding_id = $1 ORDER BY id OFFSET 1 LIMIT 1`, [w5]);
    await client.query(`UPDATE timeline_events SET vendor_id = $2 WHERE id = $1`, [ev5b.id, randomUUID()]);

    const ph = (await client.query<{ id: string; storage_key: string }>(`SELECT id::text, storage_key FROM photos WHERE wedding_id = $1 AND sha256 IS NOT NULL ORDER BY id`, [w6])).rows;
    await photos.delete(ph[0]!.storage_key);
    const bytes = await photos.get(ph[1]!.storage_key);
    bytes[50] = bytes[50]! ^ 0xff;
    await photos.put(ph[1]!.storage_key, bytes);
    const sized = await one<{ id: string }>(`SELECT id::text FROM photos WHERE wedding_id = $1 AND sha256 IS NOT NULL ORDER BY id LIMIT 1`, [w0]);
    await client.query(`UPDATE photos SET size_bytes = size_bytes + 1 WHERE id = $1`, [sized.id]);

    const report = await validate();
    const all = report.reports.flatMap((r) => r.findings);
    const has = (expected: Partial<DataFinding>) => expect(all).toContainEqual(expect.objectContaining(expected));
    has({ kind: 'missing-couple-names', severity: 'error', weddingId: w0, dataType: 'wedding', field: 'couple_names' });
    has({ kind: 'missing-guest-name', severity: 'error', weddingId: w1, rowId: g.id, field: 'first_name' });
    has({ kind: 'duplicate-guest-email', severity: 'warning', weddingId: w1, rowIds: [...pair].sort() });
    has({ kind: 'table-number-out-of-range', severity: 'error', weddingId: w2, rowId: seats[0] });
    has({ kind: 'table-number-out-of-range', severity: 'warning', weddingId: w2, rowId: seats[1] });
    has({ kind: 'event-ends-before-start', severity: 'error', weddingId: w3, rowId: events[0], dataType: 'timeline' });
    has({ kind: 'event-outside-wedding-day', severity: 'error', weddingId: w3, rowId: events[1] });
    has({ kind: 'events-overlap', severity: 'warning', weddingId: w4 });
    has({ kind: 'vendor-other-wedding', severity: 'error', weddingId: w5, rowId: ev5.id });
    has({ kind: 'vendor-missing', severity: 'error', weddingId: w5, rowId: ev5b.id });
    has({ kind: 'photo-missing', severity: 'error', weddingId: w6, rowId: ph[0]!.id, dataType: 'photos' });
    has({ kind: 'photo-hash-mismatch', severity: 'error', weddingId: w6, rowId: ph[1]!.id });
    has({ kind: 'photo-size-mismatch', severity: 'warning', weddingId: w0, rowId: sized.id });
    expect(report.weddingsWithErrors).toBe(6); // w4 only overlaps: a warning
    expect(report.reports.find((r) => r.weddingId === w4)!.status).toBe('warnings');
    const byWedding = new Map(report.reports.map((r) => [r.weddingId, r]));
    expect(byWedding.get(w0)!.status).toBe('errors');
    expect(byWedding.get(weddings[7]!)!.errors).toBe(0);

    // One wedding on its own; without a photo store the files are not checked.
    const single = await validate([w6], null);
    expect(single.weddings).toBe(1);
    expect(single.photoStore).toBeNull();
    expect(single.reports[0]!.findings.filter((f) => f.dataType === 'photos')).toEqual([]);
  });

  it('refuses weddings that do not exist with NOT_FOUND naming them', async () => {
    const ghost = randomUUID();
    await expect(validate([weddings[0]!, ghost])).rejects.toSatisfy((e) => isWedsyncError(e, 'NOT_FOUND') && e.message.includes(ghost));
  });
});
