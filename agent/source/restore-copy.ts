import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { databaseError } from './db.js';
import { quoteIdent } from './introspect.js';

/** Helpers shared by the restore writers (merge into a live database, load into an empty one). */

/** Bytes sent per COPY message at least: segments are small, and each write is a system call. */
const COPY_BATCH = 256 * 1024;

async function* batched(parts: Iterable<Buffer> | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let batch: Buffer[] = [];
  let size = 0;
  for await (const p of parts) {
    const last = batch[batch.length - 1];
    // Segments decoded together (one range, by a codec worker) lie side by side in one buffer:
    // widen the view instead of copying them into a new one.
    if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
      batch[batch.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
    } else {
      batch.push(p);
    }
    size += p.length;
    if (size >= COPY_BATCH) {
      yield batch.length === 1 ? batch[0]! : Buffer.concat(batch, size);
      batch = [];
      size = 0;
    }
  }
  if (size) yield batch.length === 1 ? batch[0]! : Buffer.concat(batch, size);
}

/** Streams snapshot segments (COPY text, as stored) into `target (columns)` with COPY FROM STDIN. */
export async function copyIn(client: pg.Client, target: string, columns: string[], parts: Iterable<Buffer> | AsyncIterable<Buffer>, options = ''): Promise<number> {
  const { from } = await import('pg-copy-streams');
  const stream = client.query(from(`COPY ${target} (${columns.map(quoteIdent).join(', ')}) FROM STDIN${options ? ` WITH (${options})` : ''}`));
  await pipeline(Readable.from(batched(parts), { objectMode: false }), stream);
  return stream.rowCount;
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
