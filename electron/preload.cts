// The preload of the console window: runs sandboxed (contextIsolation, sandbox, no Node), so it
// is one CommonJS file that requires only 'electron'. It exposes exactly one object,
// `window.wedsync`, with two functions — never ipcRenderer itself, never a way to pick an
// arbitrary channel. The main process (electron/ipc-main.ts) checks the sender and parses
// every payload again: this file is a narrow door, not the lock.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

const NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const EVENT_CHANNEL = 'wedsync:event';

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
    const wrapped = (_e: IpcRendererEvent, event: unknown) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
});
