import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { loadPg } from './pg-load.js';

const { Client, Pool } = await loadPg();

/** "host:port/db" of a URL, never its password: safe for messages and logs. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH']);

/** Turns a pg/network error into a typed one-line WedsyncError. */
export function databaseError(err: unknown, url: string): WedsyncError {
  if (err instanceof WedsyncError) return err;
  const where = describeDatabase(url);
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  // The server answered, so "cannot reach" would mislead (the regex below matches "timeout"):
  // say what it did. A lock wait that ran out is a conflict with another transaction.
  if (code === '55P03') {
    return new WedsyncError('CONFLICT', `a table at ${where} is locked by another transaction: ${(e.message ?? '').split('\n')[0]} (gave up waiting; retry once that transaction ends)`, { cause: err });
  }
  if (code === '57014') {
    return new WedsyncError('DB_UNREACHABLE', `the database at ${where} cancelled a statement: ${(e.message ?? '').split('\n')[0]}`, { cause: err });
  }
  // The pg client's own words for a connection that broke mid-session (server gone, or we were
  // terminated): the next query on it fails with "not queryable", which is no bug of ours.
  if (/not queryable|Connection terminated unexpectedly/i.test(e.message ?? '')) {
    return new WedsyncError('DB_UNREACHABLE', `lost the connection to the database at ${where} (${(e.message ?? '').split('\n')[0]})`, { cause: err });
  }
  if (UNREACHABLE.has(code) || /timeout|terminated|Connection terminated/i.test(e.message ?? '')) {
    return new WedsyncError('DB_UNREACHABLE', `cannot reach the database at ${where} (${code || (e.message ?? 'no answer').split('\n')[0]})`, { cause: err });
  }
  if (code === '28P01' || code === '28000') {
    return new WedsyncError('BAD_INPUT', `the database at ${where} refused the credentials in the URL (${e.message})`, { cause: err });
  }
  if (code === '3D000') {
    return new WedsyncError('BAD_INPUT', `database does not exist at ${where}`, { cause: err });
  }
  if (code === '57P01' || code === '57P02' || code === '57P03' || code === '08006' || code === '08003' || code === '08001') {
    return new WedsyncError('DB_UNREACHABLE', `lost the connection to the database at ${where} (${e.message})`, { cause: err });
  }
  // Only server errors carry a SQLSTATE; anything else is our own bug, not the database's.
  const isServerError = /^[0-9A-Z]{5}$/.test(code);
  return new WedsyncError('INTERNAL', `${isServerError ? `database error at ${where}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`, { cause: err });
}

/**
 * A lock wait that ran out (SQLSTATE 55P03), said with what holds the lock: the server's own
 * message names neither the table nor the holder. Looks (on a short-lived connection of its
 * own: the waiting transaction is aborted) for the strong locks other sessions hold — on
 * `table` when the waiting statement's table is known, else on any table — and names each with
 * its mode, pid, application and age, plus how long we waited and the setting that bounds it.
 * Best effort: when that look-up fails the message still says what waited and for how long.
 * Any other error: databaseError.
 */
export async function lockTimeoutError(err: unknown, url: string, waiting: { table?: string; step: string }, timeoutMs: number): Promise<WedsyncError> {
  if ((err as { code?: string }).code !== '55P03') return databaseError(err, url);
  const wait = timeoutMs % 60_000 === 0 ? `${timeoutMs / 60_000}m` : timeoutMs % 1000 === 0 ? `${timeoutMs / 1000}s` : `${timeoutMs}ms`;
  let holders: Array<{ rel: string; mode: string; pid: number; app: string; age: number }> = [];
  try {
    holders = await withClient(url, async (c) => {
      const { rows } = await c.query<{ rel: string; mode: string; pid: number; app: string; age: number }>(
        `SELECT n.nspname || '.' || cl.relname AS rel, l.mode, l.pid, coalesce(a.application_name, '') AS app,
                coalesce(extract(epoch FROM now() - a.xact_start), 0)::int AS age
           FROM pg_locks l JOIN pg_class cl ON cl.oid = l.relation JOIN pg_namespace n ON n.oid = cl.relnamespace
           LEFT JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.mode IN ('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock')
            AND ($1::text IS NULL OR n.nspname || '.' || cl.relname = $1)
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          ORDER BY age DESC LIMIT 3`,
        [waiting.table ?? null],
      );
      return rows;
    }, { applicationName: 'wedsync-backup lock report', connectTimeoutMs: 5_000 });
  } catch {
    // The explanation is a courtesy; the failure itself is what must be reported.
  }
  const who = holders.length
    ? holders.map((h) => `table ${h.rel} is locked (${h.mode}) by pid ${h.pid}${h.app ? ` (${h.app})` : ''}, in a transaction open ${h.age} s`).join('; ')
    : `${waiting.table ? `table ${waiting.table}` : 'a table'} is locked by another transaction`;
  return new WedsyncError('CONFLICT', `${waiting.step} at ${describeDatabase(url)} waited ${wait} for a lock and gave up (lock timeout; --lock-timeout / WEDSYNC_LOCK_TIMEOUT): ${who}; retry once that transaction ends`, {
    cause: err,
    details: { waiting: waiting.table ?? null, lockTimeoutMs: timeoutMs, holders },
  });
}

/** Wraps database calls so that whatever the driver throws comes out as databaseError's typed, one-line error. */
export function mapDatabaseErrors(url: string) {
  return <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw databaseError(err, url);
      }
    };
}

export interface ConnectOptions {
  applicationName?: string;
  /** Milliseconds before giving up on connecting. */
  connectTimeoutMs?: number;
}

/** A connected client, or DB_UNREACHABLE/BAD_INPUT with a one-line reason. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  let client: pg.Client;
  try {
    new URL(url);
    client = new Client({
      connectionString: url,
      application_name: options.applicationName ?? 'wedsync-backup',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
  } catch (cause) {
    throw new WedsyncError('BAD_INPUT', 'the database URL is not a valid postgres:// URL', { cause });
  }
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw databaseError(err, url);
  }
  return client;
}

/** Run `fn` with a fresh client and always close it. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, options?: ConnectOptions): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } catch (err) {
    throw err instanceof WedsyncError ? err : databaseError(err, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Every pooled client listens for 'error' from the moment it exists: pg-pool attaches its own
 * listener only once a client has connected and while it is idle, so a server that goes away
 * during a connect or between a checkout's queries (a shutdown, a terminated backend) would
 * otherwise crash the process with an unheard 'error'. Queries still see their errors, and the
 * pool still drops dead clients.
 */
class ListeningClient extends Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** A pg.Pool that never crashes the process on a lost connection (see ListeningClient). */
export function createPool(config: pg.PoolConfig): pg.Pool {
  const pool = new Pool({ ...config, Client: ListeningClient });
  pool.on('error', () => undefined);
  return pool;
}
