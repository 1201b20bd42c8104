import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createAgentClient, type Transport } from './api/client.js';
import { createHttpTransport } from './api/http-transport.js';
import { createIpcTransport } from './api/ipc-transport.js';
import { exchangeLoginCode, resolveBrowserToken } from './api/token.js';
import { createIpcWatcher, createSseWatcher } from './api/events.js';
import { App } from './app/App.js';
import './app/styles.css';

// In Electron the preload exposes window.wedsync and the main process holds the token; in a
// browser the token is obtained once from the link's fragment and lives in sessionStorage.
async function transport(): Promise<{ transport: Transport; loginError?: string }> {
  if (window.wedsync) return { transport: createIpcTransport(window.wedsync) };
  const { token, error } = await resolveBrowserToken({
    location: window.location,
    storage: window.sessionStorage,
    replaceUrl: (url) => window.history.replaceState(null, '', url),
    exchange: (code) => exchangeLoginCode(code),
  });
  return { transport: createHttpTransport({ token: () => token }), loginError: error };
}

void transport().then(({ transport, loginError }) => {
  const client = createAgentClient(transport);
  // Pushed progress: the main process holds the stream in Electron; a ticketed EventSource in a browser.
  const events = window.wedsync ? createIpcWatcher(window.wedsync) : createSseWatcher(client);
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App client={client} events={events} loginError={loginError} />
    </StrictMode>,
  );
});
