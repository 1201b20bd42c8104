import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';

/**
 * `wedsync-backup queued list [--all] | confirm ID | cancel ID`: the restores prepared while the
 * database was unreachable (`restore --wedding ID --at T` in a barn). Reads and writes only the
 * local cache: works with no network. `confirm` says yes to an item queued without --yes: the
 * agent previews it against the database once it answers and runs it (the console confirms with
 * the preview in front of it instead: POST /api/backup/queued-restores/:id/confirm).
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const [{ openLocalCache }, { cancelQueuedRestore, confirmQueuedRestore, queuedRestoreView }] = await Promise.all([import('./stream.js'), import('../../jobs/offline-queue.js')]);
  const { store } = await openLocalCache(ctx.config, ctx.logger);
  try {
    const [action, id] = args;
    if (action === 'confirm' || action === 'cancel') {
      const q = queuedRestoreView(action === 'confirm' ? confirmQueuedRestore(store, id!) : cancelQueuedRestore(store, id!));
      const text = action === 'confirm' ? `queued restore ${q.id} confirmed: it runs when the agent next reaches the database` : `queued restore ${q.id} cancelled: it will not run`;
      return { json: { ok: true, queued: q }, text };
    }
    const all = Boolean(opts.all);
    const items = store.listQueuedRestores(all ? undefined : ['queued', 'running']).map(queuedRestoreView).reverse();
    const text = items.length
      ? table(
          ['ID', 'STATUS', 'KIND', 'WEDDING', 'AS OF', 'CONFIRMED', 'QUEUED AT', 'LAST ERROR'],
          items.map((q) => [q.id, q.awaitingConfirmation ? 'awaiting confirmation' : q.status, q.kind, q.weddingIds.join(','), q.at ?? q.snapshotId, q.confirmed ? 'yes' : 'no', q.createdAt, q.lastError]),
        )
      : `no ${all ? '' : 'pending '}queued restore`;
    return { json: { ok: true, queued: items }, text };
  } finally {
    store.close();
  }
}
