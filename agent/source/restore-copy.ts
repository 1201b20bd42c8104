import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { copyFrom } from './copy-from.js';
import { databaseError } from './db.js';
import { quoteIdent } from './introspect.js';

/** Helpers shared by the restore writers (merge into a live database, load into an empty one). */

/**
 * Streams snapshot segments (COPY text, as stored) into `target (columns)` with COPY FROM STDIN
 * (copy-from.ts: each segment sent as it is, no copy into batches). Returns the rows COPY took.
 */
export async function copyIn(client: pg.Client, target: string, columns: string[], parts: Iterable<Buffer> | AsyncIterable<Buffer>, options = ''): Promise<number> {
  return copyFrom(client, `COPY ${target} (${columns.map(quoteIdent).join(', ')}) FROM STDIN${options ? ` WITH (${options})` : ''}`, parts);
}

/**
 * A failed restore statement as a one-line, typed error: constraint violations mean the restore
 * would break the database's rules (CONFLICT, with PostgreSQL's detail), a lock timeout means
 * someone else holds the rows; anything else is a database error as usual.
 */
export function restoreError(err: unknown, url: string): WedsyncError {
  if (err instanceof WedsyncError) return err;
  const e = err as { code?: string; message?: string; detail?: string; table?: string; constraint?: string };
  const detail = e.detail ? ` (${e.detail})` : '';
  if (e.code === '23503') {
    return new WedsyncError('CONFLICT', `restoring would break foreign key ${e.constraint ?? ''} on ${e.table ?? 'a table'}${detail}: widen the restore (e.g. add the referenced data type) — nothing was changed`, { cause: err });
  }
  if (e.code === '23505') return new WedsyncError('CONFLICT', `restoring would duplicate a unique key on ${e.table ?? 'a table'}${detail} — nothing was changed`, { cause: err });
  if (e.code === '23514' || e.code === '23502') return new WedsyncError('CONFLICT', `the snapshot's rows break a constraint of the target (${e.message})${detail} — nothing was changed`, { cause: err });
  if (e.code === '55P03') return new WedsyncError('CONFLICT', 'the rows to restore are locked by another transaction (lock timeout) — nothing was changed', { cause: err });
  return databaseError(err, url);
}

/** Session settings (name, value) a restore connection takes on (restore-target.ts). */
export type SessionSettings = Array<[name: string, value: string]>;

export async function applySettings(client: pg.ClientBase, settings: SessionSettings): Promise<void> {
  for (const [name, value] of settings) await client.query('SELECT set_config($1, $2, false)', [name, value]);
}

/** Runs `fn` in one transaction: COMMIT when it returns, ROLLBACK (and a typed error) when it throws. */
export async function inTransaction<T>(client: pg.Client, url: string, fn: () => Promise<T>): Promise<T> {
  try {
    await client.query('BEGIN');
  } catch (err) {
    throw restoreError(err, url);
  }
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // After a lost connection there is nothing to roll back: the server already did.
    await client.query('ROLLBACK').catch(() => undefined);
    throw restoreError(err, url);
  }
}
