import type pg from 'pg';

/**
 * Catalog access on a user's behalf, under the row-level security of migrations/005_rls.sql.
 *
 * `withActingUser` runs `fn` in a transaction as wedsync_app (SET LOCAL ROLE) with app.user_id
 * set (set_config(..., true): transaction-local, so a pooled connection never carries one
 * request's user into the next). Whatever `fn` reads or writes in the catalog is what the
 * policies let that user see and do; the role and the setting end with the transaction.
 */
export const APP_ROLE = 'wedsync_app';

export async function withActingUser<T>(client: pg.ClientBase, userId: string, fn: (client: pg.ClientBase) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  await client.query(opts.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
    await client.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
