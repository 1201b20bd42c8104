import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';
import { progressLine } from '../progress.js';
import type { DataFinding, WeddingDataReport } from '../../contract/validation-report.js';

/**
 * `wedsync-backup validate-data [--wedding ID]… [--time-zone TZ]`: the live wedding data, per
 * wedding (required fields, timeline, guests, photo files). Exit 0 when no wedding has an
 * error (warnings are printed but allowed), 1 when one has, 2 for bad input (unknown wedding).
 */

/** Weddings printed in text mode; --json has them all. */
const TEXT_WEDDINGS = 50;
const TEXT_FINDINGS_PER_WEDDING = 15;

function findingLine(f: DataFinding): string {
  return `    ${f.severity === 'error' ? 'ERROR  ' : 'warning'} ${f.kind} [${f.dataType}${f.rowId ? ` ${f.rowId}` : ''}${f.field ? ` ${f.field}` : ''}]: ${f.message}`;
}

function weddingLines(r: WeddingDataReport): string[] {
  const head = `  wedding ${r.weddingId} (${r.coupleNames?.trim() || 'no names'}, ${r.weddingDate ?? 'no date'}): ${r.errors} error(s), ${r.warnings} warning(s)`;
  const lines = [head, ...r.findings.slice(0, TEXT_FINDINGS_PER_WEDDING).map(findingLine)];
  if (r.findings.length > TEXT_FINDINGS_PER_WEDDING) lines.push(`    … and ${r.findings.length - TEXT_FINDINGS_PER_WEDDING} more`);
  return lines;
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const weddingIds = opts.wedding as string[] | undefined;
  const [{ openWeddingDataSource }, { performDataValidation }, { schemaMap, openPhotoStore }] = await Promise.all([
    import('../../source/data-validation.js'),
    import('../../jobs/validate-data.js'),
    import('../services.js'),
  ]);
  const map = schemaMap(ctx.config);
  const photoStore = await openPhotoStore(ctx.config, ctx.logger);
  const progress = progressLine(ctx.interactive);
  try {
    const report = await performDataValidation(
      {
        openSource: () => openWeddingDataSource(url, map),
        photoStore,
        ...(opts.timeZone ? { timeZone: opts.timeZone as string } : {}),
        logger: ctx.logger,
        onProgress: (p) => progress.update(`weddings ${p.weddingsDone}/${p.weddingsTotal}, ${p.photoFilesDone} photo files`),
      },
      weddingIds ? { weddingIds } : {},
    );
    progress.done();
    const flagged = report.reports.filter((r) => r.findings.length > 0).sort((a, b) => b.errors - a.errors || b.warnings - a.warnings || (a.weddingId < b.weddingId ? -1 : 1));
    const lines = [
      `checked ${report.weddings} wedding(s) in ${(report.durationMs / 1000).toFixed(2)} s (day measured in ${report.timeZone}; photo files ${report.photoStore ? `from ${report.photoStore}` : 'not checked: no photo store'})`,
      `  ${report.weddingsWithErrors} with errors, ${report.weddingsWithWarnings} with warnings only; ${report.errors} error(s), ${report.warnings} warning(s)`,
      ...flagged.slice(0, TEXT_WEDDINGS).flatMap(weddingLines),
    ];
    if (flagged.length > TEXT_WEDDINGS) lines.push(`  … and ${flagged.length - TEXT_WEDDINGS} more weddings with findings (use --json or --wedding ID)`);
    return { json: { ok: report.errors === 0, ...report }, text: lines.join('\n'), exitCode: report.errors === 0 ? 0 : 1 };
  } finally {
    progress.done();
    await photoStore?.close();
  }
}
