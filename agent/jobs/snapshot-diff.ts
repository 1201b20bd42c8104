import type { WeddingDiffResponse, WeddingDiffTable } from '../contract/console.js';
import type { Manifest } from '../contract/manifest.js';
import { copyLines, decodeCopyRow, diffRows, keyIndexes } from '../core/restore-plan-diff.js';
import type { Repository } from '../repository/repository.js';

/**
 * One wedding compared between two snapshots of a repository, table by table: rows added,
 * removed and changed from the older snapshot to the newer, matched by primary key (the same
 * pure diff the restore preview uses). Tables whose segment ids are equal in both are unchanged
 * without reading anything (equal content → equal id); only differing segments are loaded.
 * Read-only. NOT_FOUND when a snapshot is not in the repository.
 */
export async function diffWeddingBetweenSnapshots(repo: Repository, snapshotId: string, againstId: string, weddingId: string, maxRows = 20): Promise<WeddingDiffResponse> {
  const [a, b] = await Promise.all([repo.loadManifest(snapshotId), repo.loadManifest(againstId)]);
  // Older first, whichever way round they were asked.
  const [from, to] = a.createdAt <= b.createdAt ? [a, b] : [b, a];
  const wid = weddingId.toLowerCase();
  const wf = from.weddings.find((w) => w.weddingId.toLowerCase() === wid);
  const wt = to.weddings.find((w) => w.weddingId.toLowerCase() === wid);
  const tableInfo = (m: Manifest, qualified: string) => m.schema.tables.find((t) => `${t.schema}.${t.name}` === qualified);

  const names = [...new Set([...Object.keys(wf?.tables ?? {}), ...Object.keys(wt?.tables ?? {})])].sort();
  const tables: WeddingDiffTable[] = [];
  for (const table of names) {
    const segFrom = wf?.tables[table];
    const segTo = wt?.tables[table];
    const info = tableInfo(to, table) ?? tableInfo(from, table);
    const dataType = info?.dataType ?? null;
    if (!segFrom || !segTo || !info) {
      // In one snapshot's scope only (a partial snapshot): not a change of the data, so not compared.
      tables.push({ table, dataType, presence: segFrom ? 'only-from' : 'only-to', added: 0, removed: 0, changed: 0, unchanged: 0, rows: [] });
      continue;
    }
    const same = segFrom.length === segTo.length && segFrom.every((s, i) => s.id === segTo[i]!.id);
    if (same) {
      tables.push({ table, dataType, presence: 'both', added: 0, removed: 0, changed: 0, unchanged: segTo.reduce((n, s) => n + s.rows, 0), rows: [] });
      continue;
    }
    const text = async (segs: typeof segTo) => (await Promise.all(segs.map(async (s) => (await repo.loadBlob(s.id)).toString('utf8')))).join('');
    const [oldText, newText] = await Promise.all([text(segFrom), text(segTo)]);
    // Columns of the newer snapshot decode both sides; a column added since reads as null on the old side.
    const idx = keyIndexes(info.columns, info.primaryKey);
    const d = diffRows(copyLines(newText), copyLines(oldText), idx, true);
    const oldColumns = tableInfo(from, table)?.columns ?? info.columns;
    const rows = (d.changes ?? []).slice(0, maxRows).map((c) => ({
      change: c.change === 'inserted' ? ('added' as const) : c.change === 'deleted' ? ('removed' as const) : ('changed' as const),
      before: c.before === null ? null : decodeCopyRow(c.before, oldColumns),
      after: c.after === null ? null : decodeCopyRow(c.after, info.columns),
    }));
    tables.push({ table, dataType, presence: 'both', added: d.counts.inserted, removed: d.counts.deleted, changed: d.counts.updated, unchanged: d.counts.unchanged, rows });
  }
  return {
    weddingId: wid,
    from: { snapshotId: from.snapshotId, createdAt: from.createdAt, inSnapshot: !!wf },
    to: { snapshotId: to.snapshotId, createdAt: to.createdAt, inSnapshot: !!wt },
    tables,
  };
}
