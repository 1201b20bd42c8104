import type pg from 'pg';
import { WedsyncError } from '../contract/errors.js';
import { auditRowHash, verifyChain, GENESIS_HASH, type AuditFields, type AuditRow, type ChainVerdict } from '../core/audit-chain.js';
import { connect, databaseError } from '../source/db.js';

/**
 * The append-only audit log (backup_audit_log, migrations/007_audit_log.sql).
 *
 * Guarantees:
 *  - `appendAudit` extends the hash chain by exactly one row: it takes the chain lock (the same
 *    advisory lock the table's insert trigger takes), reads the head, computes the row's hash
 *    and inserts it. Concurrent writers (several agents) queue on the lock; none forks the chain.
 *  - Inside a caller's transaction the row commits or rolls back with the action it records.
 *  - Nothing secret is stored: detail keys that name secrets (passphrase, token, password,
 *    secret, authorization) are dropped before hashing.
 *  - `verify` recomputes every hash and names each bad row.
 */
export interface AuditEntry {
  action: string;
  outcome: AuditFields['outcome'];
  actor: { userId?: string | null; label: string };
  organizationId?: string | null;
  weddingIds?: string[];
  target?: string | null;
  flags?: string[];
  details?: Record<string, unknown>;
}

export interface AuditListQuery {
  limit: number;
  action?: string;
  /** Only rows of this organization (null: every organization). */
  organizationId?: string | null;
}

export interface AuditLog {
  /** Appends one row in its own transaction; returns it. */
  record(entry: AuditEntry): Promise<AuditRow>;
  /** Newest first. */
  list(query: AuditListQuery): Promise<AuditRow[]>;
  verify(): Promise<ChainVerdict>;
  close(): Promise<void>;
}

/** Same key as the trigger in 007_audit_log.sql ("wedsync\x02"). */
export const AUDIT_CHAIN_LOCK_KEY = '8603393110282494722';

const SECRET_KEY = /passphrase|password|secret|token|authorization|cookie/i;

/** JSON-safe copy without secret-named keys or NUL characters (jsonb refuses \u0000). */
function cleanDetails(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(/\0/g, '');
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => cleanDetails(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // Ids of tokens are fine ("tokenId"); their values never are.
    if (SECRET_KEY.test(k) && !/Id$|_id$|Prefix$/.test(k)) continue;
    out[k.replace(/\0/g, '')] = cleanDetails(v, depth + 1);
  }
  return out;
}

interface Row {
  seq: string;
  occurred_at: Date;
  action: string;
  outcome: AuditFields['outcome'];
  actor_user_id: string | null;
  actor_label: string;
  organization_id: string | null;
  wedding_ids: string[];
  target: string | null;
  flags: string[];
  details: Record<string, unknown>;
  prev_hash: string;
  row_hash: string;
}

function toRow(r: Row): AuditRow {
  return {
    seq: Number(r.seq),
    occurredAt: r.occurred_at.toISOString(),
    action: r.action,
    outcome: r.outcome,
    actorUserId: r.actor_user_id,
    actorLabel: r.actor_label,
    organizationId: r.organization_id,
    weddingIds: r.wedding_ids,
    target: r.target,
    flags: r.flags,
    details: r.details,
    prevHash: r.prev_hash,
    rowHash: r.row_hash,
  };
}

const COLUMNS = 'seq, occurred_at, action, outcome, actor_user_id, actor_label, organization_id, wedding_ids::text[] AS wedding_ids, target, flags, details, prev_hash, row_hash';

