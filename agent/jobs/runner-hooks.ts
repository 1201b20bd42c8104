import { spawn } from 'node:child_process';
import type { NotificationPreferences } from '../contract/scheduling.js';
import type { Logger } from '../logger.js';
import type { RunnerEvent } from './runner.js';

/**
 * Hooks on a job's final outcome: a command and/or a webhook URL configured for the agent, and
 * each wedding's own webhook from wedding_backup_settings.notification_preferences.
 *
 * Which events: `failed` (retries used up, or an error retrying cannot fix) and `succeeded`.
 * Retries in between are not announced (the final outcome is).
 *  - Agent hooks: failures always, successes only with `onSuccess`. For a job made for particular
 *    weddings (tier 2, emergency) the agent hooks fire only if at least one of those weddings wants
 *    that event (onFailure defaults to true, onSuccess to false): a couple who muted their
 *    notifications is not paged for. Jobs for everyone (fulls, off-site) are not filtered.
 *  - A wedding's webhookUrl receives the events that wedding wants, with `weddingId` set.
 *  - Commands come from the agent's configuration only, never from the database.
 *
 * Payload (JSON, one object): { event: "backup.failed" | "backup.succeeded", agent, at,
 *   job: { id, type, tier, priority, attempts, maxAttempts, scheduledAt, weddingIds },
 *   durationMs, snapshotId?, bytes?, error?: { code, message }, weddingId? (per-wedding webhooks) }
 * The command gets it on stdin, plus WEDSYNC_EVENT, WEDSYNC_JOB_ID, WEDSYNC_JOB_TYPE and
 * WEDSYNC_ERROR_CODE in its environment; the webhook as a POST body. A hook that fails or runs
 * past `timeoutMs` is logged and never affects the job.
 */

export interface HookConfig {
  /** Run through /bin/sh -c (cmd.exe /c on Windows). */
  command?: string;
  webhookUrl?: string;
  /** Also announce successes (default: failures only). */
  onSuccess?: boolean;
  timeoutMs?: number;
}

export interface HookPayload {
  event: 'backup.failed' | 'backup.succeeded';
  agent: string;
  at: string;
  job: { id: string; type: string; tier: number | null; priority: number; attempts: number; maxAttempts: number; scheduledAt: string; weddingIds: string[] };
  durationMs: number;
  snapshotId?: string;
  bytes?: number;
  error?: { code: string; message: string };
  weddingId?: string;
}

export interface HookDeps {
  config: HookConfig;
  loadPreferences: (weddingIds: readonly string[]) => Promise<Map<string, NotificationPreferences>>;
  logger: Logger;
  fetch?: typeof fetch;
}

export function hookPayload(event: RunnerEvent): HookPayload | null {
  if (event.type !== 'failed' && event.type !== 'succeeded') return null;
  const j = event.job;
  return {
    event: event.type === 'failed' ? 'backup.failed' : 'backup.succeeded',
    agent: event.agentId,
    at: new Date().toISOString(),
    job: { id: j.id, type: j.backupType, tier: j.tier, priority: j.priority, attempts: j.attempts, maxAttempts: j.maxAttempts, scheduledAt: j.scheduledAt.toISOString(), weddingIds: j.weddingIds },
    durationMs: event.durationMs,
    ...(event.outcome?.snapshotId ? { snapshotId: event.outcome.snapshotId } : {}),
    ...(event.outcome?.bytes !== undefined ? { bytes: event.outcome.bytes } : {}),
    ...(event.error ? { error: event.error } : {}),
  };
}

function runCommand(command: string, payload: HookPayload, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const windows = process.platform === 'win32';
    const child = spawn(windows ? 'cmd.exe' : '/bin/sh', windows ? ['/c', command] : ['-c', command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        WEDSYNC_EVENT: payload.event,
        WEDSYNC_JOB_ID: payload.job.id,
        WEDSYNC_JOB_TYPE: payload.job.type,
        WEDSYNC_ERROR_CODE: payload.error?.code ?? '',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hook command timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`hook command exited with ${code}${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
    });
    child.stdin.on('error', () => undefined); // a command that ignores stdin may close it early
    child.stdin.end(JSON.stringify(payload));
  });
}

async function post(fetchImpl: typeof fetch, url: string, payload: HookPayload, timeoutMs: number): Promise<void> {
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'wedsync-backup-agent' },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
}

/** The runner's onEvent for hooks (see the top of this file). Resolves when every hook finished. */
export function createHookNotifier(deps: HookDeps): (event: RunnerEvent) => Promise<void> {
  const timeoutMs = deps.config.timeoutMs ?? 30_000;
  const fetchImpl = deps.fetch ?? fetch;
  return async (event) => {
    const payload = hookPayload(event);
    if (!payload) return;
    const failed = payload.event === 'backup.failed';
    const ids = event.job.weddingIds;
    let prefs = new Map<string, NotificationPreferences>();
    try {
      prefs = ids.length ? await deps.loadPreferences(ids) : prefs;
    } catch (err) {
      // Database away: fall back to defaults rather than staying silent about a failure.
      deps.logger.warn({ err: (err as Error).message }, 'hooks: cannot read notification preferences; using defaults');
    }
    const wants = (id: string) => {
      const p = prefs.get(id);
      return failed ? (p?.onFailure ?? true) : (p?.onSuccess ?? false);
    };
    const tasks: Array<{ what: string; run: () => Promise<void> }> = [];
    const agentWants = (failed || deps.config.onSuccess === true) && (ids.length === 0 || ids.some(wants));
    if (agentWants && deps.config.command) tasks.push({ what: 'command', run: () => runCommand(deps.config.command!, payload, timeoutMs) });
    if (agentWants && deps.config.webhookUrl) tasks.push({ what: 'webhook', run: () => post(fetchImpl, deps.config.webhookUrl!, payload, timeoutMs) });
    for (const id of ids) {
      const url = prefs.get(id)?.webhookUrl;
      if (url && wants(id)) tasks.push({ what: `webhook of wedding ${id}`, run: () => post(fetchImpl, url, { ...payload, weddingId: id }, timeoutMs) });
    }
    await Promise.all(
      tasks.map((t) =>
        t.run().then(
          () => deps.logger.debug({ hook: t.what, event: payload.event, jobId: payload.job.id }, 'hook delivered'),
          (err: unknown) => deps.logger.warn({ hook: t.what, event: payload.event, jobId: payload.job.id, err: (err as Error).message }, 'hook failed'),
        ),
      ),
    );
  };
}
