import type { ReactNode } from 'react';
import { AgentError } from '../api/client.js';
import type { LiveChannel } from './live.js';

/** Loading, error and empty states: every screen shows one of these instead of a blank area. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorState({ error, onRetry, what }: { error: Error; onRetry?: () => void; what?: string }) {
  const agentError = error instanceof AgentError ? error : null;
  let title = what ? `Could not load ${what}` : 'Something went wrong';
  let hint: string | null = null;
  if (agentError?.code === 'UNREACHABLE') hint = 'The agent is not reachable. Check that it is running; this screen retries when you ask.';
  else if (agentError?.notOffered) {
    title = `${what ? `${what[0]!.toUpperCase()}${what.slice(1)}` : 'This feature'} is not offered by this agent yet`;
    hint = 'The agent answered that this API route does not exist yet; the rest of the console works without it.';
  } else if (agentError?.code === 'UNAUTHENTICATED') hint = 'The console has no valid token: open it from the link the agent printed.';
  return (
    <div className={agentError?.notOffered ? 'state' : 'state state-error'} role={agentError?.notOffered ? 'status' : 'alert'}>
      <strong>{title}</strong>
      <p className="mono">{agentError ? `${agentError.code}: ${agentError.message}` : error.message}</p>
      {hint && <p>{hint}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function validationTone(status: string): 'ok' | 'warn' | 'bad' | 'muted' {
  if (status === 'valid') return 'ok';
  if (status === 'corrupted') return 'bad';
  if (status === 'incomplete') return 'warn';
  return 'muted';
}

export function ProgressBar({ done, total, label }: { done: number; total: number; label: string }) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-label">
        {label} — {pct}%
      </span>
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      <div className="page-actions">{children}</div>
    </header>
  );
}

/** Says how the screen is kept current, so nobody mistakes a quiet screen for a frozen one. */
export function LiveNote({ channel }: { channel: LiveChannel }) {
  if (channel === 'idle') return null;
  return (
    <p className="muted live-note" data-channel={channel}>
      {channel === 'live' ? 'Live: progress is pushed by the agent as it happens.' : 'Checking for progress every moment (live updates are unavailable).'}
    </p>
  );
}
