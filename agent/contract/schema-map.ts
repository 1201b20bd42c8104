import { z } from 'zod';

/** The four data types a coordinator thinks in, plus the wedding row itself. */
export const DataTypeSchema = z.enum(['guests', 'timeline', 'photos', 'vendors']);
export type DataType = z.infer<typeof DataTypeSchema>;
export const DATA_TYPES = DataTypeSchema.options;

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a plain SQL identifier');
const qualifiedTable = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, 'must be schema.table');

/**
 * Which tables form each data type and how a row reaches its wedding. A real deployment's
 * schema differs from the sample: it gives its own map. Tables of `schemas` that the map does
 * not name are still in every complete backup (as non-wedding tables).
 */
export const SchemaMapSchema = z
  .object({
    /** Schemas whose tables are backed up. */
    schemas: z.array(identifier).min(1),
    /** Tables never backed up (the backup catalog itself, migrations, the change journal). */
    exclude: z.array(qualifiedTable),
    /** The table with one row per wedding. */
    weddings: z.object({ table: qualifiedTable, idColumn: identifier, dateColumn: identifier, organizationColumn: identifier.optional() }).strict(),
    /** Wedding-scoped tables: each row belongs to exactly one wedding through `weddingColumn`. */
    tables: z
      .array(
        z
          .object({
            table: qualifiedTable,
            weddingColumn: identifier,
            /** null: restored with the wedding but not a data type of its own (e.g. settings). */
            dataType: DataTypeSchema.nullable(),
          })
          .strict(),
      ),
    /** Where photo files are referenced: rows whose sha256 is set have a file in the photo store. */
    photoFiles: z
      .object({ table: qualifiedTable, idColumn: identifier, weddingColumn: identifier, storageKeyColumn: identifier, sha256Column: identifier, sizeColumn: identifier })
      .strict()
      .nullable(),
  })
  .strict()
  .superRefine((map, ctx) => {
    const seen = new Set<string>();
    for (const [i, t] of map.tables.entries()) {
      if (seen.has(t.table)) ctx.addIssue({ code: 'custom', path: ['tables', i, 'table'], message: `${t.table} is listed twice` });
      seen.add(t.table);
      if (t.table === map.weddings.table) ctx.addIssue({ code: 'custom', path: ['tables', i, 'table'], message: 'the weddings table is implied; do not list it' });
    }
  });

export type SchemaMap = z.infer<typeof SchemaMapSchema>;

/** The default map: fits the sample schema shipped in migrations/. */
export const DEFAULT_SCHEMA_MAP: SchemaMap = {
  schemas: ['public'],
  exclude: [
    'public.backup_jobs',
    'public.backup_snapshots',
    'public.recovery_operations',
    'public.wedsync_schema_migrations',
    'public.wedsync_change_journal',
    'public.wedsync_audit_log',
    'public.wedsync_api_tokens',
    // The agent's own tables (migrations 004, 006, 007): never wedding data. In a snapshot, a
    // complete restore would roll them back (audit rows, API tokens, agents) — and the audit row
    // a restore writes as it starts would make its own apply refuse ("rows changed").
    'public.backup_agents',
    'public.backup_maintenance_runs',
    'public.backup_api_tokens',
    'public.backup_audit_log',
  ],
  weddings: { table: 'public.weddings', idColumn: 'id', dateColumn: 'wedding_date', organizationColumn: 'organization_id' },
  tables: [
    { table: 'public.vendors', weddingColumn: 'wedding_id', dataType: 'vendors' },
    { table: 'public.guests', weddingColumn: 'wedding_id', dataType: 'guests' },
    { table: 'public.timeline_events', weddingColumn: 'wedding_id', dataType: 'timeline' },
    { table: 'public.photos', weddingColumn: 'wedding_id', dataType: 'photos' },
    { table: 'public.wedding_backup_settings', weddingColumn: 'wedding_id', dataType: null },
  ],
  photoFiles: { table: 'public.photos', idColumn: 'id', weddingColumn: 'wedding_id', storageKeyColumn: 'storage_key', sha256Column: 'sha256', sizeColumn: 'size_bytes' },
};
