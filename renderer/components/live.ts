import { useEffect, useRef, useState } from 'react';
import type { AgentEvent, EventStreamKind } from '../../agent/contract/events.js';
import { useEvents } from '../app/context.js';

/** How a screen is kept current: events pushed by the agent, or polling when no stream could be kept open. */
export type LiveChannel = 'live' | 'polling' | 'idle';

export interface LiveOptions {
  stream: EventStreamKind;
  id: string | null;
  /** Watch only while the work runs. */
  active: boolean;
  /** One pushed event; return false once the work is over. */
  onEvent: (event: AgentEvent) => boolean | void;
  /** One poll (the fallback); return false once the work is over. */
  poll: () => Promise<boolean | void>;
  pollMs?: number;
}

/**
 * Keeps a screen live while long work runs in the agent: it subscribes to the agent's event
 * stream for (stream, id) and hands each event to `onEvent`; if no stream can be opened, or it
 * breaks off before the agent ends it, it falls back to calling `poll` every `pollMs` (never two
 * at once) until that says the work is over. A stream the agent ended for a reason other than
 * the work being done (time limit, shutdown) also continues by polling. Stops on unmount.
 * Returns the channel last used ('idle' before any), so the screen can say whether updates are live.
 */
export function useLive(options: LiveOptions): LiveChannel {
  const events = useEvents();
  const [channel, setChannel] = useState<LiveChannel>('idle');
  const opts = useRef(options);
  opts.current = options;
  const { stream, id, active } = options;

  useEffect(() => {
    if (!active || !id) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unwatch: (() => void) | null = null;
    let over = false;

    const poll = async () => {
      if (stopped) return;
      let again = true;
      try {
        again = (await opts.current.poll()) !== false;
      } catch {
        again = true;
      }
      if (stopped) return;
      if (again) timer = setTimeout(() => void poll(), opts.current.pollMs ?? 400);
    };
    const fallBack = () => {
      if (stopped) return;
      setChannel('polling');
      void poll();
    };

    if (!events) fallBack();
    else {
      setChannel('live');
      unwatch = events.watch(stream, id, {
        onEvent(e) {
          if (stopped) return;
          if (opts.current.onEvent(e) === false) over = true;
        },
        onEnd(reason) {
          if (stopped) return;
          // The work is over (its last state was delivered): one poll settles anything the stream could not say.
          if (over || reason === 'finished' || reason === 'idle') {
            if (!over) void opts.current.poll().catch(() => undefined);
          } else fallBack();
        },
        onDrop: fallBack,
      });
    }
    return () => {
      stopped = true;
      unwatch?.();
      if (timer) clearTimeout(timer);
    };
  }, [events, stream, id, active]);

  return channel;
}
