import { AgentEventSchema, type AgentEvent, type EventStreamKind } from '../../agent/contract/events.js';
import type { AgentClient } from './client.js';
import type { WedsyncBridge } from './ipc-transport.js';

/**
 * Progress pushed by the agent (server-sent events, agent/contract/events.ts), behind one
 * interface for both transports: in a browser an EventSource opened with a short-lived ticket
 * (the bearer token never goes in a URL); in Electron the main process holds the stream and
 * forwards its events over IPC. Every event is parsed with the contract schema before a screen
 * sees it. `onDrop` means the stream broke before its `end`: the caller falls back to polling.
 */
export interface WatchHandlers {
  onEvent(event: AgentEvent): void;
  /** The agent ended the stream (`finished`, `idle`, `time-limit`, `shutdown`). */
  onEnd(reason: string): void;
  /** The stream could not be opened or broke off. */
  onDrop(reason: string): void;
}

export interface EventWatcher {
  readonly kind: 'sse' | 'ipc';
  /** Starts watching; the returned function stops (no handler is called after it). */
  watch(stream: EventStreamKind, id: string, handlers: WatchHandlers): () => void;
}

/** The slice of EventSource used here (tests pass a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (e: { data: string }) => void): void;
  onerror: ((e: unknown) => void) | null;
  close(): void;
}

export function createSseWatcher(client: AgentClient, open: (url: string) => EventSourceLike = (url) => new EventSource(url) as unknown as EventSourceLike): EventWatcher {
  return {
    kind: 'sse',
    watch(stream, id, handlers) {
      let stopped = false;
      let source: EventSourceLike | null = null;
      const finish = (then: () => void) => {
        if (stopped) return;
        stopped = true;
        source?.close();
        then();
      };
      client.call('eventTicket', { body: { stream, id } }).then(
        ({ ticket, path }) => {
          if (stopped) return;
          source = open(`${path}?ticket=${encodeURIComponent(ticket)}`);
          const deliver = (e: { data: string }) => {
            if (stopped) return;
            const parsed = AgentEventSchema.safeParse(JSON.parse(e.data));
            if (!parsed.success) return finish(() => handlers.onDrop('an event did not match the contract'));
            if (parsed.data.type === 'end') {
              const reason = parsed.data.reason;
              return finish(() => handlers.onEnd(reason));
            }
            handlers.onEvent(parsed.data);
          };
          for (const type of ['recovery-operation', 'validation', 'backup', 'end']) source.addEventListener(type, deliver);
          // EventSource would reconnect by itself with the spent ticket: close it, the caller polls instead.
          source.onerror = () => finish(() => handlers.onDrop('the event stream broke off'));
        },
        (err: Error) => finish(() => handlers.onDrop(err.message)),
      );
      return () => {
        stopped = true;
        source?.close();
      };
    },
  };
}

export function createIpcWatcher(bridge: WedsyncBridge): EventWatcher {
  return {
    kind: 'ipc',
    watch(stream, id, handlers) {
      let stopped = false;
      const stop = bridge.watch(stream, id, (message) => {
        if (stopped) return;
        if (message.type === 'event') {
          const parsed = AgentEventSchema.safeParse(message.event);
          if (!parsed.success) {
            stopped = true;
            stop();
            return handlers.onDrop('an event did not match the contract');
          }
          if (parsed.data.type === 'end') {
            stopped = true;
            return handlers.onEnd(parsed.data.reason);
          }
          return handlers.onEvent(parsed.data);
        }
        stopped = true;
        handlers.onDrop(message.reason);
      });
      return () => {
        stopped = true;
        stop();
      };
    },
  };
}
