import { userInfo } from 'node:os';
import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';
import { requireDatabaseUrl, requirePassphrase } from '../config.js';
import type { RecoveryOperation, RecoveryScope, RestorePreview } from '../../contract/restore.js';
import type { DataType } from '../../contract/schema-map.js';
import type { RestoreDeps, RestoreRequest } from '../../jobs/restore.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { Repository } from '../../repository/repository.js';

/**
 * `wedsync-backup restore SNAPSHOT|latest --scope complete|selective|wedding-only [--wedding ID]…
 * [--data-types …] [--target-url URL] [--dry-run] [--yes]`: the guided restore on the command line.
 * Always previews first. --dry-run stops there; without --yes it asks on a terminal, and
 * otherwise prints the preview and how to confirm, changing nothing; --yes obtains a
 * confirmation token from the preview and uses it in the same call.
 */

export interface RestoreSession {
  deps: RestoreDeps;
  catalog: Catalog;
  close(): Promise<void>;
}

/**
 * Opens what a restore needs: repository, catalogs, photo store (only when photos may be written).
 * `repo`: restore from this repository (already open, left open) instead of the configured one —
 * a point in time reads the local repository, where tier 1 keeps its snapshots.
 * `photoStore`: the photo store of a restore into another database (--target-photo-store),
 * opened (created when a folder is missing) instead of the configured one; failing to open it
 * fails the command, since the user asked for it.
 */
export async function openRestoreSession(
  ctx: CommandContext,
  options: { photos: boolean; repo?: Repository; photoStore?: string | undefined; target?: { url: string | undefined } },
): Promise<RestoreSession> {
  const url = requireDatabaseUrl(ctx.config);
  const given = options.repo;
  // The key derivation (scrypt) runs in the thread pool: start it first, load the rest meanwhile.
  const repoOpening = given ? Promise.resolve(given) : import('../repo.js').then(({ openRepo }) => openRepo(ctx.config.repo, requirePassphrase(ctx.config), ctx.logger));
  repoOpening.catch(() => undefined);
  const [{ openCatalog }, { openRecoveryCatalog }, { openRestoreTarget }, { openBackupSource }, { ConfirmationTokens }, { schemaMap, openPhotoStore }, { openTogether, opening }, { openAuditLog }, { auditingRecoveryCatalog }] =
    await Promise.all([
      import('../../catalog/catalog.js'),
      import('../../catalog/recovery.js'),
      import('../../source/restore-target.js'),
      import('../../source/backup-source.js'),
      import('../../jobs/restore-token.js'),
      import('../services.js'),
      import('../open-together.js'),
      import('../../catalog/audit.js'),
      import('../../catalog/audit-recovery.js'),
    ]);
  // `target`: the restore's target (another database, or the live one) connects while the key
  // derivation runs; the plan's first openTarget of that database takes it (errors surface there).
  const targetArgs: [string, string?] = options.target?.url ? [options.target.url, url] : [url];
  let early: Promise<Awaited<ReturnType<typeof openRestoreTarget>>> | null = options.target ? openRestoreTarget(...targetArgs) : null;
  early?.catch(() => undefined);
  const openTarget: typeof openRestoreTarget = (u, from) => {
    const taken = early;
    early = null;
    if (taken && u === targetArgs[0] && from === targetArgs[1]) return taken;
    taken?.then((t) => t.close()).catch(() => undefined);
    return openRestoreTarget(u, from);
  };
  const closeEarly = async () => {
    const taken = early;
    early = null;
    await taken?.then((t) => t.close()).catch(() => undefined);
  };
  const map = schemaMap(ctx.config);
  const photos: Promise<Awaited<ReturnType<typeof openPhotoStore>>> = !options.photos
    ? Promise.resolve(null)
    : options.photoStore
      ? import('../../storage/open.js').then(({ openBlobStore }) => openBlobStore(options.photoStore!, { create: true }))
      : openPhotoStore(ctx.config, ctx.logger);
  // Restores and undos run from the command line are sensitive actions: into the audit log, as
  // the API's are (the API records them itself, so only the CLI wraps its catalog).
  const { repo, catalog, recovery, photoStore, auditLog } = await openTogether({
    repo: opening(repoOpening, (r) => (given ? undefined : r.store.close())),
    catalog: opening(openCatalog(url), (c) => c.close()),
    recovery: opening(openRecoveryCatalog(url), (c) => c.close()),
    photoStore: opening(photos, (p) => p.close()),
    auditLog: opening(openAuditLog(url), (a) => a.close()),
  }).catch(async (err: unknown) => {
    await closeEarly();
    throw err;
  });
  const closeRepo = async () => {
    if (!given) await repo.store.close();
  };
  const audited = auditingRecoveryCatalog(recovery, auditLog, 'cli', (err) => ctx.logger.warn({ err: (err as Error).message }, 'restore: audit row not written'));
  const deps: RestoreDeps = {
    repo,
    map,
    logger: ctx.logger,
    liveUrl: url,
    openTarget,
    recovery: audited,
    tokens: new ConfirmationTokens(),
    photoStore,
    parallelism: ctx.config.parallelism,
    // A whole-database recovery point is a full export: it gets the configured workers.
    backup: { catalog, openSource: (u, whole, o) => openBackupSource(u, map, whole ? ctx.config.parallelism : 1, { lockTimeoutMs: ctx.config.lockTimeoutMs, ...o }) },
  };
  return {
    deps,
    catalog,
    close: async () => {
      await Promise.all([catalog.close(), recovery.close(), auditLog.close(), closeRepo(), photoStore?.close(), closeEarly()]);
    },
  };
}

