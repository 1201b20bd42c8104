import { describe, expect, it } from 'vitest';
import { createAgentClient } from './client.js';
import { createIpcWatcher, createSseWatcher, type EventSourceLike, type WatchHandlers } from './events.js';
import type { WatchMessage, WedsyncBridge } from './ipc-transport.js';

const OP = '33333333-3333-4333-8333-333333333333';
const op = { id: OP, operationType: 'undo', recoveryScope: 'selective', backupSnapshotId: null, preRecoverySnapshot: null, initiatedBy: null, initiatedByLabel: null, authorizedBy: null, affectedWeddings: [], dataTypes: null, dataRestored: null, estimatedDurationMs: null, actualDurationMs: null, status: 'running', errorDetails: null, successMetrics: null, targetDatabase: null, startedAt: null, completedAt: null, createdAt: 'x' };

class FakeSource implements EventSourceLike {
  listeners = new Map<string, (e: { data: string }) => void>();
  onerror: ((e: unknown) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  addEventListener(type: string, l: (e: { data: string }) => void) {
    this.listeners.set(type, l);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data: unknown) {
    this.listeners.get(type)?.({ data: JSON.stringify(data) });
  }
}

function recorder(): WatchHandlers & { log: string[] } {
  const log: string[] = [];
  return { log, onEvent: (e) => log.push(`event:${e.type}`), onEnd: (r) => log.push(`end:${r}`), onDrop: (r) => log.push(`drop:${r}`) };
}

describe('pushed progress in the console (renderer/api/events.ts)', () => {
  const ticketClient = () =>
    createAgentClient({ kind: 'http', send: async (name, req) => (name === 'eventTicket' ? { ticket: 'T'.repeat(43), path: `/api/events/recovery-operations/${OP}`, expiresAt: 'x', req } : null) });

  it('SSE: asks for a ticket, opens the stream with it (never the token), delivers checked events until end', async () => {
    const sources: FakeSource[] = [];
    const w = createSseWatcher(ticketClient(), (url) => (sources.push(new FakeSource(url)), sources.at(-1)!));
    const r = recorder();
    w.watch('recovery-operation', OP, r);
    await expect.poll(() => sources.length).toBe(1);
    expect(sources[0]!.url).toBe(`/api/events/recovery-operations/${OP}?ticket=${'T'.repeat(43)}`);
    sources[0]!.emit('recovery-operation', { type: 'recovery-operation', operation: op });
    sources[0]!.emit('end', { type: 'end', reason: 'finished' });
    sources[0]!.emit('recovery-operation', { type: 'recovery-operation', operation: op });
    expect(r.log).toEqual(['event:recovery-operation', 'end:finished']);
    expect(sources[0]!.closed).toBe(true);
  });

  it('SSE: an error closes the source (no reconnect with a spent ticket) and reports a drop; a bad event too', async () => {
    const sources: FakeSource[] = [];
    const w = createSseWatcher(ticketClient(), (url) => (sources.push(new FakeSource(url)), sources.at(-1)!));
    const r = recorder();
    w.watch('recovery-operation', OP, r);
    await expect.poll(() => sources.length).toBe(1);
    sources[0]!.onerror?.({});
    expect(r.log).toEqual(['drop:the event stream broke off']);
    expect(sources[0]!.closed).toBe(true);
    const r2 = recorder();
    w.watch('recovery-operation', OP, r2);
    await expect.poll(() => sources.length).toBe(2);
    sources[1]!.emit('recovery-operation', { type: 'recovery-operation', operation: { id: 1 } });
    expect(r2.log).toEqual(['drop:an event did not match the contract']);
    // No ticket (agent refuses): a drop, the screen polls.
    const refusing = createSseWatcher(createAgentClient({ kind: 'http', send: async () => Promise.reject(new Error('403')) }), () => new FakeSource('x'));
    const r3 = recorder();
    refusing.watch('validation', OP, r3);
    await expect.poll(() => r3.log).toEqual(['drop:403']);
  });

  it('IPC: events from the main process are checked again; a drop is passed on; stop unsubscribes', () => {
    let listener: (m: WatchMessage) => void = () => undefined;
    let stopped = 0;
    const bridge = { watch: (_s: string, _i: string, l: (m: WatchMessage) => void) => ((listener = l), () => void stopped++) } as unknown as WedsyncBridge;
    const r = recorder();
    const stop = createIpcWatcher(bridge).watch('recovery-operation', OP, r);
    listener({ type: 'event', event: { type: 'recovery-operation', operation: op } });
    listener({ type: 'event', event: { type: 'end', reason: 'time-limit' } });
    expect(r.log).toEqual(['event:recovery-operation', 'end:time-limit']);
    stop();
    expect(stopped).toBe(1);
    const r2 = recorder();
    createIpcWatcher(bridge).watch('validation', OP, r2);
    listener({ type: 'drop', reason: 'the agent is not running' });
    expect(r2.log).toEqual(['drop:the agent is not running']);
  });
});
