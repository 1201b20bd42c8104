import { useState } from 'react';
import { AgentError } from '../../api/client.js';
import { PageHeader } from '../../components/states.js';

/**
 * The first-run / unlock screen: the agent has no repository passphrase yet. In a browser the
 * passphrase goes once to the loopback agent (POST /api/unlock, admin token); in the desktop app
 * it goes to the main process, which keeps it with the OS keychain (safeStorage) and restarts the
 * agent with it. Either way it lives only in this form's state until sent — never in storage,
 * never in the URL — and the field is cleared after every attempt.
 */
export function Unlock({ reason, submit }: { reason: string | null; submit: (passphrase: string) => Promise<void> }) {
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    const value = passphrase;
    setPassphrase('');
    try {
      await submit(value);
      setDone(true);
    } catch (err) {
      const e = err instanceof AgentError ? err : null;
      setError(
        e?.code === 'WRONG_PASSPHRASE'
          ? 'That passphrase does not open the repository. Check it and try again.'
          : e?.code === 'RATE_LIMITED'
            ? `Too many attempts: ${e.message.replace(/^too many unlock attempts: /, '')}.`
            : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="unlock">
      <PageHeader title="Unlock the backup repository" />
      <div className="panel" style={{ maxWidth: 560 }}>
        <p>
          The agent needs the repository passphrase before it can back up, validate or restore{reason ? ` (${reason})` : ''}. Only an admin should enter it. It is sent once to the agent on this machine and
          never stored by this page.
        </p>
        {done ? (
          <p role="status">Unlocked: starting the agent…</p>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (passphrase && !busy) void go();
            }}
          >
            <div className="field">
              <label htmlFor="unlock-passphrase">Repository passphrase</label>
              <input id="unlock-passphrase" type="password" autoComplete="off" autoFocus value={passphrase} onChange={(e) => setPassphrase(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby="unlock-error" style={{ width: 360 }} />
              {error && (
                <div id="unlock-error" className="field-error" role="alert">
                  {error}
                </div>
              )}
            </div>
            <div className="wizard-actions">
              <button type="submit" className="primary" disabled={!passphrase || busy}>
                {busy ? 'Checking…' : 'Unlock'}
              </button>
            </div>
          </form>
        )}
      </div>
    </section>
  );
}
