import type pg from 'pg';
import type { ManifestSequence } from '../contract/manifest.js';
import { copyIn, inTransaction } from './restore-copy.js';
import { quoteIdent, quoteQualified } from './introspect.js';
import { verificationError, verifyRows, type ApplyPhase, type ApplyResult, type ApplyTable } from './restore-writer.js';

/**
 * A complete restore into an EMPTY database, the way pg_restore does it but in ONE transaction:
 * the snapshot's pre-data DDL (schemas, types, sequences, tables with their keys and checks),
 * then every table's rows with COPY … FREEZE (the tables are new in this transaction, so no
 * later hint-bit rewrite), then the post-data DDL (secondary indexes and foreign keys, built
 * once over the loaded rows instead of row by row), then the sequences as the snapshot recorded
 * them, then verification of every (table, wedding) against the segments. A failure anywhere
 * rolls back to the empty database.
 */
export interface EmptyRestoreOptions {
  preDataSql: string;
  postDataSql: string;
  /** Every table of the snapshot, weddings 'all'. */
  tables: Array<Pick<ApplyTable, 'table' | 'weddings' | 'rows'>>;
  sequences: ManifestSequence[];
  onPhase?: (phase: ApplyPhase, done: number, total: number) => void;
}

export async function restoreIntoEmpty(client: pg.Client, url: string, options: EmptyRestoreOptions): Promise<ApplyResult> {
  const total = options.tables.length;
  return inTransaction(client, url, async () => {
    await client.query(options.preDataSql);
    const changes = [];
    let done = 0;
    for (const t of options.tables) {
      const inserted = await copyIn(client, quoteQualified(t.table.qualified), t.table.columns.map((c) => c.name), [...t.rows.values()].flat(), 'FREEZE');
      changes.push({ table: t.table.qualified, dataType: t.table.dataType, inserted, updated: 0, deleted: 0 });
      options.onPhase?.('apply', ++done, total);
    }
    if (options.postDataSql) await client.query(options.postDataSql);
    let sequencesAdvanced = 0;
    for (const s of options.sequences) {
      const name = `${quoteIdent(s.schema)}.${quoteIdent(s.name)}`;
      const res = await client.query(`SELECT setval(to_regclass($1), $2::bigint, $3) WHERE to_regclass($1) IS NOT NULL`, [name, s.value, s.isCalled ?? true]);
      sequencesAdvanced += res.rowCount ?? 0;
    }
    options.onPhase?.('verify', 0, total);
    const verification = await verifyRows(client, options.tables, (n) => options.onPhase?.('verify', n, total));
    if (!verification.ok) throw verificationError(verification);
    options.onPhase?.('commit', total, total);
    return { changes, verification, sequencesAdvanced };
  });
}
