import { statusResponseSchema } from '../agent/contract/scheduling.js';
import type { AgentHandle } from './agent-supervisor.js';

/**
 * Native notifications on failed backups: polls GET /api/backup/status and announces each
 * failing job once (by id). Silent while the agent is down or does not offer status.
 */
export function watchFailedBackups(opts: { agent: () => AgentHandle | null; notify: (title: string, body: string) => void; intervalMs?: number; fetch?: typeof fetch }): () => void {
  const seen = new Set<string>();
  let first = true;
  const tick = async () => {
    const a = opts.agent();
    if (!a) return;
    try {
      const res = await (opts.fetch ?? fetch)(`${a.url}/api/backup/status`, { headers: { authorization: `Bearer ${a.token}` }, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return;
      const status = statusResponseSchema.safeParse(await res.json());
      if (!status.success) return;
      for (const job of status.data.failingJobs) {
        if (seen.has(job.id)) continue;
        seen.add(job.id);
        // Failures that were already there when the app started are on the dashboard, not in a burst of pop-ups.
        if (!first) opts.notify('Backup failed', `${job.backupType} backup${job.weddingIds.length ? ` of ${job.weddingIds.length} wedding(s)` : ''}: ${job.error?.message ?? job.status}`);
      }
      first = false;
    } catch {
      // agent busy or restarting: try again next tick
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 60_000);
  return () => clearInterval(timer);
}
