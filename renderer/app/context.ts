import { createContext, useContext } from 'react';
import type { AgentClient } from '../api/client.js';
import type { EventWatcher } from '../api/events.js';

export const ClientContext = createContext<AgentClient | null>(null);

/** The agent client of this window (HTTP in a browser, IPC in Electron). */
export function useClient(): AgentClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside <ClientContext.Provider>');
  return client;
}

/** Whether the agent answered its last health check: drives the offline banner. */
export const OnlineContext = createContext<{ online: boolean; checkedAt: Date | null }>({ online: true, checkedAt: null });
export function useOnline(): { online: boolean; checkedAt: Date | null } {
  return useContext(OnlineContext);
}

/** Pushed progress (SSE in a browser, IPC in Electron); null: screens poll. */
export const EventsContext = createContext<EventWatcher | null>(null);
export function useEvents(): EventWatcher | null {
  return useContext(EventsContext);
}