/**
 * SNAPSHOT|latest → snapshot id. `latest`: the newest complete snapshot of this repository by the
 * catalog already open; a uuid is taken as is (loading its manifest says NOT_FOUND if absent).
 */
async function resolveSnapshot(ref: string, session: RestoreSession): Promise<string> {
  const { WedsyncError } = await import('../../contract/errors.js');
  if (ref === 'latest') {
    const rows = await session.catalog.listSnapshots({ storageLocation: session.deps.repo.location, limit: 50 });
    const latest = rows.find((r) => r.snapshotType === 'full' || r.snapshotType === 'incremental');
    if (!latest) throw new WedsyncError('NOT_FOUND', `no complete snapshot of the repository at ${session.deps.repo.location} in the catalog yet: run \`wedsync-backup backup\``);
    return latest.id;
  }
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)) throw new WedsyncError('BAD_INPUT', `snapshot must be a snapshot id (uuid) or "latest" (got ${JSON.stringify(ref)})`);
  return ref.toLowerCase();
}

const who = () => ({ initiatedByLabel: `cli:${userInfo().username}` });

function counts(c: { inserted: number; updated: number; deleted: number; unchanged?: number }): (number | string)[] {
  return [c.inserted, c.updated, c.deleted, c.unchanged ?? ''];
}

