import { errorFromBody, type AgentErrorBody, type Transport } from './client.js';
import type { EndpointName } from './endpoints.js';

/** What electron/preload.ts exposes on `window.wedsync` (contextBridge): nothing else of Node or Electron. */
export interface WedsyncBridge {
  /** One agent request by endpoint name; the main process checks it and adds the token. */
  invoke(name: string, request: unknown): Promise<IpcResult>;
  /** Events pushed by the main process (agent state, backup failures); returns an unsubscribe. */
  onEvent(listener: (event: BridgeEvent) => void): () => void;
  /** One agent event stream (agent/contract/events.ts), held by the main process; returns a stop. */
  watch(stream: string, id: string, listener: (message: WatchMessage) => void): () => void;
  /** The repository passphrase, kept by the main process with the OS keychain (safeStorage); the agent restarts with it. */
  unlock(passphrase: string): Promise<IpcResult>;
}

/** What the main process forwards of a watched stream: its events (checked again here), or why it stopped. */
export type WatchMessage = { type: 'event'; event: unknown } | { type: 'drop'; reason: string };

/** Answers cross the bridge as values, not exceptions, so the error's code and fields survive. */
export type IpcResult = { ok: true; data: unknown } | { ok: false; error: AgentErrorBody };

export type BridgeEvent = { type: 'agent-state'; state: 'starting' | 'running' | 'restarting' | 'stopped' | 'failed' | 'locked'; detail?: string };

declare global {
  interface Window {
    wedsync?: WedsyncBridge;
  }
}

export function createIpcTransport(bridge: WedsyncBridge): Transport {
  return {
    kind: 'ipc',
    async send(name: EndpointName, request: unknown) {
      const result = await bridge.invoke(name, request);
      if (!result.ok) throw errorFromBody(result.error);
      return result.data;
    },
  };
}
