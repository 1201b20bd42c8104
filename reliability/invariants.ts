import type pg from 'pg';
import { expect } from 'vitest';
import type { Catalog } from '../agent/catalog/catalog.js';
import type { IntegrityFinding, SnapshotValidationReport } from '../agent/contract/validation-report.js';
import { verifySnapshots } from '../agent/jobs/verify.js';
import { checkRepository } from '../agent/repository/check.js';
import type { Repository } from '../agent/repository/repository.js';

/**
 * The invariants every fault test ends with: what is listed can be restored, the repository
 * holds nothing worse than garbage, and no row was lost or changed.
 */

/**
 * Every snapshot the repository lists, and every catalog row for this repository, passes
 * read-data validation (packs read, blobs decrypted and re-hashed, rows recounted). Returns the
 * ids checked. A catalog row whose manifest is missing fails here (verify reports it missing).
 */
export async function expectEverySnapshotValid(repo: Repository, catalog?: Catalog): Promise<string[]> {
  const ids = new Set(await repo.listSnapshots());
  if (catalog) for (const row of await catalog.listSnapshots({ storageLocation: repo.location, limit: 10_000, brief: true })) ids.add(row.id);
  const run = await verifySnapshots({ repo }, { snapshotIds: [...ids].sort(), level: 'read-data' });
  const bad = run.snapshots.filter((s: SnapshotValidationReport) => s.status !== 'valid');
  expect(bad.map((s) => ({ id: s.snapshotId, status: s.status, findings: s.findings.slice(0, 3).map((f) => `${f.kind}: ${f.message}`) }))).toEqual([]);
  expect(run.repositoryFindings.filter((f) => f.severity === 'error')).toEqual([]);
  return [...ids];
}

/** Finding kinds a crash may leave behind: garbage for prune, never damage. */
export const GARBAGE_KINDS: ReadonlySet<IntegrityFinding['kind']> = new Set(['unreferenced-pack', 'unindexed-pack']);

/** The repository check (with every pack read) finds nothing but `allowed` kinds; returns the findings. */
export async function expectRepositoryClean(repo: Repository, passphrase: string, allowed: ReadonlySet<IntegrityFinding['kind']> = new Set()): Promise<IntegrityFinding[]> {
  const report = await checkRepository(repo, { readData: true, passphrase });
  const unexpected = report.findings.filter((f) => !allowed.has(f.kind));
  expect(unexpected.map((f) => `${f.severity} ${f.kind}: ${f.message}`)).toEqual([]);
  return report.findings;
}

/** The wedding schema's tables (what a restore may touch), in a fixed order. */
export const WEDDING_TABLES = ['organizations', 'user_profiles', 'weddings', 'vendors', 'guests', 'timeline_events', 'photos', 'wedding_backup_settings'] as const;

/**
 * Each table's row count and a hash of every row (as text, sorted): two equal digests mean the
 * table holds exactly the same rows. `tables` defaults to every table of the public schema
 * that is not a catalog table.
 */
export async function tableDigests(client: pg.ClientBase, tables: readonly string[] = WEDDING_TABLES): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const { rows } = await client.query<{ h: string | null; n: string }>(`SELECT md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS h, count(*)::text AS n FROM ${t} x`);
    out[t] = `${rows[0]!.n}:${rows[0]!.h ?? ''}`;
  }
  return out;
}
