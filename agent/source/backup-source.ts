import type { SchemaMap } from '../contract/schema-map.js';
import { changesSince, hasChangeJournal, type ChangeSet } from './changes.js';
import { databaseError, lockTimeoutError } from './db.js';
import { planFullExport, runExport, weddingColumnOf, type ExportProgress, type ExportRun, type SegmentSink, type WorkItem } from './export.js';
import { introspect, type SchemaInfo, type TableInfo } from './introspect.js';
import { openSnapshotSession, type SnapshotSession, type SnapshotSessionOptions } from './snapshot-session.js';
import { photoRows, weddingFacts, type PhotoRow, type WeddingFacts } from './weddings.js';

/**
 * The wedding database as a backup sees it: everything read through one BackupSource comes
 * from the same consistent snapshot. Jobs use this instead of the driver.
 */
export interface BackupSource {
  readonly journalSnapshot: string;
  /** The exported snapshot this source reads in (SnapshotSessionOptions.snapshot), else null. */
  readonly importedSnapshot: string | null;
  readonly databaseName: string;
  readonly serverVersion: string;
  readonly schema: SchemaInfo;
  /** Changes since a previous backup's journal snapshot, or null when no journal is installed. */
  changesSince(previousJournalSnapshot: string): Promise<ChangeSet | null>;
  weddings(ids?: string[]): Promise<Map<string, WeddingFacts>>;
  photos(weddingIds?: string[]): Promise<PhotoRow[]>;
  /** Every row of every table (big tables split for the workers). */
  planFull(): WorkItem[];
  /** Only these weddings' rows of `tables` (qualified names). */
  planWeddings(tables: string[], weddingIds: string[]): WorkItem[];
  /** Whole tables (qualified names). */
  planTables(tables: string[]): WorkItem[];
  export(items: WorkItem[], sink: SegmentSink, onProgress?: (p: ExportProgress) => void): Promise<ExportRun>;
  /** Ends the snapshot transactions and closes every connection. */
  close(): Promise<void>;
}

export async function openBackupSource(url: string, map: SchemaMap, parallelism: number, options: SnapshotSessionOptions = {}): Promise<BackupSource> {
  const session: SnapshotSession = await openSnapshotSession(url, parallelism, options);
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw databaseError(err, url);
    }
  };
  let schema: SchemaInfo;
  try {
    schema = await introspect(session.coordinator, map);
  } catch (err) {
    await session.close();
    throw await lockTimeoutError(err, url, { step: 'reading the schema' }, session.lockTimeoutMs);
  }
  const byName = new Map(schema.tables.map((t) => [t.qualified, t]));
  const table = (name: string): TableInfo => {
    const t = byName.get(name);
    if (!t) throw new Error(`table ${name} is not in the backed-up schema`);
    return t;
  };
  return {
    journalSnapshot: session.journalSnapshot,
    importedSnapshot: session.importedSnapshot,
    databaseName: session.databaseName,
    serverVersion: session.serverVersion,
    schema,
    changesSince: (prev) => wrap(async () => ((await hasChangeJournal(session.coordinator)) ? changesSince(session.coordinator, prev, schema.tables) : null)),
    weddings: (ids) => wrap(() => weddingFacts(session.coordinator, map, ids)),
    photos: (ids) => wrap(() => photoRows(session.coordinator, map, ids)),
    planFull: () => planFullExport(schema.tables, map, session.workers.length),
    planWeddings: (tables, weddingIds) =>
      tables.map((name) => {
        const weddingColumn = weddingColumnOf(map, name);
        if (!weddingColumn) throw new Error(`table ${name} is not wedding-scoped`);
        return { table: table(name), weddingColumn, weddings: weddingIds };
      }),
    planTables: (tables) => tables.map((name) => ({ table: table(name), weddingColumn: weddingColumnOf(map, name) })),
    export: (items, sink, onProgress) => wrap(() => runExport(session, items, sink, onProgress)),
    close: () => session.close(),
  };
}