/** The preview as text: what would change, per data type (and per wedding when few). */
export function previewText(p: RestorePreview): string {
  const byType = new Map<string, { inserted: number; updated: number; deleted: number; unchanged: number }>();
  for (const i of p.items) {
    const k = i.dataType ?? 'other';
    const agg = byType.get(k) ?? { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
    agg.inserted += i.inserted;
    agg.updated += i.updated;
    agg.deleted += i.deleted;
    agg.unchanged += i.unchanged;
    byType.set(k, agg);
  }
  const weddings = p.plan.weddingIds;
  const lines = [
    `restore plan: snapshot ${p.plan.snapshotId} (${p.plan.snapshotType}, ${p.plan.snapshotCreatedAt}), scope ${p.plan.recoveryScope}, into ${p.plan.target === 'live' ? 'the live database' : p.plan.target}${p.plan.emptyTarget ? ' (empty: the schema is recreated)' : ''}`,
    `  ${weddings.length} wedding(s)${weddings.length && weddings.length <= 5 ? `: ${weddings.join(', ')}` : ''}; tables: ${p.plan.tables.join(', ')}`,
    '',
    table(['DATA TYPE', 'INSERT', 'UPDATE', 'DELETE', 'UNCHANGED'], [...byType].map(([k, c]) => [k, ...counts(c)])),
  ];
  const changed = p.items.filter((i) => i.inserted + i.updated + i.deleted > 0);
  if (weddings.length > 1 && changed.length && changed.length <= 20) {
    lines.push('', table(['WEDDING', 'TABLE', 'INSERT', 'UPDATE', 'DELETE'], changed.map((i) => [i.weddingId ?? '(none)', i.table, i.inserted, i.updated, i.deleted])));
  }
  lines.push('', `  total: ${p.totals.inserted} to insert, ${p.totals.updated} to update, ${p.totals.deleted} to delete, ${p.totals.unchanged} unchanged`);
  if (p.photos.inScope) lines.push(`  photo files: ${p.photos.inScope} in scope, ${p.photos.toWrite} to write back${p.photos.skipped ? ` (${p.photos.skipped})` : ''}`);
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export function operationText(op: RecoveryOperation): string {
  const restored = op.dataRestored as { byDataType?: Record<string, { inserted: number; updated: number; deleted: number }>; photosWritten?: number; photoStore?: string; photosSkipped?: string } | null;
  const metrics = op.successMetrics as { checked?: number; rows?: number; contentChecked?: number } | null;
  const lines = [`${op.operationType} ${op.id} ${op.status} in ${((op.actualDurationMs ?? 0) / 1000).toFixed(2)} s`];
  for (const [k, c] of Object.entries(restored?.byDataType ?? {})) lines.push(`  ${k}: ${c.inserted} inserted, ${c.updated} updated, ${c.deleted} deleted`);
  if (restored?.photosWritten) lines.push(`  photo files written back: ${restored.photosWritten}${restored.photoStore ? ` (to ${restored.photoStore})` : ''}`);
  if (restored?.photosSkipped) lines.push(`  WARNING: ${restored.photosSkipped}`);
  if (metrics?.checked !== undefined) {
    const content = metrics.contentChecked !== undefined && metrics.contentChecked < metrics.checked ? ` (counts of all, content of ${metrics.contentChecked})` : '';
    lines.push(`  verified: ${metrics.checked} row set(s)${content}, ${metrics.rows} rows match the snapshot`);
  }
  lines.push(op.preRecoverySnapshot ? `  recovery point ${op.preRecoverySnapshot}: undo with \`wedsync-backup undo ${op.id} --yes\`` : '  no recovery point (the target was empty)');
  return lines.join('\n');
}

async function askYes(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Preview, then (confirmed) restore: shared by `restore` and `undo`. `again` is the command line
 * to re-run with --yes.
 */
export async function previewThenRestore(ctx: CommandContext, session: RestoreSession, request: RestoreRequest, opts: Record<string, unknown>, again: string): Promise<CommandResult> {
  const { previewRestore, startRestore } = await import('../../jobs/restore.js');
  const { preview, prepared } = await previewRestore(session.deps, request);
  const text = previewText(preview);
  let confirmed = Boolean(opts.yes);
  if (opts.dryRun || !confirmed) {
    if (!opts.dryRun && !ctx.json && process.stdin.isTTY && process.stderr.isTTY) {
      process.stdout.write(`${text}\n\n`);
      confirmed = await askYes('Restore now? This changes the database (a recovery point is taken first). [y/N] ');
    }
    if (!confirmed) {
      await prepared.release();
      const hint = opts.dryRun ? 'dry run: nothing was changed' : `nothing was changed: to restore, run again with --yes:\n  ${again} --yes`;
      return { json: { ok: true, confirmed: false, dryRun: Boolean(opts.dryRun), preview: { ...preview, confirmationToken: undefined }, hint }, text: `${text}\n\n${hint}` };
    }
  }
  const started = await startRestore(session.deps, request, preview.confirmationToken, who(), prepared);
  const operation = await started.done;
  const { confirmationToken: _t, ...shown } = preview;
  return { json: { ok: true, confirmed: true, preview: shown, operation }, text: `${ctx.json ? '' : `${text}\n\n`}${operationText(operation)}` };
}

/**
 * Checks --target-url (a postgres URL) and --target-photo-store (a store location, only with
 * --target-url: into the live database photo files go to the configured photo store): BAD_INPUT
 * naming the option otherwise.
 */
export async function checkTargetUrl(targetUrl: string | undefined, targetPhotoStore?: string): Promise<void> {
  const { WedsyncError } = await import('../../contract/errors.js');
  if (targetPhotoStore !== undefined) {
    if (targetUrl === undefined) throw new WedsyncError('BAD_INPUT', '--target-photo-store needs --target-url: a restore into the live database writes photo files to the configured photo store');
    const { parseStoreLocation } = await import('../../storage/open.js');
    try {
      parseStoreLocation(targetPhotoStore);
    } catch {
      throw new WedsyncError('BAD_INPUT', `--target-photo-store must be a folder path or s3://bucket/prefix (got ${JSON.stringify(targetPhotoStore)})`);
    }
  }
  if (targetUrl === undefined) return;
  const { postgresUrl } = await import('../../contract/config.js');
  if (!postgresUrl.safeParse(targetUrl).success) {
    throw new WedsyncError('BAD_INPUT', '--target-url must be a postgres:// or postgresql:// URL');
  }
}

export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  // --wedding ID --at T: the wedding as it was at T (cli/main.ts checked the combination).
  if (opts.at !== undefined) return (await import('./restore-at.js')).runPointInTime(ctx, opts);
  const scope = opts.scope as RecoveryScope;
  const weddingIds = opts.wedding as string[] | undefined;
  const dataTypes = opts.dataTypes as DataType[] | undefined;
  const targetUrl = opts.targetUrl as string | undefined;
  const targetPhotoStore = opts.targetPhotoStore as string | undefined;
  await checkTargetUrl(targetUrl, targetPhotoStore);
  // Photo files only go to the live photo store, or to one named for the other database.
  const photos = (!targetUrl || Boolean(targetPhotoStore)) && (scope !== 'selective' || Boolean(dataTypes?.includes('photos')));
  const session = await openRestoreSession(ctx, { photos, photoStore: targetPhotoStore, target: { url: targetUrl } });
  try {
    const snapshotId = await resolveSnapshot(args[0] ?? '', session);
    const request: RestoreRequest = { snapshotId, recoveryScope: scope, weddingIds, dataTypes, targetUrl, targetPhotoStore };
    const again = [
      'wedsync-backup restore',
      snapshotId,
      `--scope ${scope}`,
      ...(weddingIds ?? []).map((w) => `--wedding ${w}`),
      ...(dataTypes ? [`--data-types ${dataTypes.join(',')}`] : []),
      ...(targetUrl ? ['--target-url URL'] : []),
      ...(targetPhotoStore ? [`--target-photo-store ${targetPhotoStore}`] : []),
    ].join(' ');
    return await previewThenRestore(ctx, session, request, opts, again);
  } finally {
    await session.close();
  }
}
