import type {
  DataFinding,
  IntegrityFinding,
  IntegrityFindingKind,
  ValidationStatus,
} from '../contract/validation-report.js';

/**
 * Pure rules shared by snapshot validation, the repository check and the live data check:
 * what status a set of findings means, how the read-data subset is sampled, and how findings
 * are counted and summarised. No I/O.
 */

/**
 * Error kinds that mean something is missing (→ `incomplete`). Every other error kind means
 * something is present but wrong (→ `corrupted`). Warnings never change the status.
 */
const MISSING_KINDS: ReadonlySet<IntegrityFindingKind> = new Set<IntegrityFindingKind>([
  'manifest-missing',
  'blob-missing-from-index',
  'index-pack-missing',
  'pack-missing',
  'pack-unreadable',
  'wedding-row-missing',
]);

export function isMissingKind(kind: IntegrityFindingKind): boolean {
  return MISSING_KINDS.has(kind);
}

/**
 * valid: no error findings. corrupted: at least one error of the "present but wrong" kind —
 * it wins over incomplete because it is the stronger claim (the data cannot be trusted).
 * incomplete: only "missing" errors.
 */
export function statusOf(findings: readonly Pick<IntegrityFinding, 'severity' | 'kind'>[]): ValidationStatus {
  let missing = false;
  for (const f of findings) {
    if (f.severity !== 'error') continue;
    if (!MISSING_KINDS.has(f.kind)) return 'corrupted';
    missing = true;
  }
  return missing ? 'incomplete' : 'valid';
}

/** The worse of two statuses (corrupted > incomplete > valid). */
export function worseStatus(a: ValidationStatus, b: ValidationStatus): ValidationStatus {
  const rank: Record<ValidationStatus, number> = { valid: 0, incomplete: 1, corrupted: 2 };
  return rank[a] >= rank[b] ? a : b;
}

export function countSeverities(findings: readonly { severity: 'error' | 'warning' }[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const f of findings) if (f.severity === 'error') errors++;
  return { errors, warnings: findings.length - errors };
}

/**
 * The read-data subset: pack `packId` is read when the number formed by the first 13 hex
 * digits of its id (52 bits), divided by 16^13, is below `fraction`.
 *
 * Pack ids are SHA-256 digests of the pack bytes, so this picks an unbiased sample of about
 * `fraction` of the packs; and it is deterministic — the same packs on every run and on every
 * agent, so a subset result can be reproduced. The price of determinism is that repeated runs
 * with the same fraction re-read the same packs; run without a subset (or with 100%) now and
 * then to cover every pack. Growing the fraction only adds packs (10% ⊂ 20%).
 */
export function packInSubset(packId: string, fraction: number): boolean {
  if (fraction >= 1) return true;
  if (!(fraction > 0)) return false;
  const head = Number.parseInt(packId.slice(0, 13), 16);
  if (!Number.isFinite(head)) return true; // not a hex id: read it rather than silently skip it
  return head / 16 ** 13 < fraction;
}

/**
 * Dedups findings that say the same thing about the same place (a pack missing hurts a
 * wedding's table once, however many of its blobs the pack held).
 */
export function findingKey(f: IntegrityFinding): string {
  return [f.snapshotId ?? '', f.kind, f.weddingId ?? '', f.table ?? '', f.packId ?? '', f.blobId ?? '', f.photoId ?? '', f.indexId ?? '', f.keyId ?? ''].join('\u0000');
}

/** Weddings with at least one error finding, sorted. */
export function affectedWeddings(findings: readonly IntegrityFinding[]): string[] {
  const ids = new Set<string>();
  for (const f of findings) if (f.severity === 'error' && f.weddingId) ids.add(f.weddingId);
  return [...ids].sort();
}

/** Errors first, then by wedding, data type, kind: stable output for people and tests. */
export function sortFindings<T extends IntegrityFinding | DataFinding>(findings: T[]): T[] {
  const key = (f: T) =>
    [f.severity === 'error' ? '0' : '1', f.weddingId ?? '', f.dataType ?? '', f.kind, 'table' in f ? (f.table ?? '') : '', 'blobId' in f ? (f.blobId ?? '') : '', 'rowId' in f ? (f.rowId ?? '') : ''].join('\u0000');
  return findings
    .map((f) => ({ f, k: key(f) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.f);
}

/** Counts per kind ("blob-corrupt: 3, pack-missing: 1"), most frequent first. */
export function summariseKinds(findings: readonly { kind: string }[]): Array<{ kind: string; count: number }> {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1));
}
