import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './db.js';

describe('test PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('is a real server of the same major version as the installed pg_dump (15)', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query<{ v: string; wal: string }>(`SELECT current_setting('server_version_num') AS v, current_setting('wal_level') AS wal`);
    await c.end();
    expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(150000);
    expect(Number(rows[0]!.v)).toBeLessThan(160000);
    expect(rows[0]!.wal).toBe('logical');
  });
});
