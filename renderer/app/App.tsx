import { useEffect, useRef, useState } from 'react';
import { errorFromBody, type AgentClient } from '../api/client.js';
import type { EventWatcher } from '../api/events.js';
import { ClientContext, EventsContext, OnlineContext } from './context.js';
import { useRoute } from './router.js';
import { Dashboard } from '../features/dashboard/Dashboard.js';
import { Snapshots } from '../features/snapshots/Snapshots.js';
import { Validation } from '../features/validation/Validation.js';
import { RestoreWizard } from '../features/restore/RestoreWizard.js';
import { WeddingDay } from '../features/wedding-day/WeddingDay.js';
import { Audit } from '../features/audit/Audit.js';
import { Settings } from '../features/settings/Settings.js';
import { Unlock } from '../features/unlock/Unlock.js';

const PAGES = [
  { page: 'dashboard', label: 'Dashboard', view: Dashboard },
  { page: 'snapshots', label: 'Snapshots', view: Snapshots },
  { page: 'validation', label: 'Validation', view: Validation },
  { page: 'restore', label: 'Guided restore', view: RestoreWizard },
  { page: 'wedding-day', label: 'Wedding day', view: WeddingDay },
  { page: 'audit', label: 'Audit', view: Audit },
  { page: 'settings', label: 'Settings', view: Settings },
] as const;

/**
 * The console shell: navigation, the offline banner and the current screen. Keyboard: every
 * control is reachable with Tab; Alt+1…7 jumps to a screen; after navigation focus moves to
 * the screen's heading so screen readers announce it.
 */
export function App({ client, events = null, loginError }: { client: AgentClient; events?: EventWatcher | null; loginError?: string }) {
  const route = useRoute();
  const [online, setOnline] = useState<{ online: boolean; checkedAt: Date | null }>({ online: true, checkedAt: null });
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = async () => {
      let ok = false;
      try {
        ok = (await client.call('health', {})).ok;
      } catch {
        ok = false;
      }
      if (stopped) return;
      setOnline({ online: ok, checkedAt: new Date() });
      timer = setTimeout(check, ok ? 10_000 : 3_000);
    };
    void check();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [client]);

  // In Electron the main process pushes the agent's state (starting, restarting after a crash…).
  const [agentState, setAgentState] = useState<{ state: string; detail?: string } | null>(null);
  useEffect(() => window.wedsync?.onEvent((e) => e.type === 'agent-state' && setAgentState({ state: e.state, detail: e.detail })), []);

  // An agent without its repository passphrase: the unlock screen instead of the screens.
  // Browser: the agent says so (GET /api/unlock); Electron: the main process (state 'locked').
  const [lock, setLock] = useState<{ locked: boolean; reason: string | null } | null>(null);
  useEffect(() => {
    if (client.transport !== 'http') return;
    client.call('unlockStatus', {}).then(setLock, () => setLock(null));
  }, [client]);
  const locked = Boolean(lock?.locked) || agentState?.state === 'locked';
  const submitPassphrase = async (passphrase: string) => {
    if (window.wedsync) {
      const r = await window.wedsync.unlock(passphrase);
      if (!r.ok) throw errorFromBody(r.error);
      return;
    }
    await client.call('unlock', { body: { passphrase } });
    // The agent restarts on the same address with the same token: wait for it, then load the full console.
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      const status = await client.call('unlockStatus', {}).catch(() => null);
      if (status && !status.locked) {
        window.location.reload();
        return;
      }
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      const target = PAGES[n - 1];
      if (target) {
        e.preventDefault();
        window.location.hash = `/${target.page}`;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.page]);

  const current = PAGES.find((p) => p.page === route.page) ?? PAGES[0];
  const View = current.view;
  return (
    <ClientContext.Provider value={client}>
      <EventsContext.Provider value={events}>
        <OnlineContext.Provider value={online}>
          <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
            Skip to content
          </a>
          <div className="shell">
            <nav className="sidebar" aria-label="Screens">
              <div className="brand">
                <span className="brand-mark" aria-hidden="true">◆</span> WedSync Backup
              </div>
              <ul>
                {PAGES.map((p, i) => (
                  <li key={p.page}>
                    <a href={`#/${p.page}`} aria-current={p.page === current.page ? 'page' : undefined} title={`Alt+${i + 1}`}>
                      {p.label}
                    </a>
                  </li>
                ))}
              </ul>
              <div className="sidebar-foot">
                <span className={`dot ${online.online ? 'dot-ok' : 'dot-bad'}`} aria-hidden="true" /> agent {online.online ? 'online' : 'offline'} · {client.transport.toUpperCase()}
              </div>
            </nav>
            <main id="main" ref={main} tabIndex={-1}>
              {!online.online && (
                <div className="banner banner-offline" role="alert">
                  <strong>Offline.</strong> The agent or the database cannot be reached. What you see may be from the local copy; actions that change data are queued or disabled.
                </div>
              )}
              {agentState && agentState.state !== 'running' && (
                <div className="banner banner-info" role="status">
                  Agent {agentState.state}
                  {agentState.detail ? `: ${agentState.detail}` : '…'}
                </div>
              )}
              {loginError && (
                <div className="banner banner-offline" role="alert">
                  <strong>Sign-in link not accepted:</strong> {loginError}
                </div>
              )}
              {locked ? <Unlock reason={lock?.reason ?? agentState?.detail ?? null} submit={submitPassphrase} /> : <View route={route} />}
            </main>
          </div>
        </OnlineContext.Provider>
      </EventsContext.Provider>
    </ClientContext.Provider>
  );
}
