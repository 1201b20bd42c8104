import { cp, mkdir, mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { isWedsyncError } from '../contract/errors.js';
import { findMigrationsDir, migrate, readMigrations } from './migrate.js';

const MIGRATIONS = findMigrationsDir();

/** Everything about the schema a migration could change, as comparable text. */
async function schemaDump(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const parts: unknown[] = [];
    for (const sql of [
      `SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`,
      `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
      `SELECT tgrelid::regclass::text AS tbl, tgname, pg_get_triggerdef(oid) AS def
         FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`,
      `SELECT proname, md5(prosrc) AS src FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`,
      `SELECT name, checksum, applied_at FROM wedsync_schema_migrations ORDER BY name`,
    ]) {
      parts.push((await c.query(sql)).rows);
    }
    return JSON.stringify(parts);
  } finally {
    await c.end();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wedsync-migrations-'));
  await cp(MIGRATIONS, dir, { recursive: true });
  return dir;
}

describe('migrate', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  beforeEach(async () => {
    db = await createTestDatabase('migrate');
  });
  afterEach(async () => {
    await db.drop();
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('applies every migration on a fresh database, then nothing on a second run', async () => {
    const files = (await readdir(MIGRATIONS)).filter((n) => n.endsWith('.sql')).sort();
    // Later migrations are added by later features; the first ones never change.
    expect(files.slice(0, 3)).toEqual(['001_sample_wedding_schema.sql', '002_backup_catalog.sql', '003_change_journal.sql']);

    const lines: string[] = [];
    const first = await migrate(db.url, { log: (l) => lines.push(l) });
    expect(first).toEqual({ applied: files, skipped: [] });
    expect(lines).toHaveLength(files.length);

    const tables = await query<{ t: string }>(db.url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    expect(tables.map((r) => r.t)).toEqual(expect.arrayContaining([
      'backup_jobs', 'backup_snapshots', 'guests', 'organizations', 'photos', 'recovery_operations',
      'timeline_events', 'user_profiles', 'vendors', 'wedding_backup_settings', 'weddings',
      'wedsync_change_journal', 'wedsync_schema_migrations',
    ]));

    const before = await schemaDump(db.url);
    const second = await migrate(db.url);
    expect(second).toEqual({ applied: [], skipped: files });
    expect(await schemaDump(db.url)).toBe(before);
  });

  it('accepts a client it does not own and leaves it open', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const r = await migrate(c);
      expect(r.applied).toEqual((await readdir(MIGRATIONS)).filter((n) => n.endsWith('.sql')).sort());
      expect((await c.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await c.end();
    }
  });

  it('indexes wedding_id on every wedding-scoped table and uses GIN on the catalog uuid arrays', async () => {
    await migrate(db.url);
    const idx = await query<{ indexdef: string }>(db.url, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'`);
    const defs = idx.map((r) => r.indexdef);
    for (const t of ['guests', 'timeline_events', 'vendors', 'photos']) {
      expect(defs).toContain(`CREATE INDEX ${t}_wedding_id_idx ON public.${t} USING btree (wedding_id)`);
    }
    expect(defs).toContain('CREATE INDEX weddings_wedding_date_idx ON public.weddings USING btree (wedding_date)');
    expect(defs).toContain('CREATE INDEX backup_jobs_target_weddings_idx ON public.backup_jobs USING gin (target_weddings)');
    expect(defs).toContain('CREATE INDEX backup_snapshots_wedding_ids_idx ON public.backup_snapshots USING gin (wedding_ids)');
    expect(defs).toContain('CREATE INDEX recovery_operations_affected_weddings_idx ON public.recovery_operations USING gin (affected_weddings)');
    expect(defs).toContain('CREATE INDEX backup_jobs_status_scheduled_at_idx ON public.backup_jobs USING btree (status, scheduled_at)');
  });

  it('enforces the CHECK constraints and defaults of the catalog', async () => {
    await migrate(db.url);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const job = await c.query(`INSERT INTO backup_jobs (backup_type) VALUES ('full') RETURNING status, priority_level, target_weddings, attempts, max_attempts`);
      expect(job.rows[0]).toEqual({ status: 'pending', priority_level: 5, target_weddings: [], attempts: 0, max_attempts: 3 });
      await expect(c.query(`INSERT INTO backup_jobs (backup_type) VALUES ('nightly')`)).rejects.toThrow(/backup_type_check/);
      await expect(c.query(`INSERT INTO backup_jobs (backup_type, priority_level) VALUES ('full', 11)`)).rejects.toThrow(/priority_level_check/);
      await expect(c.query(`INSERT INTO backup_jobs (backup_type, tier) VALUES ('full', 5)`)).rejects.toThrow(/tier_check/);
      const snap = await c.query(`INSERT INTO backup_snapshots (snapshot_type) VALUES ('full') RETURNING validation_status, offsite_copies, photo_problems`);
      expect(snap.rows[0]).toEqual({ validation_status: 'pending', offsite_copies: [], photo_problems: 0 });
      await expect(c.query(`INSERT INTO recovery_operations (operation_type, recovery_scope) VALUES ('undo', 'partial')`)).rejects.toThrow(/recovery_scope_check/);

      await c.query(`INSERT INTO organizations (name, slug) VALUES ('Org', 'org')`);
      const w = await c.query<{ id: string }>(`INSERT INTO weddings (organization_id, couple_names, wedding_date) SELECT id, 'A & B', current_date FROM organizations RETURNING id`);
      const wid = w.rows[0]!.id;
      await expect(c.query(`INSERT INTO wedding_backup_settings (wedding_id, backup_frequency_minutes) VALUES ($1, 5)`, [wid])).rejects.toThrow(/backup_frequency_minutes_check/);
      await expect(
        c.query(`INSERT INTO wedding_backup_settings (wedding_id, high_priority_start, high_priority_end) VALUES ($1, now(), now() - interval '1 hour')`, [wid]),
      ).rejects.toThrow(/check/);
      const s = await c.query(`INSERT INTO wedding_backup_settings (wedding_id) VALUES ($1) RETURNING backup_frequency_minutes, retention_policy, offsite_backup_required, realtime_enabled`, [wid]);
      expect(s.rows[0]).toEqual({ backup_frequency_minutes: 60, retention_policy: 'standard', offsite_backup_required: true, realtime_enabled: true });
      await expect(c.query(`INSERT INTO guests (wedding_id, first_name, table_number) VALUES ($1, 'X', 501)`, [wid])).rejects.toThrow(/table_number_check/);
      // Deleting the wedding takes its settings with it.
      await c.query('DELETE FROM weddings WHERE id = $1', [wid]);
      expect((await c.query('SELECT count(*)::int AS n FROM wedding_backup_settings')).rows[0]).toEqual({ n: 0 });
    } finally {
      await c.end();
    }
  });

  it('refuses to run when an applied migration was edited, naming it', async () => {
    const dir = await copyMigrations();
    dirs.push(dir);
    await migrate(db.url, { dir });
    const before = await schemaDump(db.url);
    await appendFile(join(dir, '002_backup_catalog.sql'), '\n-- an innocent-looking edit\n');
    await writeFile(join(dir, '004_new.sql'), 'CREATE TABLE should_not_exist (id int);\n');

    const err = await migrate(db.url, { dir }).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toContain('002_backup_catalog.sql');
    // Nothing was applied after the drift was found.
    expect(await schemaDump(db.url)).toBe(before);
  });

  it('treats CRLF line endings as the same file', async () => {
    const dir = await copyMigrations();
    dirs.push(dir);
    await migrate(db.url, { dir });
    const files = await readMigrations(dir);
    for (const f of files) await writeFile(join(dir, f.name), f.sql.replace(/\n/g, '\r\n'));
    expect((await migrate(db.url, { dir })).applied).toEqual([]);
  });

  it('refuses a new migration numbered before one already applied', async () => {
    const dir = await copyMigrations();
    dirs.push(dir);
    await migrate(db.url, { dir });
    await writeFile(join(dir, '002_late_arrival.sql'), 'CREATE TABLE late (id int);\n');
    const err = await migrate(db.url, { dir }).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toContain('002_late_arrival.sql');
  });

  it('rolls a failing migration back whole and keeps the ones before it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wedsync-migrations-'));
    dirs.push(dir);
    await writeFile(join(dir, '001_ok.sql'), 'CREATE TABLE ok (id int);\n');
    await writeFile(join(dir, '002_broken.sql'), 'CREATE TABLE half (id int);\nSELECT no_such_function();\n');
    await writeFile(join(dir, 'README.md'), 'not a migration');
    const err = await migrate(db.url, { dir }).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'INTERNAL')).toBe(true);
    expect((err as Error).message).toMatch(/^migration 002_broken\.sql failed: .*no_such_function/);
    const rows = await query<{ name: string }>(db.url, 'SELECT name FROM wedsync_schema_migrations');
    expect(rows).toEqual([{ name: '001_ok.sql' }]);
    expect(await query(db.url, `SELECT to_regclass('half') AS t`)).toEqual([{ t: null }]);

    await writeFile(join(dir, '002_broken.sql'), 'CREATE TABLE half (id int);\n');
    expect(await migrate(db.url, { dir })).toEqual({ applied: ['002_broken.sql'], skipped: ['001_ok.sql'] });
  });

  it('lets two agents migrate at once: both succeed and each migration runs exactly once', async () => {
    const [a, b] = await Promise.all([migrate(db.url), migrate(db.url)]);
    const files = (await readMigrations(MIGRATIONS)).map((f) => f.name);
    expect([...a.applied, ...b.applied].sort()).toEqual(files);
    expect([...a.skipped, ...b.skipped].sort()).toEqual(files);
    const rows = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM wedsync_schema_migrations');
    expect(rows[0]!.n).toBe(files.length);
  });

  it('reports an unreachable database as DB_UNREACHABLE', async () => {
    const url = new URL(db.url);
    url.port = '1';
    const err = await migrate(url.toString()).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'DB_UNREACHABLE')).toBe(true);
  });
});

describe('findMigrationsDir', () => {
  it('finds migrations/ beside package.json from the compiled output folder too', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wedsync-pkg-'));
    try {
      await mkdir(join(root, 'migrations'));
      await mkdir(join(root, 'dist', 'agent', 'catalog'), { recursive: true });
      await writeFile(join(root, 'package.json'), '{}');
      expect(findMigrationsDir(join(root, 'dist', 'agent', 'catalog'))).toBe(join(root, 'migrations'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('defaults to this package', () => {
    expect(MIGRATIONS).toMatch(/migrations$/);
  });
});
