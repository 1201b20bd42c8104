import { z } from 'zod';
import { AgentEventSchema, EventTicketRequestSchema, eventStreamPath } from '../agent/contract/events.js';
import type { WatchMessage } from '../renderer/api/ipc-transport.js';

/**
 * The agent's event streams (server-sent events, agent/contract/events.ts) for the Electron
 * renderer, which has no network (CSP connect-src 'none') and never holds the token: the main
 * process opens the stream with the bearer header and forwards each event, parsed with the
 * contract schema, to the window that asked. Pure Node (fetch + a text parser): tested without
 * Electron. electron/ipc-main.ts wires it to the `events:watch` / `events:unwatch` channels.
 *
 * Guarantees: a window can only stop its own subscriptions; when a window goes away all of its
 * streams are aborted; a stream that breaks off, answers an error or sends anything that does
 * not match the contract is stopped and reported as `drop` (the renderer then polls); nothing
 * about the token crosses to the renderer.
 */

/** One SSE message: its `event:` name and the joined `data:` lines. */
export interface SseMessage {
  event: string;
  data: string;
}

/** Incremental parser of `text/event-stream` (WHATWG rules for event, data and comments; id/retry ignored). */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }
}

/** `events:watch` payload: the stream (as the ticket request names it) and the renderer's subscription id. */
export const WatchRequestSchema = EventTicketRequestSchema.extend({ subscription: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, { error: 'must be a subscription id' }) }).strict();
export const UnwatchRequestSchema = z.object({ subscription: z.string().regex(/^[A-Za-z0-9-]{8,64}$/) }).strict();

export interface EventBridgeOptions {
  agent: () => { url: string; token: string } | null;
  fetch?: typeof fetch;
}

export type WatchResult = { ok: true } | { ok: false; error: { code: string; message: string; status: number; fields?: { field: string; message: string }[] } };

export class EventBridge {
  private readonly subs = new Map<string, { owner: number; controller: AbortController }>();

  constructor(private readonly opts: EventBridgeOptions) {}

  /** Opens the stream for window `owner`; its messages go to `deliver` until `end`, a drop, or unwatch. */
  watch(owner: number, payload: unknown, deliver: (subscription: string, message: WatchMessage) => void): WatchResult {
    const parsed = WatchRequestSchema.safeParse(payload ?? {});
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(root)', message: i.message }));
      return { ok: false, error: { code: 'BAD_INPUT', message: `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, status: 400, fields } };
    }
    const { stream, id, subscription } = parsed.data;
    if (this.subs.has(subscription)) return { ok: false, error: { code: 'CONFLICT', message: 'this subscription is already open', status: 409 } };
    const agent = this.opts.agent();
    if (!agent) return { ok: false, error: { code: 'UNREACHABLE', message: 'the agent is not running', status: 0 } };
    const controller = new AbortController();
    this.subs.set(subscription, { owner, controller });
    const send = (m: WatchMessage) => {
      if (this.subs.get(subscription)?.controller === controller) deliver(subscription, m);
    };
    const stop = () => {
      if (this.subs.get(subscription)?.controller === controller) this.subs.delete(subscription);
      controller.abort();
    };
    void this.pump(`${agent.url}${eventStreamPath(stream, id)}`, agent.token, controller.signal, send).then(
      (ended) => {
        if (!ended) send({ type: 'drop', reason: 'the event stream broke off' });
        stop();
      },
      (err: Error) => {
        send({ type: 'drop', reason: err.name === 'AbortError' ? 'stopped' : err.message.split(agent.token).join('[token]') });
        stop();
      },
    );
    return { ok: true };
  }

  /** Stops one subscription of window `owner` (another window's: refused). */
  unwatch(owner: number, payload: unknown): WatchResult {
    const parsed = UnwatchRequestSchema.safeParse(payload ?? {});
    if (!parsed.success) return { ok: false, error: { code: 'BAD_INPUT', message: 'invalid request: subscription', status: 400 } };
    const sub = this.subs.get(parsed.data.subscription);
    if (!sub || sub.owner !== owner) return { ok: false, error: { code: 'NOT_FOUND', message: 'no such subscription', status: 404 } };
    this.subs.delete(parsed.data.subscription);
    sub.controller.abort();
    return { ok: true };
  }

  /** Every stream of a window that went away. */
  closeOwner(owner: number): void {
    for (const [k, s] of this.subs) {
      if (s.owner !== owner) continue;
      this.subs.delete(k);
      s.controller.abort();
    }
  }

  /** Open subscriptions (tests). */
  get size(): number {
    return this.subs.size;
  }

  /** Reads the stream; true when the agent ended it with `end`. */
  private async pump(url: string, token: string, signal: AbortSignal, send: (m: WatchMessage) => void): Promise<boolean> {
    const doFetch = this.opts.fetch ?? fetch;
    const res = await doFetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new Error(body?.error?.message ?? `the agent answered ${res.status}`);
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        let event: unknown;
        try {
          event = JSON.parse(m.data);
        } catch {
          event = null;
        }
        const checked = AgentEventSchema.safeParse(event);
        if (!checked.success || checked.data.type !== m.event) throw new Error('an event did not match the contract');
        send({ type: 'event', event: checked.data });
        if (checked.data.type === 'end') {
          await reader.cancel().catch(() => undefined);
          return true;
        }
      }
    }
  }
}
