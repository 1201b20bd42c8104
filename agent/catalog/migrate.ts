import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { WedsyncError } from '../contract/errors.js';

/**
 * The migration runner behind `wedsync-backup init`: applies migrations/NNN_name.sql in name
 * order, each in its own transaction, and records them in wedsync_schema_migrations.
 *
 * Guarantees:
 *  - Idempotent: a migration recorded as applied is never run again; a second run changes nothing.
 *  - Safe with several agents starting at once: every transaction first takes one advisory
 *    transaction lock, so migrations run one at a time and each exactly once.
 *  - A migration edited after it was applied (checksum differs) stops the run with BAD_INPUT
 *    naming the file, before anything new is applied: the database no longer matches the code.
 *  - A failing migration is rolled back whole; the ones before it stay applied.
 */

export interface MigrateOptions {
  /** Folder of NNN_name.sql files; default: the package's migrations/ folder. */
  dir?: string;
  /** One line per migration applied or skipped. */
  log?: (message: string) => void;
}

export interface MigrateResult {
  /** File names applied by this run, in order. */
  applied: string[];
  /** File names that were already applied. */
  skipped: string[];
}

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 (hex) of the file with line endings normalised. */
  checksum: string;
}

/** Arbitrary but fixed: every agent must take the same advisory lock ("wedsync\x01" as bytes). */
export const MIGRATION_LOCK_KEY = '8603393110282494721';

const FILE_PATTERN = /^\d{3}_[A-Za-z0-9_]+\.sql$/;

const CREATE_BOOKKEEPING = `
  CREATE TABLE IF NOT EXISTS wedsync_schema_migrations (
    name        text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
  )`;

export async function migrate(target: pg.ClientBase | string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => undefined);
  const files = await readMigrations(options.dir ?? findMigrationsDir());
  const { client, release } = await connect(target);
  const result: MigrateResult = { applied: [], skipped: [] };
  try {
    await inLockedTransaction(client, async () => {
      await client.query(CREATE_BOOKKEEPING);
      checkAppliedMatchFiles(files, await readApplied(client));
    });
    for (const file of files) {
      // Checked again under the lock: another agent may have applied it since the check above.
      const outcome = await inLockedTransaction(client, async () => {
        const applied = await readApplied(client);
        if (applied.has(file.name)) {
          checkAppliedMatchFiles([file], applied);
          return 'skipped' as const;
        }
        try {
          await client.query(file.sql);
        } catch (cause) {
          throw new WedsyncError('INTERNAL', `migration ${file.name} failed: ${errorMessage(cause)}`, { cause });
        }
        await client.query('INSERT INTO wedsync_schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
        return 'applied' as const;
      });
      result[outcome].push(file.name);
      log(`${outcome === 'applied' ? 'applied' : 'already applied'}: ${file.name}`);
    }
  } finally {
    await release();
  }
  return result;
}

/** The migration files of `dir`, in the order they run. Other files (README…) are ignored. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  } catch (cause) {
    throw new WedsyncError('INTERNAL', `cannot read migrations folder ${dir}: ${errorMessage(cause)}`, { cause });
  }
  return Promise.all(
    names.map(async (name) => {
      // CRLF → LF: a Windows checkout (git autocrlf) must not look like an edited migration.
      const sql = (await readFile(join(dir, name), 'utf8')).replace(/\r\n/g, '\n');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * The package's migrations/ folder: the nearest ancestor of this module holding both
 * package.json and migrations/. Works from the sources (agent/catalog/) and from the
 * compiled output (dist/agent/catalog/), which has no copy of the SQL.
 */
export function findMigrationsDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new WedsyncError('INTERNAL', `no migrations/ folder found above ${from}`);
}

/**
 * Throws BAD_INPUT when an applied migration's file changed, or when a file not yet applied
 * sorts before one that was (it would run out of order against a schema it did not expect).
 */
function checkAppliedMatchFiles(files: MigrationFile[], applied: Map<string, string>): void {
  const lastApplied = [...applied.keys()].sort().at(-1);
  for (const file of files) {
    const checksum = applied.get(file.name);
    if (checksum === undefined) {
      if (lastApplied !== undefined && file.name < lastApplied) {
        throw new WedsyncError('BAD_INPUT', `migration ${file.name} is new but sorts before the already applied ${lastApplied}; give it a later number`);
      }
    } else if (checksum !== file.checksum) {
      throw new WedsyncError('BAD_INPUT', `migration ${file.name} was changed after it was applied (checksum differs); restore the original file and add a new migration instead`, {
        details: { migration: file.name, applied: checksum, file: file.checksum },
      });
    }
  }
}

async function readApplied(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM wedsync_schema_migrations');
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

/**
 * BEGIN, take the migration lock, run `body`, COMMIT (ROLLBACK on error). READ COMMITTED is
 * explicit: each later statement then gets a fresh snapshot taken after the lock was granted,
 * so it sees what the agent that held the lock before us committed. Under REPEATABLE READ the
 * snapshot would date from before the wait.
 */
async function inLockedTransaction<T>(client: pg.ClientBase, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    const value = await body();
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function connect(target: pg.ClientBase | string): Promise<{ client: pg.ClientBase; release: () => Promise<void> }> {
  if (typeof target !== 'string') return { client: target, release: async () => undefined };
  const client = new pg.Client({ connectionString: target });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new WedsyncError('DB_UNREACHABLE', `cannot connect to the database: ${errorMessage(cause)}`, { cause });
  }
  return { client, release: () => client.end() };
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
