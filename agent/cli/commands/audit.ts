import { WedsyncError } from '../../contract/errors.js';
import { requireDatabaseUrl } from '../config.js';
import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';

/**
 * `wedsync-backup audit verify`: recomputes the audit log's hash chain. Exit 0 intact, 1 when a
 * row was changed or removed (each bad row named by its seq). Prints the head (seq and hash):
 * keep it somewhere else to detect the newest rows being deleted later.
 * `wedsync-backup audit list [--limit N] [--action A]`: newest first.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const [sub] = args;
  const url = requireDatabaseUrl(ctx.config);
  const { openAuditLog } = await import('../../catalog/audit.js');
  const log = await openAuditLog(url);
  try {
    if (sub === 'verify') {
      const v = await log.verify();
      const head = v.head ? `head: seq ${v.head.seq} ${v.head.hash}` : 'the audit log is empty';
      return {
        json: { ok: v.ok, rows: v.rows, head: v.head, problems: v.problems },
        text: v.ok ? `audit log intact: ${v.rows} rows, ${head}` : `AUDIT LOG TAMPERED: ${v.problems.length} problem(s) in ${v.rows} rows\n${v.problems.map((p) => `  seq ${p.seq}: ${p.reason}`).join('\n')}\n${head}`,
        exitCode: v.ok ? 0 : 1,
      };
    }
    if (sub === 'list') {
      const entries = await log.list({ limit: (opts.limit as number | undefined) ?? 50, ...(opts.action ? { action: opts.action as string } : {}) });
      return {
        json: { ok: true, entries },
        text: entries.length
          ? table(
              ['SEQ', 'WHEN', 'ACTION', 'OUTCOME', 'WHO', 'TARGET', 'FLAGS'],
              entries.map((e) => [e.seq, e.occurredAt.replace(/\.\d+Z$/, 'Z'), e.action, e.outcome, e.actorLabel, e.target, e.flags.join(',')]),
            )
          : 'the audit log is empty',
      };
    }
    throw new WedsyncError('BAD_INPUT', `unknown audit command ${JSON.stringify(sub)} (expected verify or list)`);
  } finally {
    await log.close();
  }
}
