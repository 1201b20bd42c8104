import type { CommandContext } from '../context.js';
import { formatBytes, type CommandResult } from '../output.js';
import { requirePassphrase } from '../config.js';
import { progressLine } from '../progress.js';
import type { IntegrityFinding, RepositoryCheckReport, SnapshotValidationReport, VerifyRunReport } from '../../contract/validation-report.js';
import type { Repository } from '../../repository/repository.js';

/**
 * `wedsync-backup verify SNAPSHOT|latest|all [--read-data] [--read-data-subset P] [--repository]`
 * and `wedsync-backup check [--read-data]`.
 *
 * Exit 0: everything checked is valid (warnings such as unreferenced packs allowed); 1: any
 * error finding, each printed with where it is (snapshot, wedding, data type, pack, blob);
 * 2: bad input (unknown snapshot, wrong passphrase). Results are recorded in the catalog
 * (backup_snapshots.validation_*) when a database is configured.
 */

/** Findings printed per snapshot in text mode; --json has them all. */
const TEXT_FINDINGS = 40;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function describeFinding(f: IntegrityFinding): string {
  const where = [
    f.weddingId ? `wedding ${f.weddingId}` : null,
    f.dataType ? f.dataType : null,
    f.table && f.dataType !== undefined ? `(${f.table})` : (f.table ?? null),
    f.photoId ? `photo ${f.photoId}` : null,
    f.packId ? `pack ${f.packId.slice(0, 12)}` : null,
    f.blobId ? `blob ${f.blobId.slice(0, 12)}` : null,
    f.indexId ? `index ${f.indexId.slice(0, 12)}` : null,
    f.keyId ? `key ${f.keyId}` : null,
    f.snapshots?.length ? `needed by ${f.snapshots.length} snapshot(s)` : null,
  ].filter(Boolean);
  return `  ${f.severity === 'error' ? 'ERROR  ' : 'warning'} ${f.kind}${where.length ? ` [${where.join(' ')}]` : ''}: ${f.message}`;
}

function findingLines(findings: IntegrityFinding[]): string[] {
  const lines = findings.slice(0, TEXT_FINDINGS).map(describeFinding);
  if (findings.length > TEXT_FINDINGS) lines.push(`  … and ${findings.length - TEXT_FINDINGS} more (use --json for all)`);
  return lines;
}

function snapshotText(r: SnapshotValidationReport): string[] {
  const c = r.checked;
  const what = r.level === 'read-data'
    ? `read ${c.packsRead}/${c.packs} packs${r.subset !== null ? ` (subset ${Math.round(r.subset * 1000) / 10}%)` : ''}, ${formatBytes(c.bytesRead)}, ${c.blobsRead} blobs, ${c.rowsCounted.toLocaleString('en')} rows`
    : `${c.packs} packs present`;
  const head = `snapshot ${r.snapshotId}: ${r.status.toUpperCase()} (${r.level}; ${c.weddings} weddings, ${c.segments} segments, ${c.photos} photos; ${what}; ${(r.durationMs / 1000).toFixed(2)} s)`;
  const lines = [head];
  if (r.affectedWeddings.length) lines.push(`  ${r.affectedWeddings.length} wedding(s) hurt: ${r.affectedWeddings.slice(0, 10).join(', ')}${r.affectedWeddings.length > 10 ? ', …' : ''}`);
  return [...lines, ...findingLines(r.findings)];
}

function checkText(r: RepositoryCheckReport): string[] {
  const c = r.counts;
  return [
    `repository ${r.location}: ${r.status.toUpperCase()} (${c.keys} keys, ${c.indexFiles} index files, ${c.packs} packs ${formatBytes(c.packBytes)}, ${c.blobs} blobs, ${c.snapshots} snapshots${r.readData ? ', every pack read' : ''}; ${r.errors} errors, ${r.warnings} warnings; ${(r.durationMs / 1000).toFixed(2)} s)`,
    ...findingLines(r.findings),
  ];
}

async function openForCheck(ctx: CommandContext): Promise<{ repo: Repository | null; findings: IntegrityFinding[]; close: () => Promise<void> }> {
  const passphrase = requirePassphrase(ctx.config);
  const [{ openStore }, { openRepositoryForCheck }] = await Promise.all([import('../repo.js'), import('../../repository/check.js')]);
  const store = await openStore(ctx.config.repo, { logger: ctx.logger });
  try {
    const opened = await openRepositoryForCheck(store, passphrase);
    return { ...opened, close: () => store.close() };
  } catch (err) {
    await store.close();
    throw err;
  }
}

function unopenable(findings: IntegrityFinding[], location: string): CommandResult {
  return {
    json: { ok: false, status: 'corrupted', repositoryFindings: findings, snapshots: [] },
    text: [`repository ${location}: CORRUPTED — it cannot be opened:`, ...findingLines(findings)].join('\n'),
    exitCode: 1,
  };
}

