import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { copyFrom } from './copy-from.js';

/** COPY FROM STDIN of buffers as they come (real PostgreSQL): rows, errors, and the connection after. */
describe('copyFrom', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('cf');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE t (id integer PRIMARY KEY, body text NOT NULL)');
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const rows = (from: number, n: number, width = 100) => Buffer.from(Array.from({ length: n }, (_, i) => `${from + i}\t${'x'.repeat(width)}${from + i}\n`).join(''));

  it('loads many small parts (more than the socket takes at once: backpressure) exactly, and reports the rows', async () => {
    async function* parts() {
      // 3000 parts of 10 rows (~3 MB), some empty, some arriving after a pause.
      for (let p = 0; p < 3000; p++) {
        if (p % 500 === 0) await new Promise((r) => setTimeout(r, 5));
        if (p % 700 === 0) yield Buffer.alloc(0);
        yield rows(p * 10, 10);
      }
    }
    expect(await copyFrom(client, 'COPY t (id, body) FROM STDIN', parts())).toBe(30000);
    const { rows: r } = await client.query(`SELECT count(*)::int AS n, sum(length(body))::bigint AS len, min(id) AS lo, max(id) AS hi FROM t`);
    expect(r[0]).toMatchObject({ n: 30000, lo: 0, hi: 29999 });
    expect(Number(r[0].len)).toBe([...Array(30000).keys()].reduce((a, i) => a + 100 + String(i).length, 0));
    await client.query('TRUNCATE t');
  });

  it('a source that fails midway fails the COPY: its error comes back, nothing is loaded, the connection goes on', async () => {
    async function* parts() {
      yield rows(0, 1000);
      throw new Error('segment damaged (injected)');
    }
    await client.query('BEGIN');
    await expect(copyFrom(client, 'COPY t (id, body) FROM STDIN', parts())).rejects.toThrow('segment damaged (injected)');
    await client.query('ROLLBACK');
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(0);
  });

  it('rows the server refuses: the server error, nothing loaded, the connection goes on', async () => {
    await expect(copyFrom(client, 'COPY t (id, body) FROM STDIN', [rows(0, 10), Buffer.from('not-a-number\tx\n')])).rejects.toThrow(/invalid input syntax/);
    await expect(copyFrom(client, 'COPY t (id, body) FROM STDIN', [rows(0, 10), rows(5, 1)])).rejects.toThrow(/duplicate key/);
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(0);
    expect(await copyFrom(client, 'COPY t (id, body) FROM STDIN', [rows(0, 3)])).toBe(3);
  });

  it('once the server refused, the rest of the source is not read (it would only be dropped)', async () => {
    let pulled = 0;
    async function* parts() {
      // A bad first row, in a part big enough to be sent at once; then slow parts.
      yield Buffer.concat([Buffer.from('oops\tx\n'), rows(0, 3000)]);
      for (let p = 0; p < 200; p++) {
        pulled++;
        await new Promise((r) => setTimeout(r, 5));
        yield rows(10_000 + p, 1);
      }
    }
    await expect(copyFrom(client, 'COPY t (id, body) FROM STDIN', parts())).rejects.toThrow(/invalid input syntax/);
    expect(pulled).toBeLessThan(200);
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(3);
  });
});
