import type { DataType, Manifest, ManifestTable } from '../contract/manifest.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { IntegrityFinding } from '../contract/validation-report.js';
import { scanCopyRows } from './validation-copy.js';

/**
 * The recovery-point consistency check: within one snapshot, the rows filed under a wedding
 * really belong to it, and its timeline's vendor references resolve inside the snapshot.
 * A restore applies a wedding's rows together; a row filed under the wrong wedding would be
 * written into (or deleted from) someone else's wedding, and a dangling vendor_id breaks the
 * foreign key. Checked on the decrypted segments during read-data validation. Pure: the caller
 * feeds segment plaintext in, in any order.
 *
 * Rules:
 *  - every row of a wedding-scoped table filed under wedding W has W in its wedding column (the
 *    weddings row: its id column); rows filed under no wedding have NULL there;
 *  - every row has as many fields as the manifest lists columns;
 *  - every non-NULL timeline vendor reference names a vendor row filed under the same wedding
 *    (checked only when the snapshot holds the vendors table, and only for weddings whose
 *    timeline and vendor segments were all read — a read-data subset may skip some).
 */

/** The column of a timeline table that points at a vendor (sample schema and the default map). */
export const VENDOR_REFERENCE_COLUMN = 'vendor_id';

interface TablePlan {
  qualified: string;
  table: ManifestTable;
  dataType: DataType | null;
  /** Column index holding the wedding id, or -1 (non-wedding table). */
  weddingCol: number;
  weddingColumnName: string | null;
  /** Primary key column index (first key column), or -1. */
  keyCol: number;
  /** Timeline table: index of the vendor reference column, else -1. */
  vendorRefCol: number;
  isVendors: boolean;
}

interface WeddingAcc {
  vendorIds: Set<string>;
  refs: Array<{ eventId: string | null; vendorId: string }>;
  /** Segments still to read, per table (timeline and vendors only). */
  pending: Map<string, number>;
}

export class RecoveryPointChecker {
  private readonly plans = new Map<string, TablePlan>();
  private readonly weddings = new Map<string, WeddingAcc>();
  private readonly timelineTable: string | null;
  private readonly vendorsTable: string | null;

  constructor(
    private readonly manifest: Manifest,
    map: SchemaMap,
  ) {
    const mapped = new Map(map.tables.map((t) => [t.table, t]));
    const timeline = map.tables.find((t) => t.dataType === 'timeline')?.table ?? null;
    const vendors = map.tables.find((t) => t.dataType === 'vendors')?.table ?? null;
    for (const table of manifest.schema.tables) {
      const qualified = `${table.schema}.${table.name}`;
      const names = table.columns.map((c) => c.name);
      let weddingColumnName: string | null = null;
      if (table.weddingScoped) {
        weddingColumnName =
          qualified === map.weddings.table ? map.weddings.idColumn : (mapped.get(qualified)?.weddingColumn ?? (names.includes('wedding_id') ? 'wedding_id' : null));
      }
      const keyName = table.primaryKey[0];
      this.plans.set(qualified, {
        qualified,
        table,
        dataType: table.dataType,
        weddingCol: weddingColumnName ? names.indexOf(weddingColumnName) : -1,
        weddingColumnName,
        keyCol: keyName ? names.indexOf(keyName) : -1,
        vendorRefCol: qualified === timeline ? names.indexOf(VENDOR_REFERENCE_COLUMN) : -1,
        isVendors: qualified === vendors,
      });
    }
    this.timelineTable = timeline && this.plans.get(timeline)?.vendorRefCol !== -1 ? timeline : null;
    // Without the vendors table in the snapshot (a partial snapshot of the timeline only) there
    // is nothing to resolve against: the restore keeps the live vendors.
    this.vendorsTable = vendors && this.plans.has(vendors) ? vendors : null;
    if (this.timelineTable && this.vendorsTable) {
      for (const w of manifest.weddings) {
        const pending = new Map<string, number>();
        for (const t of [this.timelineTable, this.vendorsTable]) pending.set(t, w.tables[t]?.length ?? 0);
        this.weddings.set(w.weddingId, { vendorIds: new Set(), refs: [], pending });
      }
    }
  }

  /**
   * Checks one segment of `table` filed under `weddingId` (null: the table's rows of no
   * wedding, or a non-wedding table's run). Returns findings about this segment.
   */
  addSegment(weddingId: string | null, table: string, plaintext: Buffer): IntegrityFinding[] {
    const plan = this.plans.get(table);
    if (!plan) return [];
    const findings: IntegrityFinding[] = [];
    const base = {
      snapshotId: this.manifest.snapshotId,
      ...(weddingId ? { weddingId } : {}),
      dataType: plan.dataType,
      table,
    };
    const acc = weddingId ? this.weddings.get(weddingId) : undefined;
    const collectVendors = acc && plan.isVendors;
    const collectRefs = acc && table === this.timelineTable;
    const wanted = [plan.weddingCol, plan.keyCol, collectRefs ? plan.vendorRefCol : -1];
    let wrong = 0;
    let firstWrong: { key: string | null; value: string | null } | null = null;
    const expected = weddingId;
    const scan = scanCopyRows(plaintext, plan.table.columns.length, wanted, (values) => {
      const [wedding, key, vendorRef] = values;
      if (plan.weddingCol >= 0 && wedding !== expected) {
        wrong++;
        firstWrong ??= { key: key ?? null, value: wedding ?? null };
      }
      if (collectVendors && key) acc.vendorIds.add(key);
      if (collectRefs && vendorRef) acc.refs.push({ eventId: key ?? null, vendorId: vendorRef });
    });
    if (scan.badRows > 0) {
      findings.push({
        ...base,
        severity: 'error',
        kind: 'segment-unparseable',
        message: `${scan.badRows} of ${scan.rows} rows of ${table} do not have the ${plan.table.columns.length} fields the manifest lists (first: line ${scan.firstBad?.line}, ${scan.firstBad?.fields} fields)`,
      });
    }
    if (wrong > 0 && firstWrong) {
      const fw = firstWrong as { key: string | null; value: string | null };
      findings.push({
        ...base,
        severity: 'error',
        kind: 'wedding-id-mismatch',
        message: `${wrong} of ${scan.rows} rows of ${table} filed under ${weddingId ? `wedding ${weddingId}` : 'no wedding'} have ${plan.weddingColumnName} = ${fw.value ?? 'NULL'} (first: row ${fw.key ?? '?'})`,
      });
    }
    if (acc && (collectRefs || collectVendors)) acc.pending.set(table, (acc.pending.get(table) ?? 1) - 1);
    return findings;
  }

  /** After every segment read: the vendor references of weddings whose segments were all read. */
  finish(): IntegrityFinding[] {
    const findings: IntegrityFinding[] = [];
    if (!this.timelineTable || !this.vendorsTable) return findings;
    for (const [weddingId, acc] of this.weddings) {
      if ([...acc.pending.values()].some((n) => n > 0)) continue; // not all read (subset)
      const dangling = acc.refs.filter((r) => !acc.vendorIds.has(r.vendorId));
      if (dangling.length === 0) continue;
      const first = dangling[0]!;
      findings.push({
        snapshotId: this.manifest.snapshotId,
        weddingId,
        dataType: 'timeline',
        table: this.timelineTable,
        severity: 'error',
        kind: 'vendor-reference-unresolved',
        message: `${dangling.length} timeline event(s) of wedding ${weddingId} name a vendor that is not among the wedding's vendors in this snapshot (first: event ${first.eventId ?? '?'} → ${VENDOR_REFERENCE_COLUMN} ${first.vendorId})`,
      });
    }
    return findings;
  }
}