/** Snapshot ids from what the user typed: a uuid, latest, or all. */
async function resolveTargets(ctx: CommandContext, ref: string, repo: Repository): Promise<string[]> {
  const { WedsyncError } = await import('../../contract/errors.js');
  if (ref === 'all') return repo.listSnapshots();
  if (ref === 'latest') {
    const { resolveSnapshotId } = await import('../snapshot-ref.js');
    const { requireDatabaseUrl } = await import('../config.js');
    return [await resolveSnapshotId('latest', repo, requireDatabaseUrl(ctx.config))];
  }
  if (!UUID.test(ref)) throw new WedsyncError('BAD_INPUT', `snapshot must be a snapshot id (uuid), "latest" or "all" (got ${JSON.stringify(ref)})`);
  const id = ref.toLowerCase();
  if ((await repo.listSnapshots()).includes(id)) return [id];
  // Catalogued for this repository but its manifest is gone: that is a finding, not bad input.
  if (ctx.config.databaseUrl) {
    const { openValidationCatalog } = await import('../../catalog/validation.js');
    const catalog = await openValidationCatalog(ctx.config.databaseUrl);
    try {
      if (await catalog.get(id)) return [id];
    } finally {
      await catalog.close();
    }
  }
  throw new WedsyncError('NOT_FOUND', `snapshot ${id} not found in the repository at ${repo.location}`);
}

/** Records each report in the catalog; a catalog that cannot be reached costs a warning, not the result. */
async function record(ctx: CommandContext, reports: SnapshotValidationReport[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!ctx.config.databaseUrl || reports.length === 0) return out;
  try {
    const { openValidationCatalog } = await import('../../catalog/validation.js');
    const catalog = await openValidationCatalog(ctx.config.databaseUrl);
    try {
      for (const r of reports) out[r.snapshotId] = await catalog.record(r);
    } finally {
      await catalog.close();
    }
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'validation results not recorded in the catalog');
  }
  return out;
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const ref = args[0] ?? '';
  const subset = opts.readDataSubset as number | undefined;
  const level = opts.readData || subset !== undefined ? 'read-data' : 'structure';
  const opened = await openForCheck(ctx);
  try {
    if (!opened.repo) return unopenable(opened.findings, ctx.config.repo);
    const repo = opened.repo;
    const targets = await resolveTargets(ctx, ref, repo);
    const [{ verifySnapshots }, { schemaMap }] = await Promise.all([import('../../jobs/verify.js'), import('../services.js')]);
    const progress = progressLine(ctx.interactive);
    const databaseUrl = ctx.config.databaseUrl;
    let run: VerifyRunReport;
    try {
      run = await verifySnapshots(
        {
          repo,
          map: schemaMap(ctx.config),
          logger: ctx.logger,
          // Only asked when a manifest is unreadable: which weddings that costs, per the catalog.
          ...(databaseUrl
            ? {
                catalogWeddings: async (id: string) => {
                  const { openValidationCatalog } = await import('../../catalog/validation.js');
                  const catalog = await openValidationCatalog(databaseUrl);
                  try {
                    return (await catalog.get(id))?.weddingIds ?? null;
                  } finally {
                    await catalog.close();
                  }
                },
              }
            : {}),
          onProgress: (p) =>
            progress.update(p.phase === 'read' ? `reading packs ${p.packsDone}/${p.packsTotal}, ${formatBytes(p.bytesRead)}` : `checking ${p.phase}…`),
        },
        { snapshotIds: targets, level, subset: subset ?? null },
      );
    } finally {
      progress.done();
    }
    let repositoryCheck: RepositoryCheckReport | null = null;
    if (opts.repository) {
      const { checkRepository } = await import('../../repository/check.js');
      repositoryCheck = await checkRepository(repo, { readData: level === 'read-data' && subset === undefined, passphrase: requirePassphrase(ctx.config) });
    }
    const recorded = await record(ctx, run.snapshots);
    const errors = run.snapshots.reduce((n, s) => n + s.errors, 0) + run.repositoryFindings.filter((f) => f.severity === 'error').length + (repositoryCheck?.errors ?? 0);
    const lines = targets.length === 0 ? ['no snapshots in the repository yet'] : run.snapshots.flatMap(snapshotText);
    if (run.repositoryFindings.length) lines.push('repository:', ...findingLines(run.repositoryFindings));
    if (repositoryCheck) lines.push(...checkText(repositoryCheck));
    if (targets.length > 1) {
      const by = (s: string) => run.snapshots.filter((r) => r.status === s).length;
      lines.push(`${targets.length} snapshots: ${by('valid')} valid, ${by('corrupted')} corrupted, ${by('incomplete')} incomplete (${(run.durationMs / 1000).toFixed(2)} s)`);
    }
    return {
      json: { ok: errors === 0, ...run, ...(repositoryCheck ? { repositoryCheck } : {}), recorded },
      text: lines.join('\n'),
      exitCode: errors === 0 ? 0 : 1,
    };
  } finally {
    await opened.close();
  }
}

/** `wedsync-backup check [--read-data]`: the repository as a whole. */
export async function runCheck(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const opened = await openForCheck(ctx);
  try {
    if (!opened.repo) return unopenable(opened.findings, ctx.config.repo);
    const { checkRepository } = await import('../../repository/check.js');
    const progress = progressLine(ctx.interactive);
    let report: RepositoryCheckReport;
    try {
      report = await checkRepository(opened.repo, {
        readData: Boolean(opts.readData),
        passphrase: requirePassphrase(ctx.config),
        onProgress: (p) => progress.update(`${p.phase} ${p.done}/${p.total}`),
      });
    } finally {
      progress.done();
    }
    return { json: { ok: report.errors === 0, ...report }, text: checkText(report).join('\n'), exitCode: report.errors === 0 ? 0 : 1 };
  } finally {
    await opened.close();
  }
}
