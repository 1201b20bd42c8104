import pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { UserPrincipal } from '../core/authz.js';
import type { AuditRow } from '../core/audit-chain.js';
import { databaseError } from '../source/db.js';
import { quoteIdent, quoteQualified } from '../source/introspect.js';
import { appendAudit, listAudit, type AuditEntry, type AuditListQuery } from './audit.js';
import { hashToken, looksLikeUserToken, resolveTokenHash } from './tokens.js';

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

export interface WeddingFacts {
  organizationId: string | null;
  /** YYYY-MM-DD. */
  weddingDate: string | null;
}

/**
 * What the API's authorisation needs from the catalog. The agent's implementation is
 * `openAccessCatalog`; every method is safe to call concurrently.
 */
export interface AccessCatalog {
  /** The user behind a per-user token; null for an unknown, revoked or expired one (or a string that is not a token). */
  resolveToken(token: string): Promise<UserPrincipal | null>;
  /** Which of `ids` the user may see (RLS on backup_snapshots). */
  visibleSnapshotIds(user: UserPrincipal, ids: string[]): Promise<Set<string>>;
  /** Which of `ids` the user may see (RLS on recovery_operations). */
  visibleOperationIds(user: UserPrincipal, ids: string[]): Promise<Set<string>>;
  /** Organization and date of live weddings (absent ids: no such wedding). */
  weddings(ids: string[]): Promise<Map<string, WeddingFacts>>;
  /** Every live wedding id of an organization. */
  organizationWeddingIds(organizationId: string): Promise<Set<string>>;
  audit(entry: AuditEntry): Promise<AuditRow>;
  /** The audit trail; for a user, only what RLS shows them (admins: their organization). */
  listAudit(user: UserPrincipal | null, query: AuditListQuery): Promise<AuditRow[]>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function openAccessCatalog(url: string, map: SchemaMap): Promise<AccessCatalog> {
  let pool: pg.Pool;
  try {
    new URL(url);
    pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'wedsync-backup access', connectionTimeoutMillis: 10_000 });
  } catch (cause) {
    throw new WedsyncError('BAD_INPUT', 'the database URL is not a valid postgres:// URL', { cause });
  }
  // An idle pooled client whose server goes away emits 'error' on the pool: without a listener Node would crash.
  pool.on('error', () => undefined);
  const use = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      return await fn(client);
    } catch (err) {
      throw err instanceof WedsyncError ? err : databaseError(err, url);
    } finally {
      client?.release();
    }
  };
  const w = map.weddings;
  const orgExpr = w.organizationColumn ? `${quoteIdent(w.organizationColumn)}::text` : 'NULL::text';
  const visible = (table: 'backup_snapshots' | 'recovery_operations') => async (user: UserPrincipal, ids: string[]) => {
    const wanted = ids.filter((i) => UUID.test(i));
    if (!wanted.length) return new Set<string>();
    return use((c) =>
      withActingUser(
        c,
        user.userId,
        async () => new Set((await c.query<{ id: string }>(`SELECT id::text FROM ${table} WHERE id = ANY($1::uuid[])`, [wanted])).rows.map((r) => r.id)),
        { readOnly: true },
      ),
    );
  };

  // Fail early and clearly when the agent's login cannot act as users (not a member of wedsync_app).
  await use(async (c) => {
    const { rows } = await c.query<{ ok: boolean }>(`SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, $1, 'MEMBER') AS ok`, [APP_ROLE]).catch(() => ({ rows: [{ ok: false }] }));
    if (!rows[0]?.ok) {
      throw new WedsyncError('BAD_INPUT', `the database login of the agent must be a member of ${APP_ROLE} to serve per-user tokens (GRANT ${APP_ROLE} TO <login>), or run migrations first (wedsync-backup init)`);
    }
  });

  return {
    resolveToken: async (token) => (looksLikeUserToken(token) ? use((c) => resolveTokenHash(c, hashToken(token))) : null),
    visibleSnapshotIds: visible('backup_snapshots'),
    visibleOperationIds: visible('recovery_operations'),
    weddings: async (ids) => {
      const wanted = [...new Set(ids.filter((i) => UUID.test(i)).map((i) => i.toLowerCase()))];
      if (!wanted.length) return new Map();
      return use(async (c) => {
        const { rows } = await c.query<{ id: string; org: string | null; date: string | null }>(
          `SELECT ${quoteIdent(w.idColumn)}::text AS id, ${orgExpr} AS org, ${quoteIdent(w.dateColumn)}::date::text AS date
             FROM ${quoteQualified(w.table)} WHERE ${quoteIdent(w.idColumn)}::text = ANY($1::text[])`,
          [wanted],
        );
        return new Map(rows.map((r) => [r.id, { organizationId: r.org, weddingDate: r.date }]));
      });
    },
    organizationWeddingIds: async (organizationId) => {
      if (!w.organizationColumn || !UUID.test(organizationId)) return new Set();
      return use(async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `SELECT ${quoteIdent(w.idColumn)}::text AS id FROM ${quoteQualified(w.table)} WHERE ${quoteIdent(w.organizationColumn!)}::text = $1`,
          [organizationId.toLowerCase()],
        );
        return new Set(rows.map((r) => r.id));
      });
    },
    audit: (entry) =>
      use(async (c) => {
        await c.query('BEGIN');
        try {
          const row = await appendAudit(c, entry);
          await c.query('COMMIT');
          return row;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    listAudit: (user, query) => use((c) => (user ? withActingUser(c, user.userId, () => listAudit(c, query), { readOnly: true }) : listAudit(c, query))),
    close: () => pool.end().catch(() => undefined),
  };
}
