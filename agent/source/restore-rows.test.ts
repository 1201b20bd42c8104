import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { NO_WEDDING, type PlanTable } from '../core/restore-plan.js';
import { forEachWeddingBatch, readRows, tableDigestLines, tableDigestLinesBatched } from './restore-rows.js';

/**
 * Whole tables read a batch of weddings at a time (a complete restore's bounded-memory reads):
 * every row exactly once, rows of no wedding (NULL) included, and the same digest as one read.
 */
describe('forEachWeddingBatch', () => {
  let db: TestDatabase;
  let client: pg.Client;
  const table: PlanTable = {
    qualified: 'public.notes',
    schema: 'public',
    name: 'notes',
    columns: [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'wedding_id', type: 'uuid', nullable: true },
      { name: 'note', type: 'text', nullable: true },
    ] as PlanTable['columns'],
    primaryKey: ['id'],
    dataType: null,
    weddingScoped: true,
    weddingColumn: 'wedding_id',
  };
  const weddings = Array.from({ length: 7 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);

  beforeAll(async () => {
    db = await createTestDatabase('rows');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE notes (id integer PRIMARY KEY, wedding_id uuid, note text)');
    // Three rows per wedding, and two rows of no wedding.
    await client.query(`INSERT INTO notes SELECT g, CASE WHEN g > 21 THEN NULL ELSE ($1::uuid[])[1 + (g % 7)] END, 'note ' || g FROM generate_series(1, 23) g`, [weddings]);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('batches of 2 weddings: every key once, in order, rows as one read has them; the same digest lines', async () => {
    process.env.WEDSYNC_RESTORE_WEDDING_BATCH = '2';
    onTestFinished(() => {
      delete process.env.WEDSYNC_RESTORE_WEDDING_BATCH;
    });
    const whole = await readRows(client, table, 'all');
    expect(whole.get(NO_WEDDING)).toBeDefined();
    const extra = '00000000-0000-4000-8000-0000000000ff'; // a snapshot key with no live rows
    const seen = new Map<string, Buffer>();
    const batches: string[][] = [];
    await forEachWeddingBatch(client, table, [extra], async (keys, rows) => {
      batches.push(keys);
      for (const [k, v] of rows) {
        expect(seen.has(k)).toBe(false);
        seen.set(k, v);
      }
    });
    expect(batches.length).toBe(5); // 7 weddings + NO_WEDDING + the extra key, 2 at a time
    expect(batches.flat()).toEqual([...new Set([...whole.keys(), extra])].sort());
    expect(new Map([...seen].sort())).toEqual(new Map([...whole].sort()));
    expect(await tableDigestLinesBatched(client, table)).toBe(tableDigestLines(table.qualified, whole));
  });
});
