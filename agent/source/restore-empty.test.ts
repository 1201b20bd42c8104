import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import type { PlanTable } from '../core/restore-plan.js';
import { restoreIntoEmpty, type EmptyTable } from './restore-empty.js';

/**
 * Verification of a load into an empty database (real PostgreSQL): what the database holds after
 * COPY is compared with the segments — counts of every wedding, content of a sample — and a
 * difference fails the load and leaves the database empty.
 */

const W = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const table: PlanTable = {
  qualified: 'public.guests',
  schema: 'public',
  name: 'guests',
  columns: [
    { name: 'id', type: 'integer', nullable: false },
    { name: 'wedding_id', type: 'uuid', nullable: false },
    { name: 'name', type: 'text', nullable: false },
  ],
  primaryKey: ['id'],
  dataType: 'guests',
  weddingScoped: true,
  weddingColumn: 'wedding_id',
};

/** 40 weddings × 5 guests, one segment each (ids are just labels here: nothing reads a repository). */
function segments(): { segments: Map<string, string[]>; data: Map<string, Buffer> } {
  const segs = new Map<string, string[]>();
  const data = new Map<string, Buffer>();
  for (let w = 1; w <= 40; w++) {
    const id = `seg${w}`;
    segs.set(W(w), [id]);
    data.set(id, Buffer.from(Array.from({ length: 5 }, (_, i) => `${w * 100 + i}\t${W(w)}\tguest ${w}-${i}\n`).join('')));
  }
  return { segments: segs, data };
}

function emptyTable(): EmptyTable {
  const { segments: segs, data } = segments();
  return {
    table,
    bytes: [...data.values()].reduce((a, b) => a + b.length, 0),
    segments: segs,
    read: async function* () {
      for (const [id, d] of data) yield { id, data: d };
    },
  };
}

