import type { CommandContext } from '../context.js';
import { formatBytes, table, type CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/** `wedsync-backup snapshots`: the catalog's snapshots of the configured repository, newest first. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const { openCatalog } = await import('../../catalog/catalog.js');
  const catalog = await openCatalog(url);
  try {
    const weddings = opts.wedding as string[] | undefined;
    const rows = await catalog.listSnapshots({ weddingId: weddings?.[0] });
    const filtered = weddings && weddings.length > 1 ? rows.filter((r) => weddings.every((w) => r.weddingIds.includes(w))) : rows;
    const snapshots = filtered.map(({ weddingIds: _w, organizationIds: _o, validationDetails: _v, ...rest }) => rest);
    return {
      json: { ok: true, snapshots },
      text: filtered.length
        ? table(
            ['ID', 'CREATED', 'TYPE', 'WEDDINGS', 'ROWS', 'SIZE', 'NEW', 'VALIDATION', 'LOCATION'],
            filtered.map((s) => [s.id, s.createdAt.replace(/\.\d+Z$/, 'Z'), s.snapshotType, s.weddingCount, s.rowCount, formatBytes(s.backupSizeBytes), formatBytes(s.bytesNew), s.validationStatus, s.storageLocation]),
          )
        : 'no snapshots yet: run `wedsync-backup backup`',
    };
  } finally {
    await catalog.close();
  }
}
