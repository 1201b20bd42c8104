import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import type { Role, UserPrincipal } from '../core/authz.js';
import { appendAudit } from './audit.js';

/**
 * Per-user API tokens (backup_api_tokens, migrations/006_api_tokens.sql).
 *
 * Guarantees:
 *  - A token is 256 random bits, returned once by `issueToken` and never stored: only its
 *    SHA-256 is. Listing shows ids, labels and a short prefix, never a usable secret.
 *  - Issue and revoke write their audit row in the same transaction: no token exists without
 *    its audit row, and a revocation is never lost without one.
 *  - `resolveTokenHash` answers with the user's current role and organization (a role change
 *    applies to the next request); revoked or expired tokens, and tokens of deleted users,
 *    resolve to null.
 */
export const TOKEN_PREFIX = 'wsb_';
const TOKEN_SHAPE = /^wsb_[A-Za-z0-9_-]{43}$/;

export interface TokenInfo {
  id: string;
  userId: string;
  email: string;
  role: Role;
  organizationId: string;
  label: string;
  /** The token's first characters, to tell tokens apart. */
  prefix: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check before any database lookup: garbage never reaches the catalog. */
export function looksLikeUserToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

interface Row {
  id: string;
  user_id: string;
  email: string;
  role: Role;
  organization_id: string;
  label: string;
  token_prefix: string;
  created_at: Date;
  created_by: string | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const SELECT = `SELECT t.id, t.user_id, u.email, u.role, u.organization_id, t.label, t.token_prefix, t.created_at, t.created_by, t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by
                  FROM backup_api_tokens t JOIN user_profiles u ON u.id = t.user_id`;

function toInfo(r: Row): TokenInfo {
  return {
    id: r.id,
    userId: r.user_id,
    email: r.email,
    role: r.role,
    organizationId: r.organization_id,
    label: r.label,
    prefix: r.token_prefix,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    expiresAt: iso(r.expires_at),
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
    revokedBy: r.revoked_by,
  };
}

async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await fn();
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface IssueRequest {
  email: string;
  label?: string;
  expiresAt?: Date | null;
  /** Who issues it, for the row and the audit log ("cli:root@host"). */
  issuedBy: string;
}

/** Issues a token for the user_profile with `email`; NOT_FOUND when there is none. */
export async function issueToken(client: pg.ClientBase, req: IssueRequest): Promise<{ token: string; info: TokenInfo }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return inTransaction(client, async () => {
    const user = await client.query<{ id: string; organization_id: string; role: Role }>('SELECT id, organization_id, role FROM user_profiles WHERE lower(email) = lower($1)', [req.email]);
    if (!user.rows[0]) throw new WedsyncError('NOT_FOUND', `no user_profile with email ${JSON.stringify(req.email)}`);
    if (user.rows.length > 1) throw new WedsyncError('BAD_INPUT', `more than one user_profile matches ${JSON.stringify(req.email)} ignoring case; give the exact email`);
    const u = user.rows[0];
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO backup_api_tokens (user_id, label, token_hash, token_prefix, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [u.id, req.label ?? '', hashToken(token), token.slice(0, TOKEN_PREFIX.length + 4), req.issuedBy, req.expiresAt ?? null],
    );
    const id = rows[0]!.id;
    await appendAudit(client, {
      action: 'token.issue',
      outcome: 'succeeded',
      actor: { label: req.issuedBy },
      organizationId: u.organization_id,
      target: `api_token:${id}`,
      details: { tokenId: id, userId: u.id, email: req.email, role: u.role, label: req.label ?? '', expiresAt: req.expiresAt?.toISOString() ?? null },
    });
    const info = await client.query<Row>(`${SELECT} WHERE t.id = $1`, [id]);
    return { token, info: toInfo(info.rows[0]!) };
  });
}

export async function listTokens(client: pg.ClientBase, q: { email?: string; includeRevoked?: boolean } = {}): Promise<TokenInfo[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.email) where.push(`lower(u.email) = lower($${params.push(q.email)})`);
  if (!q.includeRevoked) where.push('t.revoked_at IS NULL');
  const { rows } = await client.query<Row>(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t.created_at, t.id`, params);
  return rows.map(toInfo);
}

/** Revokes token `id`. NOT_FOUND for an unknown id; revoking twice keeps the first revocation. */
export async function revokeToken(client: pg.ClientBase, id: string, revokedBy: string): Promise<{ info: TokenInfo; alreadyRevoked: boolean }> {
  return inTransaction(client, async () => {
    const current = await client.query<Row>(`${SELECT} WHERE t.id = $1 FOR UPDATE OF t`, [id]);
    const row = current.rows[0];
    if (!row) throw new WedsyncError('NOT_FOUND', `no API token ${id}`);
    if (row.revoked_at) return { info: toInfo(row), alreadyRevoked: true };
    await client.query('UPDATE backup_api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1', [id, revokedBy]);
    await appendAudit(client, {
      action: 'token.revoke',
      outcome: 'succeeded',
      actor: { label: revokedBy },
      organizationId: row.organization_id,
      target: `api_token:${id}`,
      details: { tokenId: id, userId: row.user_id, email: row.email },
    });
    const after = await client.query<Row>(`${SELECT} WHERE t.id = $1`, [id]);
    return { info: toInfo(after.rows[0]!), alreadyRevoked: false };
  });
}

/**
 * The principal of a live token with this hash, or null. Marks the token used (at most once a
 * minute, so a busy console does not write a row per request).
 */
export async function resolveTokenHash(client: pg.ClientBase, tokenHash: string): Promise<UserPrincipal | null> {
  const { rows } = await client.query<{ id: string; user_id: string; email: string; role: Role; organization_id: string; stale: boolean }>(
    `SELECT t.id, t.user_id, u.email, u.role, u.organization_id,
            (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
       FROM backup_api_tokens t JOIN user_profiles u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())`,
    [tokenHash],
  );
  const r = rows[0];
  if (!r) return null;
  if (r.stale) await client.query('UPDATE backup_api_tokens SET last_used_at = now() WHERE id = $1', [r.id]);
  return { kind: 'user', userId: r.user_id, email: r.email, role: r.role, organizationId: r.organization_id, tokenId: r.id };
}