/** Appends `entry` inside the caller's open transaction on `client`. */
export async function appendAudit(client: pg.ClientBase, entry: AuditEntry, now: Date = new Date()): Promise<AuditRow> {
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [AUDIT_CHAIN_LOCK_KEY]);
  const head = await client.query<{ seq: string; row_hash: string }>('SELECT seq, row_hash FROM backup_audit_log ORDER BY seq DESC LIMIT 1');
  const prevHash = head.rows[0]?.row_hash ?? GENESIS_HASH;
  const fields: AuditFields = {
    seq: Number(head.rows[0]?.seq ?? 0) + 1,
    // Millisecond ISO: what the timestamptz reads back as, so the hash recomputes exactly.
    occurredAt: now.toISOString(),
    action: entry.action,
    outcome: entry.outcome,
    actorUserId: entry.actor.userId?.toLowerCase() ?? null,
    actorLabel: entry.actor.label.replace(/\0/g, ''),
    organizationId: entry.organizationId?.toLowerCase() ?? null,
    weddingIds: [...new Set((entry.weddingIds ?? []).map((w) => w.toLowerCase()))],
    target: entry.target?.replace(/\0/g, '') ?? null,
    flags: entry.flags ?? [],
    // Through JSON once: exactly what jsonb stores and gives back.
    details: JSON.parse(JSON.stringify(cleanDetails(entry.details ?? {}))) as Record<string, unknown>,
  };
  const rowHash = auditRowHash(prevHash, fields);
  await client.query(
    `INSERT INTO backup_audit_log (seq, occurred_at, action, outcome, actor_user_id, actor_label, organization_id, wedding_ids, target, flags, details, prev_hash, row_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [fields.seq, fields.occurredAt, fields.action, fields.outcome, fields.actorUserId, fields.actorLabel, fields.organizationId, fields.weddingIds, fields.target, fields.flags, JSON.stringify(fields.details), prevHash, rowHash],
  );
  return { ...fields, prevHash, rowHash };
}

/** Appends `entry` in a transaction of its own on `client` (which must not be in one). */
export async function recordAudit(client: pg.ClientBase, entry: AuditEntry): Promise<AuditRow> {
  await client.query('BEGIN');
  try {
    const row = await appendAudit(client, entry);
    await client.query('COMMIT');
    return row;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function listAudit(client: pg.ClientBase, q: AuditListQuery): Promise<AuditRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.action) where.push(`action = $${params.push(q.action)}`);
  if (q.organizationId) where.push(`organization_id = $${params.push(q.organizationId)}`);
  const { rows } = await client.query<Row>(
    `SELECT ${COLUMNS} FROM backup_audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.push(q.limit)}`,
    params,
  );
  return rows.map(toRow);
}

/** Reads the whole log in seq order, in pages, and checks the chain. */
export async function verifyAudit(client: pg.ClientBase, pageSize = 2000): Promise<ChainVerdict> {
  const problems: ChainVerdict['problems'] = [];
  let start = { seq: 0, hash: GENESIS_HASH };
  let rows = 0;
  let head: ChainVerdict['head'] = null;
  for (;;) {
    const page = await client.query<Row>(`SELECT ${COLUMNS} FROM backup_audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, [head?.seq ?? 0, pageSize]);
    if (!page.rows.length) break;
    const verdict = verifyChain(page.rows.map(toRow), start);
    problems.push(...verdict.problems);
    rows += verdict.rows;
    head = verdict.head;
    start = head!;
  }
  return { ok: problems.length === 0, rows, head, problems };
}

/** An audit log on its own connection; calls run one at a time. */
export async function openAuditLog(url: string): Promise<AuditLog> {
  const client = await connect(url, { applicationName: 'wedsync-backup audit' });
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(async () => {
      try {
        return await fn();
      } catch (err) {
        throw err instanceof WedsyncError ? err : databaseError(err, url);
      }
    });
    tail = run.catch(() => undefined);
    return run;
  };
  return {
    record: (entry) => serial(() => recordAudit(client, entry)),
    list: (q) => serial(() => listAudit(client, q)),
    verify: () => serial(() => verifyAudit(client)),
    close: () => client.end().catch(() => undefined),
  };
}

/**
 * One audit row, on a connection of its own, for code that has no AuditLog open (a prune run,
 * a CLI command): `await auditOnce(url, { action: 'prune', outcome: 'succeeded', actor: { label }, details })`.
 */
export async function auditOnce(url: string, entry: AuditEntry): Promise<AuditRow> {
  const log = await openAuditLog(url);
  try {
    return await log.record(entry);
  } finally {
    await log.close();
  }
}
