// The preload of the console window: runs sandboxed (contextIsolation, sandbox, no Node), so it
// is one CommonJS file that requires only 'electron'. It exposes exactly one object,
// `window.wedsync`, with four functions (invoke, onEvent, watch, unlock) — never ipcRenderer
// itself, never a way to pick an arbitrary channel. The main process (electron/ipc-main.ts) checks the sender and parses
// every payload again: this file is a narrow door, not the lock.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

const NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const EVENT_CHANNEL = 'wedsync:event';
const WATCH_CHANNEL = 'wedsync:watch';
const STREAMS = new Set(['recovery-operation', 'validation']);
let nextSubscription = 0;
const SESSION = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
// The agent's state may arrive before the page subscribes (e.g. 'locked' at load): replayed to late listeners.
let lastAgentState: unknown = null;
ipcRenderer.on(EVENT_CHANNEL, (_e: IpcRendererEvent, event: { type?: unknown }) => {
  if (event?.type === 'agent-state') lastAgentState = event;
});

contextBridge.exposeInMainWorld('wedsync', {
  async invoke(name: unknown, request: unknown) {
    if (typeof name !== 'string' || !NAME.test(name)) return { ok: false, error: { code: 'NOT_FOUND', message: 'no such agent call', status: 404 } };
    try {
      return await ipcRenderer.invoke(`agent:${name}`, request);
    } catch {
      return { ok: false, error: { code: 'NOT_FOUND', message: `no such agent call: ${name}`, status: 404 } };
    }
  },
  onEvent(listener: (event: unknown) => void) {
    if (typeof listener !== 'function') return () => undefined;
    if (lastAgentState) queueMicrotask(() => listener(lastAgentState));
    const wrapped = (_e: IpcRendererEvent, event: unknown) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
  // One agent event stream, held by the main process; messages for this subscription only.
  watch(stream: unknown, id: unknown, listener: (message: unknown) => void) {
    if (typeof listener !== 'function') return () => undefined;
    if (typeof stream !== 'string' || !STREAMS.has(stream) || typeof id !== 'string') {
      queueMicrotask(() => listener({ type: 'drop', reason: 'no such event stream' }));
      return () => undefined;
    }
    const subscription = `${SESSION}-${++nextSubscription}`;
    let open = true;
    const wrapped = (_e: IpcRendererEvent, m: { subscription?: unknown; message?: unknown }) => {
      if (open && m?.subscription === subscription) listener(m.message);
    };
    ipcRenderer.on(WATCH_CHANNEL, wrapped);
    const stop = () => {
      if (!open) return;
      open = false;
      ipcRenderer.removeListener(WATCH_CHANNEL, wrapped);
      void ipcRenderer.invoke('events:unwatch', { subscription }).catch(() => undefined);
    };
    void ipcRenderer.invoke('events:watch', { stream, id, subscription }).then(
      (r: { ok?: boolean; error?: { message?: string } }) => {
        if (open && !r?.ok) listener({ type: 'drop', reason: r?.error?.message ?? 'the event stream could not be opened' });
      },
      () => open && listener({ type: 'drop', reason: 'the event stream could not be opened' }),
    );
    return stop;
  },
  // The repository passphrase for the main process (kept with safeStorage there, never here).
  async unlock(passphrase: unknown) {
    if (typeof passphrase !== 'string') return { ok: false, error: { code: 'BAD_INPUT', message: 'invalid request: passphrase: is required', status: 400 } };
    try {
      return await ipcRenderer.invoke('passphrase:unlock', { passphrase });
    } catch {
      return { ok: false, error: { code: 'INTERNAL', message: 'the passphrase could not be handed to the app', status: 500 } };
    }
  },
});
