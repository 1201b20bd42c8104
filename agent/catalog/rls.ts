import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { UserPrincipal } from '../core/authz.js';
import type { AuditRow } from '../core/audit-chain.js';
import { createPool, databaseError } from '../source/db.js';
import { quoteIdent, quoteQualified } from '../source/introspect.js';
import { appendAudit, listAudit, type AuditEntry, type AuditListQuery } from './audit.js';
import { claimPending, pendingRestore, releasePending, requestApproval, resolvePending, setInitiator, type PendingRestore, type RestoreRequestShape } from './rls-approvals.js';
import { APP_ROLE, withActingUser } from './rls-scope.js';
import { hashToken, looksLikeUserToken, resolveTokenHash } from './tokens.js';

export { APP_ROLE, withActingUser } from './rls-scope.js';
export type { PendingRestore, RestoreRequestShape } from './rls-approvals.js';

/**
 * Catalog access for the API's authentication and authorisation: token lookup, what a user may
 * see (asked of the database's row-level security, migrations/005_rls.sql, via withActingUser),
 * the organizations of weddings, the audit log and restore approvals.
 */

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
  /** The target weddings of a backup job the user may see (RLS), or null when they may not see it. */
  jobWeddings(user: UserPrincipal, jobId: string): Promise<string[] | null>;
  /** Organization and date of live weddings (absent ids: no such wedding). */
  weddings(ids: string[]): Promise<Map<string, WeddingFacts>>;
  /** Every live wedding id of an organization. */
  organizationWeddingIds(organizationId: string): Promise<Set<string>>;
  audit(entry: AuditEntry): Promise<AuditRow>;
  /** The audit trail; for a user, only what RLS shows them (admins: their organization). */
  listAudit(user: UserPrincipal | null, query: AuditListQuery): Promise<AuditRow[]>;
  /** A restore waiting for approval, inserted as `user` under RLS; returns its id. */
  requestApproval(user: UserPrincipal, request: RestoreRequestShape, affectedWeddings: string[], reason: string): Promise<string>;
  pendingRestore(id: string): Promise<PendingRestore | null>;
  /** awaiting-approval → pending for one approver; CONFLICT if it is not awaiting approval. */
  claimPending(id: string): Promise<void>;
  /** Back to awaiting-approval after a failed start. */
  releasePending(id: string): Promise<void>;
  /** CONFLICT when the operation is no longer awaiting approval. */
  resolvePending(id: string, resolution: { state: 'approved' | 'rejected'; by: string; byUserId: string | null; operationId?: string; note?: string }): Promise<void>;
  setInitiator(id: string, who: { initiatedBy: string | null; initiatedByLabel: string; authorizedBy: string | null }): Promise<void>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function openAccessCatalog(url: string, map: SchemaMap): Promise<AccessCatalog> {
  let pool: pg.Pool;
  try {
    new URL(url);
    pool = createPool({ connectionString: url, max: 4, application_name: 'wedsync-backup access', connectionTimeoutMillis: 10_000 });
  } catch (cause) {
    throw new WedsyncError('BAD_INPUT', 'the database URL is not a valid postgres:// URL', { cause });
  }
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
    jobWeddings: async (user, jobId) => {
      if (!UUID.test(jobId)) return null;
      return use((c) =>
        withActingUser(
          c,
          user.userId,
          async () => (await c.query<{ t: string[] }>(`SELECT target_weddings::text[] AS t FROM backup_jobs WHERE id = $1`, [jobId])).rows[0]?.t ?? null,
          { readOnly: true },
        ),
      );
    },
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
    requestApproval: (user, request, affected, reason) => use((c) => requestApproval(c, user, request, affected, reason)),
    pendingRestore: (id) => (UUID.test(id) ? use((c) => pendingRestore(c, id)) : Promise.resolve(null)),
    claimPending: (id) => use((c) => claimPending(c, id)),
    releasePending: (id) => use((c) => releasePending(c, id)),
    resolvePending: (id, resolution) => use((c) => resolvePending(c, id, resolution)),
    setInitiator: (id, who) => use((c) => setInitiator(c, id, who)),
    close: () => pool.end().catch(() => undefined),
  };
}
