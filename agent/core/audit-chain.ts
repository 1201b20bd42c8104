import { createHash } from 'node:crypto';

/**
 * The hash chain of the audit log (migrations/007_audit_log.sql), as pure functions so the
 * writer and `audit verify` cannot disagree on what a row's hash covers.
 *
 *   row_hash = sha256_hex(prev_hash + "\n" + canonical(row))
 *
 * canonical(row) is JSON with sorted keys and no whitespace of every column except the two
 * hashes. uuids are lowercase (as PostgreSQL prints them), occurredAt is an ISO string with
 * milliseconds (what a timestamptz written from a JS Date reads back as), arrays keep their order.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditFields {
  seq: number;
  occurredAt: string;
  action: string;
  outcome: 'succeeded' | 'failed' | 'denied' | 'requested';
  actorUserId: string | null;
  actorLabel: string;
  organizationId: string | null;
  weddingIds: string[];
  target: string | null;
  flags: string[];
  details: Record<string, unknown>;
}

export interface AuditRow extends AuditFields {
  prevHash: string;
  rowHash: string;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
    .join(',')}}`;
}

export function canonicalAuditRow(f: AuditFields): string {
  return canonical({
    seq: f.seq,
    occurredAt: f.occurredAt,
    action: f.action,
    outcome: f.outcome,
    actorUserId: f.actorUserId,
    actorLabel: f.actorLabel,
    organizationId: f.organizationId,
    weddingIds: f.weddingIds,
    target: f.target,
    flags: f.flags,
    details: f.details,
  });
}

export function auditRowHash(prevHash: string, fields: AuditFields): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalAuditRow(fields)}`).digest('hex');
}

export interface ChainProblem {
  seq: number;
  reason: string;
}

export interface ChainVerdict {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** The last row's seq and hash: record it elsewhere to detect deletion of the newest rows. */
  head: { seq: number; hash: string } | null;
  /** Every broken row, oldest first (an edit breaks one row; a deletion breaks the next link). */
  problems: ChainProblem[];
}

/**
 * Walks rows in seq order (they must be given sorted) from `start` (the genesis, or a row
 * known good), checking numbering, links and each row's own hash.
 */
export function verifyChain(rows: Iterable<AuditRow>, start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH }): ChainVerdict {
  const problems: ChainProblem[] = [];
  let expectSeq = start.seq + 1;
  let prev = start.hash;
  let count = 0;
  let head: ChainVerdict['head'] = null;
  for (const row of rows) {
    count++;
    if (row.seq !== expectSeq) problems.push({ seq: row.seq, reason: `expected seq ${expectSeq} (rows missing or renumbered)` });
    if (row.prevHash !== prev) problems.push({ seq: row.seq, reason: 'prev_hash does not match the previous row (a row before it was changed or removed)' });
    const actual = auditRowHash(row.prevHash, row);
    if (actual !== row.rowHash) problems.push({ seq: row.seq, reason: 'row_hash does not match the row: the row was modified after it was written' });
    prev = row.rowHash;
    expectSeq = row.seq + 1;
    head = { seq: row.seq, hash: row.rowHash };
  }
  return { ok: problems.length === 0, rows: count, head, problems };
}
