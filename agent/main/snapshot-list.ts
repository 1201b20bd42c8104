import type { SnapshotSummary } from '../contract/api.js';
import type { Catalog, SnapshotRow } from '../catalog/catalog.js';

export type ListQuery = { weddingId?: string | undefined; type?: SnapshotRow['snapshotType'] | undefined; limit?: number | undefined };

export function summary(row: SnapshotRow): SnapshotSummary {
  const { organizationIds: _o, validationDetails: _v, ...rest } = row;
  return rest;
}

/**
 * The catalog's snapshot list, cheap to ask for again and again (the console and monitors poll it).
 *
 * At 2000 weddings every snapshot row carries 2000 wedding ids: re-reading them on every refresh
 * cost 30–75 ms of driver parsing on the agent's one event loop. A snapshot's wedding ids never
 * change once its row is written (backups.ts inserts them and nothing updates them), so:
 *  - each refresh reads the list without the id arrays (brief), and the arrays only of snapshots
 *    not seen before (by id, one query);
 *  - when a query's brief rows are exactly those of its previous answer, that same answer object
 *    is returned, so its validation and JSON encoding (api/http.ts: once per object) are reused.
 *
 * Guarantees: the answer equals `catalog.listSnapshots(query).map(summary)` — the same rows,
 * order and fields; every changed column (validation status, retention, a new or forgotten
 * snapshot) gives a new answer. Memory: the arrays of at most `maxSnapshots` snapshots (oldest
 * seen go first) and one answer per query (at most `maxQueries`).
 */
export class SnapshotListReader {
  private readonly weddingIds = new Map<string, string[]>();
  private readonly answers = new Map<string, { signature: string; answer: SnapshotSummary[] }>();

  constructor(
    private readonly maxSnapshots = 2_000,
    private readonly maxQueries = 64,
  ) {}

  async list(catalog: Pick<Catalog, 'listSnapshots'>, query: ListQuery): Promise<SnapshotSummary[]> {
    const filter = { weddingId: query.weddingId, type: query.type, limit: query.limit };
    const rows = await catalog.listSnapshots({ ...filter, brief: true });
    const key = JSON.stringify(filter);
    const signature = JSON.stringify(rows);
    const previous = this.answers.get(key);
    if (previous?.signature === signature) return previous.answer;
    const missing = rows.filter((r) => !this.weddingIds.has(r.id)).map((r) => r.id);
    if (missing.length) {
      for (const r of await catalog.listSnapshots({ ids: missing, includeForgotten: true, limit: missing.length })) this.remember(r.id, r.weddingIds);
    }
    // A row gone between the two reads (never expected: rows are only marked forgotten): read it all as before.
    if (rows.some((r) => !this.weddingIds.has(r.id))) return (await catalog.listSnapshots(filter)).map(summary);
    const answer = rows.map((r) => summary({ ...r, weddingIds: this.weddingIds.get(r.id)! }));
    this.answers.delete(key);
    this.answers.set(key, { signature, answer });
    while (this.answers.size > this.maxQueries) this.answers.delete(this.answers.keys().next().value as string);
    return answer;
  }

  private remember(id: string, weddingIds: string[]): void {
    this.weddingIds.set(id, weddingIds);
    while (this.weddingIds.size > this.maxSnapshots) this.weddingIds.delete(this.weddingIds.keys().next().value as string);
  }
}