describe('restore into an empty database: verification', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('re');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const preData = 'CREATE TABLE public.guests (\n  id integer NOT NULL,\n  wedding_id uuid NOT NULL,\n  name text NOT NULL,\n  CONSTRAINT "guests_pkey" PRIMARY KEY (id)\n);\n';
  const tables = async () => (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0]!.n;
  const functions = async () => (await client.query<{ f: string }>(`SELECT p.proname AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1`)).rows.map((r) => r.f);
  /** Everything user-made in the database, to compare before and after. */
  const objects = async () =>
    (
      await client.query<{ o: string }>(
        `SELECT 'class ' || n.nspname || '.' || c.relname AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         UNION ALL SELECT 'proc ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
         UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
         UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
         ORDER BY 1`,
      )
    ).rows.map((r) => r.o);

  it('loads, counts every wedding and compares a sample', async () => {
    const result = await restoreIntoEmpty(client, db.url, { preDataSql: preData, postDataSql: '', tables: [emptyTable()], sequences: [] });
    expect(result.verification).toMatchObject({ ok: true, checked: 40, rows: 200, mismatches: [] });
    expect(result.verification.contentChecked).toBeGreaterThanOrEqual(1);
    expect(result.verification.contentChecked).toBeLessThan(40);
    expect((await client.query('SELECT count(*)::int AS n FROM guests')).rows[0].n).toBe(200);
    await client.query('DROP TABLE guests');
  });

  it('a row the database dropped on the way in fails the load, naming the wedding, and nothing stays', async () => {
    // A trigger (part of the recorded schema) that swallows one guest of wedding 7.
    const swallow = `${preData}CREATE FUNCTION public.swallow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 702 THEN RETURN NULL; END IF; RETURN NEW; END $$;\nCREATE TRIGGER swallow BEFORE INSERT ON public.guests FOR EACH ROW EXECUTE FUNCTION public.swallow();\n`;
    const err = await restoreIntoEmpty(client, db.url, { preDataSql: swallow, postDataSql: '', tables: [emptyTable()], sequences: [] }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string; details?: { mismatches?: unknown[] } },
    );
    expect(err).not.toBeNull();
    expect(err!.message).toContain(W(7));
    expect(err!.details?.mismatches).toEqual([expect.objectContaining({ weddingId: W(7), expectedRows: 5, actualRows: 4 })]);
    expect(await tables()).toBe(0);
    // The trigger's function came with the recorded schema: it goes too.
    expect(await functions()).toEqual([]);
  });

  it('a value that does not come back as it was (in a sampled wedding) fails the load', async () => {
    // Every name changed on the way in: the counts match, the content sample does not.
    const alter = `${preData}CREATE FUNCTION public.alter_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;\nCREATE TRIGGER alter_name BEFORE INSERT ON public.guests FOR EACH ROW EXECUTE FUNCTION public.alter_name();\n`;
    const err = await restoreIntoEmpty(client, db.url, { preDataSql: alter, postDataSql: '', tables: [emptyTable()], sequences: [] }).then(
      () => null,
      (e: unknown) => e as Error & { details?: { mismatches?: Array<{ expectedSha256?: string; actualSha256?: string }> } },
    );
    expect(err).not.toBeNull();
    const m = err!.details?.mismatches ?? [];
    expect(m.length).toBeGreaterThanOrEqual(1);
    expect(m[0]!.expectedSha256).not.toBe(m[0]!.actualSha256);
    expect(await tables()).toBe(0);
    expect(await functions()).toEqual([]);
  });

  it('a failure after the schema committed (injected) leaves the database exactly as it was: every object the schema made is dropped, nothing that was there before', async () => {
    // Already there: a table, a function, a trigger, a type of the target's own — they stay.
    await client.query(`CREATE TABLE public.keep (id int PRIMARY KEY); CREATE FUNCTION public.keep_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER keep_tr BEFORE INSERT ON public.keep FOR EACH ROW EXECUTE FUNCTION public.keep_fn(); CREATE TYPE public.keep_mood AS ENUM ('ok')`);
    const before = await objects();
    // The recorded schema: a schema, an enum, a domain, a sequence, functions, a trigger, a view,
    // a trigger on the existing table, and a GRANT on the existing schema public (which rewrites
    // its catalog row, but did not create it).
    const schema = `${preData}CREATE SCHEMA extra;
CREATE TYPE extra.mood AS ENUM ('happy', 'sad');
CREATE DOMAIN extra.positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE public.guest_seq;
CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION extra.twice(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x * 2';
CREATE TRIGGER stamp BEFORE INSERT ON public.guests FOR EACH ROW EXECUTE FUNCTION public.stamp();
CREATE TRIGGER stamp_keep BEFORE INSERT ON public.keep FOR EACH ROW EXECUTE FUNCTION public.stamp();
CREATE VIEW extra.guest_names AS SELECT name FROM public.guests;
GRANT USAGE ON SCHEMA public TO PUBLIC;
`;
    let during: string[] = [];
    const err = await restoreIntoEmpty(client, db.url, {
      preDataSql: schema,
      postDataSql: '',
      tables: [emptyTable()],
      sequences: [],
      // The rows are in and verified; the last step fails.
      beforeCommit: async () => {
        during = await objects();
        throw new Error('injected failure before the last commit');
      },
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('injected failure');
    expect(during).toEqual(expect.arrayContaining(['schema extra', 'proc public.stamp', 'proc extra.twice', 'class public.guest_seq', 'class extra.guest_names', 'type extra.mood', 'trigger stamp_keep']));
    expect(await objects()).toEqual(before);
    await client.query('DROP TABLE public.keep; DROP FUNCTION public.keep_fn(); DROP TYPE public.keep_mood');
  });

  it('a failure inside the schema transaction leaves nothing either', async () => {
    const before = await objects();
    const err = await restoreIntoEmpty(client, db.url, {
      preDataSql: `${preData}CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';\n`,
      postDataSql: '',
      tables: [emptyTable()],
      sequences: [],
      beforeSchemaCommit: async () => {
        throw new Error('injected failure in the schema transaction');
      },
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('injected failure');
    expect(await objects()).toEqual(before);
  });
});
