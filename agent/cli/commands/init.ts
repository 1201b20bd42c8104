import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/**
 * `wedsync-backup init`: applies the migrations (idempotent: a second run changes nothing) and,
 * when a passphrase is configured, creates the repository at WEDSYNC_REPO if there is none.
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const { withClient } = await import('../../source/db.js');
  const { migrate } = await import('../../catalog/migrate.js');
  const result = await withClient(url, (db) => migrate(db, { log: (m) => ctx.logger.debug(m) }));
  let repository: { location: string; created: boolean; id: string } | null = null;
  if (ctx.config.passphrase) {
    const { ensureRepository } = await import('../repo.js');
    const r = await ensureRepository(ctx.config.repo, ctx.config.passphrase, ctx.logger);
    repository = { location: ctx.config.repo, created: r.created, id: r.id };
  }
  const lines = [
    result.applied.length ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}` : `database up to date (${result.skipped.length} migrations already applied)`,
    repository
      ? `${repository.created ? 'created' : 'found'} repository ${repository.id} at ${repository.location}`
      : 'no passphrase configured: repository not created (set WEDSYNC_PASSPHRASE or WEDSYNC_PASSPHRASE_FILE)',
  ];
  return { json: { ok: true, applied: result.applied, skipped: result.skipped, repository }, text: lines.join('\n') };
}
