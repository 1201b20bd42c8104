import type { CommandContext } from '../context.js';
import { formatBytes, table, type CommandResult } from '../output.js';
import { requireDatabaseUrl, requirePassphrase } from '../config.js';

/** `wedsync-backup show SNAPSHOT|latest`: per wedding and data type, what the snapshot holds. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const passphrase = requirePassphrase(ctx.config);
  const { openRepo } = await import('../repo.js');
  const { resolveSnapshotId } = await import('../snapshot-ref.js');
  const repo = await openRepo(ctx.config.repo, passphrase, ctx.logger);
  try {
    const id = await resolveSnapshotId(args[0] ?? '', repo, ctx.config.databaseUrl ?? (args[0] === 'latest' ? requireDatabaseUrl(ctx.config) : undefined));
    const m = await repo.loadManifest(id);
    const only = opts.wedding as string[] | undefined;
    const weddings = only ? m.weddings.filter((w) => only.includes(w.weddingId)) : m.weddings;
    if (only) {
      const { WedsyncError } = await import('../../contract/errors.js');
      const missing = only.filter((w) => !m.weddings.some((x) => x.weddingId === w));
      if (missing.length) throw new WedsyncError('NOT_FOUND', `wedding ${missing.join(', ')} is not in snapshot ${id}`);
    }
    const summary = {
      snapshotId: m.snapshotId,
      type: m.type,
      createdAt: m.createdAt,
      parentSnapshotId: m.parentSnapshotId ?? null,
      scope: m.scope ?? { kind: 'complete' },
      database: m.database.name,
      totals: m.totals,
      tables: m.schema.tables.map((t) => ({ table: `${t.schema}.${t.name}`, dataType: t.dataType, rows: t.rowCount, columns: t.columns.length })),
      photoProblems: m.photoProblems.length,
    };
    const perWedding = weddings.map((w) => ({
      weddingId: w.weddingId,
      weddingDate: w.weddingDate ?? null,
      rowCounts: w.rowCounts,
      photos: w.photos.length,
      segments: Object.values(w.tables).reduce((a, s) => a + s.length, 0),
      bytes: Object.values(w.tables).reduce((a, s) => a + s.reduce((b, r) => b + r.rawBytes, 0), 0),
    }));
    const text = [
      `snapshot ${m.snapshotId}  ${m.type}  ${m.createdAt}${m.scope?.kind === 'partial' ? '  (partial)' : ''}`,
      `  ${m.totals.weddingCount} weddings, ${m.totals.rowCount.toLocaleString('en')} rows, ${m.totals.photoCount} photos, ${formatBytes(m.totals.bytesStored)} stored (${formatBytes(m.totals.bytesRaw)} raw)`,
      '',
      table(
        ['WEDDING', 'DATE', 'GUESTS', 'TIMELINE', 'VENDORS', 'PHOTOS', 'PHOTO FILES', 'RAW'],
        perWedding.slice(0, only ? undefined : 50).map((w) => [w.weddingId, w.weddingDate, w.rowCounts.guests ?? 0, w.rowCounts.timeline ?? 0, w.rowCounts.vendors ?? 0, w.rowCounts.photos ?? 0, w.photos, formatBytes(w.bytes)]),
      ),
      !only && perWedding.length > 50 ? `… and ${perWedding.length - 50} more weddings (use --wedding ID or --json)` : '',
    ].join('\n');
    return { json: { ok: true, ...summary, weddings: perWedding }, text };
  } finally {
    await repo.store.close();
  }
}
