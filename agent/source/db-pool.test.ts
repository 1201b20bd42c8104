import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { createPool } from './db.js';

/** A pooled connection lost while checked out must not crash the agent (an unheard 'error'). */
describe('createPool', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('dbpool');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a checked-out client whose backend is terminated between queries fails its next query instead of crashing the process', async () => {
    const pool = createPool({ connectionString: db.url, max: 1, application_name: 'wedsync-test pool' });
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ended = new Promise((resolve) => client.once('end', resolve));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await admin.end();
    await ended;
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    // The pool replaces the dead client.
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await pool.end();
  });
});
