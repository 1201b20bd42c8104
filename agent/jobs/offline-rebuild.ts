import type { CacheStore } from '../cache/store.js';
import type { Manifest } from '../contract/manifest.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { Repository } from '../repository/repository.js';
import { installBase, readBaseRows } from './stream-base.js';

/**
 * Refills an empty cache (a damaged one was moved aside) from the local repository, with no
 * database: each wedding's newest snapshot there becomes its cached rows (state `kept`: readable
 * offline, re-based by the stream once the database answers), and every snapshot is mirrored.
 * The change log since those snapshots is lost with the damaged file; the stream's next base
 * starts a new one.
 */
export async function rebuildCacheFromRepository(store: CacheStore, repo: Repository, map: SchemaMap, options: { keepDays?: number } = {}): Promise<{ weddings: number; snapshots: number }> {
  const manifests: Manifest[] = [];
  for (const id of await repo.listSnapshots()) manifests.push(await repo.loadManifest(id));
  manifests.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  store.putSnapshots(
    manifests.map((m) => ({
      id: m.snapshotId,
      createdAt: m.createdAt,
      snapshotType: m.type,
      storageLocation: repo.location,
      weddingIds: m.weddings.map((w) => w.weddingId),
      summary: { id: m.snapshotId, snapshotType: m.type, createdAt: m.createdAt, weddingIds: m.weddings.map((w) => w.weddingId), rowCount: m.totals.rowCount, storageLocation: repo.location },
    })),
  );
  const newest = new Map<string, Manifest>();
  for (const m of manifests) for (const w of m.weddings) if (!newest.has(w.weddingId)) newest.set(w.weddingId, m);
  const keepMs = (options.keepDays ?? 30) * 86_400_000;
  let weddings = 0;
  for (const [weddingId, m] of newest) {
    const date = m.weddings.find((w) => w.weddingId === weddingId)?.weddingDate;
    const purgeAfter = date ? new Date(Date.parse(`${date}T00:00:00Z`) + keepMs + 86_400_000) : null;
    if (purgeAfter && purgeAfter.getTime() < Date.now()) continue;
    const rows = await readBaseRows(repo, m, weddingId, map);
    installBase(store, rows, { location: repo.location, realtimeUntil: null, weddingsTable: map.weddings.table });
    const w = store.getWedding(weddingId)!;
    store.putWedding({ ...w, state: 'kept', purgeAfter: purgeAfter?.toISOString() ?? null });
    weddings++;
  }
  return { weddings, snapshots: manifests.length };
}
