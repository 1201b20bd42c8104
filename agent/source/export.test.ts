import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { DEFAULT_SCHEMA_MAP } from '../contract/schema-map.js';
import { openBackupSource } from './backup-source.js';
import { WeddingIds, WeddingSegments, copyStatement, type SegmentRef, type SegmentSink } from './export.js';

const map = { ...DEFAULT_SCHEMA_MAP, exclude: [] };
const sink: SegmentSink = async (s) => ({ id: createHash('sha256').update(s.data).digest('hex'), rows: s.rows, rawBytes: s.data.length });

async function runsOf(url: string, table: string): Promise<SegmentRef[]> {
  const source = await openBackupSource(url, map, 2);
  try {
    const run = await source.export(source.planTables([table]), sink);
    return run.tables.get(table)!.runs;
  } finally {
    await source.close();
  }
}

describe('export: cutting tables into segments', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('exp');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE public.weddings (id uuid PRIMARY KEY, wedding_date date)`);
    await client.query(`CREATE TABLE public.lookup (code int PRIMARY KEY, label text, note text)`);
    await client.query(`INSERT INTO public.lookup SELECT g * 10, 'label ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\\there' END FROM generate_series(1, 20000) g`);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('a non-wedding table is cut by its keys: one inserted row changes one segment, not the ones after it', async () => {
    const before = await runsOf(db.url, 'public.lookup');
    expect(before.length).toBeGreaterThan(20);
    expect(before.reduce((a, r) => a + r.rows, 0)).toBe(20000);
    await client.query(`INSERT INTO public.lookup VALUES (50005, 'inserted', NULL)`);
    const after = await runsOf(db.url, 'public.lookup');
    const old = new Set(before.map((r) => r.id));
    const changed = after.filter((r) => !old.has(r.id));
    expect(changed).toHaveLength(1);
    expect(after.length - before.length).toBeLessThanOrEqual(1);
  });

  it('segments hold COPY text rows without the routing key, NULLs and escapes intact', async () => {
    const source = await openBackupSource(db.url, map, 1);
    const seen: Buffer[] = [];
    try {
      await source.export(source.planTables(['public.lookup']), async (s) => {
        seen.push(s.data);
        return sink(s);
      });
    } finally {
      await source.close();
    }
    const first = seen[0]!.toString('utf8').split('\n')[0]!;
    expect(first).toBe('10\tlabel 1\ttab\\there');
    expect(Buffer.concat(seen).toString('utf8')).toContain('70\tlabel 7\t\\N\n');
  });

  it('refuses to build a COPY with anything but UUIDs inlined', () => {
    const table = { schema: 'public', name: 'guests', qualified: 'public.guests', columns: [{ name: 'id', type: 'uuid', nullable: false }], orderBy: ['id'], primaryKey: ['id'], estimatedRows: 0 };
    expect(() => copyStatement({ table, weddingColumn: 'wedding_id', weddings: ["x'); DROP TABLE guests; --"] })).toThrow(/not a wedding id/);
    expect(copyStatement({ table, weddingColumn: 'wedding_id', weddings: ['00000000-0000-4000-8000-000000000001'] })).toContain(`ANY('{00000000-0000-4000-8000-000000000001}'::uuid[])`);
  });
});

describe('WeddingSegments: compact per-wedding segment lists', () => {
  const id = (s: string) => createHash('sha256').update(s).digest('hex');
  const wedding = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

  it('gives back each wedding its refs in the order added, across growths, with one copy of each wedding id per export', () => {
    const ids = new WeddingIds();
    const guests = new WeddingSegments(ids);
    const vendors = new WeddingSegments(ids);
    const expected = new Map<string, SegmentRef[]>();
    for (let i = 0; i < 3000; i++) {
      // Weddings come back in runs, some with several segments (ranges of one table).
      const w = wedding(i % 1000);
      const ref = { id: id(`g${i}`), rows: i % 40, rawBytes: 100 + i };
      guests.add(Buffer.from(w).toString(), ref);
      expected.set(w, [...(expected.get(w) ?? []), ref]);
    }
    vendors.add(wedding(7), { id: id('v7'), rows: 2, rawBytes: 50 });
    for (const [w, refs] of expected) expect(guests.get(w)).toEqual(refs);
    expect(guests.size).toBe(1000);
    expect(vendors.size).toBe(1);
    expect([...vendors.keys()]).toEqual([wedding(7)]);
    expect(vendors.get(wedding(8))).toBeUndefined();
    expect(guests.get('not a wedding')).toBeUndefined();
    expect(guests.has(wedding(999))).toBe(true);
    expect([...guests.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(new Map(guests)).toEqual(expected);
    // Interned: the same string object whichever copy of the id asked.
    expect(guests.intern(Buffer.from(wedding(3)).toString())).toBe(vendors.intern(wedding(3)));
    expect(ids.size).toBe(1000);
  });

  it('refuses a ref whose id is not a blob id', () => {
    expect(() => new WeddingSegments().add(wedding(1), { id: 'ABC', rows: 1, rawBytes: 1 })).toThrow(/not a segment id/);
  });
});
