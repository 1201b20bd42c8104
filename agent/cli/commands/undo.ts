import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { openRestoreSession, previewThenRestore } from './restore.js';

/**
 * `wedsync-backup undo OPERATION_ID [--yes] [--dry-run] [--target-url URL]`: restores the recovery
 * point a restore took before it changed anything — the same weddings and exactly the tables it
 * replaced. An undo is itself a recovery operation (type undo) with its own recovery point, and
 * is previewed and confirmed like a restore.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const operationId = args[0] ?? '';
  const targetUrl = opts.targetUrl as string | undefined;
  const session = await openRestoreSession(ctx, { photos: !targetUrl });
  try {
    const { undoRequest } = await import('../../jobs/restore.js');
    const request = await undoRequest(session.deps, operationId, targetUrl);
    const again = `wedsync-backup undo ${operationId}${targetUrl ? ' --target-url URL' : ''}`;
    return await previewThenRestore(ctx, session, request, opts, again);
  } finally {
    await session.close();
  }
}
