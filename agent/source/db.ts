import pg from 'pg';
import { WedsyncError } from '../contract/errors.js';

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
    client = new pg.Client({
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
