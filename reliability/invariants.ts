import { createHash } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { expect } from 'vitest';
import type { Catalog } from '../agent/catalog/catalog.js';
import type { IntegrityFinding, SnapshotValidationReport } from '../agent/contract/validation-report.js';
import { verifySnapshots } from '../agent/jobs/verify.js';
import { checkRepository } from '../agent/repository/check.js';
import type { Repository } from '../agent/repository/repository.js';
import type { BlobStore } from '../agent/storage/blob-store.js';
import type { Prng } from '../test-support/faults/prng.js';

/**
 * The invariants every fault test ends with: what is listed can be restored, the repository
 * holds nothing worse than garbage, and no row was lost or changed.
 */

/**
 * Every snapshot the repository lists, and every catalog row for this repository, passes
 * read-data validation (packs read, blobs decrypted and re-hashed, rows recounted). Returns the
 * ids checked. A catalog row whose manifest is missing fails here (verify reports it missing).
 */
export async function expectEverySnapshotValid(repo: Repository, catalog?: Catalog, opts: { skip?: ReadonlySet<string> } = {}): Promise<string[]> {
  const ids = new Set(await repo.listSnapshots());
  if (catalog) for (const row of await catalog.listSnapshots({ storageLocation: repo.location, limit: 10_000, brief: true })) ids.add(row.id);
  // `skip`: snapshots validated earlier in the same test (manifests are immutable, packs content-named).
  const run = await verifySnapshots({ repo }, { snapshotIds: [...ids].filter((id) => !opts.skip?.has(id)).sort(), level: 'read-data' });
  const bad = run.snapshots.filter((s: SnapshotValidationReport) => s.status !== 'valid');
  expect(bad.map((s) => ({ id: s.snapshotId, status: s.status, findings: s.findings.slice(0, 3).map((f) => `${f.kind}: ${f.message}`) }))).toEqual([]);
  expect(run.repositoryFindings.filter((f) => f.severity === 'error')).toEqual([]);
  return [...ids];
}

/** Finding kinds a crash may leave behind: garbage for prune, never damage. */
export const GARBAGE_KINDS: ReadonlySet<IntegrityFinding['kind']> = new Set(['unreferenced-pack', 'unindexed-pack']);

/** The repository check (with every pack read) finds nothing but `allowed` kinds; returns the findings. */
export async function expectRepositoryClean(
  repo: Repository,
  passphrase: string,
  allowed: ReadonlySet<IntegrityFinding['kind']> = new Set(),
  opts: { readData?: boolean } = {},
): Promise<IntegrityFinding[]> {
  const report = await checkRepository(repo, { readData: opts.readData ?? true, passphrase });
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
export async function tableDigests(client: pg.ClientBase | pg.Pool, tables: readonly string[] = WEDDING_TABLES): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const { rows } = await client.query<{ h: string | null; n: string }>(`SELECT md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS h, count(*)::text AS n FROM ${t} x`);
    out[t] = `${rows[0]!.n}:${rows[0]!.h ?? ''}`;
  }
  return out;
}

async function copyLines(client: pg.Client, sql: string): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of client.query(copyTo(`COPY (${sql}) TO STDOUT`)) as AsyncIterable<Buffer>) chunks.push(c);
  return linesOf(Buffer.concat(chunks));
}

function linesOf(text: Buffer): string[] {
  const s = text.toString('utf8');
  if (s === '') return [];
  return (s.endsWith('\n') ? s.slice(0, -1) : s).split('\n').sort();
}

/**
 * The snapshot holds exactly the database's rows, table by table (every segment decoded; rows
 * compared as sorted COPY text lines): nothing lost, nothing changed, nothing extra. Returns the
 * number of rows compared.
 */
export async function expectSnapshotEqualsDatabase(repo: Repository, snapshotId: string, client: pg.Client): Promise<number> {
  const m = await repo.loadManifest(snapshotId);
  let rows = 0;
  for (const t of m.schema.tables) {
    const q = `${t.schema}.${t.name}`;
    const ids = [...m.weddings.flatMap((w) => (w.tables[q] ?? []).map((s) => s.id)), ...t.segments.map((s) => s.id)];
    const blobs = await repo.loadBlobs(ids);
    const fromSnapshot = ids.flatMap((id) => linesOf(blobs.get(id)!)).sort();
    const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
    const fromDb = await copyLines(client, `SELECT ${cols} FROM "${t.schema}"."${t.name}"`);
    expect(fromSnapshot.length, `${q} row count`).toBe(fromDb.length);
    expect(fromSnapshot, q).toEqual(fromDb);
    rows += fromDb.length;
  }
  return rows;
}

/**
 * A day's edits, so each backup has new data to write: a few guests change, and `photos` photo
 * files are replaced by new (incompressible) bytes with their rows updated — tens of KiB of new
 * blobs, several packs when packs are small.
 */
export async function churn(client: pg.ClientBase | pg.Pool, photoStore: BlobStore, prng: Prng, photos = 6): Promise<void> {
  await client.query(`UPDATE guests SET phone = $1 WHERE id IN (SELECT id FROM guests ORDER BY md5(id::text || $2) LIMIT 3)`, [`+44 7700 ${prng.int(100000, 999999)}`, String(prng.next())]);
  const { rows } = await client.query<{ id: string; storage_key: string }>(
    `SELECT id, storage_key FROM photos WHERE sha256 IS NOT NULL ORDER BY md5(id::text || $1) LIMIT $2`,
    [String(prng.next()), photos],
  );
  for (const row of rows) {
    const bytes = Buffer.alloc(prng.int(20_000, 40_000));
    for (let i = 0; i < bytes.length; i++) bytes[i] = prng.int(0, 255);
    await photoStore.put(row.storage_key, bytes);
    await client.query(`UPDATE photos SET sha256 = $2, size_bytes = $3 WHERE id = $1`, [row.id, createHash('sha256').update(bytes).digest('hex'), bytes.length]);
  }
}
