import { z } from 'zod';
import { endpoints, isEndpointName, toHttp, type EndpointName } from '../renderer/api/endpoints.js';
import type { EventBridge } from './event-bridge.js';
import type { AgentErrorBody } from '../renderer/api/client.js';
import type { IpcResult } from '../renderer/api/ipc-transport.js';

/**
 * The ONLY file that touches ipcMain (after GitHub Desktop's ipc-main.ts). One invoke channel
 * per endpoint of renderer/api/endpoints.ts (`agent:<name>`), `events:watch` / `events:unwatch`
 * (the agent's event streams, electron/event-bridge.ts) and `passphrase:unlock` (the unlock
 * screen), and nothing else: the renderer can ask exactly what the console's maps allow.
 *
 * Guarantees, for every call:
 *  - the sender is checked first: the frame must be a window this process trusts, showing the
 *    console's own origin (`app://console`); anything else is refused with FORBIDDEN and the
 *    request is never parsed or forwarded;
 *  - the payload is parsed with the endpoint's zod schema from agent/contract; a bad one is
 *    refused with BAD_INPUT naming each field, and never reaches the agent;
 *  - the agent's answer is parsed with the endpoint's response schema before it is returned;
 *  - the bearer token is added here and never crosses to the renderer, not even in an error;
 *  - answers are values (`{ ok, data | error }`), so error codes and fields survive the bridge.
 */

/** The slice of Electron's ipcMain used here: tests inject a fake with the same shape. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The slice of IpcMainInvokeEvent checked here. */
export interface InvokeEventLike {
  sender: { id: number; send?: (channel: string, ...args: unknown[]) => void };
  senderFrame: { url: string } | null;
}

/** Where the agent is right now (the supervisor may restart it on another port), or null while it is down. */
export interface AgentEndpoint {
  url: string;
  token: string;
}

export interface IpcBridgeOptions {
  ipcMain: IpcMainLike;
  /** The agent to forward to; null → UNREACHABLE. */
  agent: () => AgentEndpoint | null;
  /** webContents ids of the console's own windows. */
  trustedSenders: () => ReadonlySet<number>;
  /** The console's origin, e.g. `app://console`. */
  origin: string;
  fetch?: typeof fetch;
  /** Per-request timeout (ms); long work is started by one call and watched, so requests are short. */
  timeoutMs?: number;
  /** The agent's event streams for the renderer (`events:watch` / `events:unwatch`); absent: the renderer polls. */
  events?: EventBridge;
  /** The repository passphrase from the unlock screen (`passphrase:unlock`); absent: refused. */
  unlock?: (passphrase: string) => Promise<IpcResult>;
}

/** Where the main process forwards watched events: `{ subscription, message }`. */
export const WATCH_CHANNEL = 'wedsync:watch';
export const WATCH_INVOKE = 'events:watch';
export const UNWATCH_INVOKE = 'events:unwatch';
export const UNLOCK_INVOKE = 'passphrase:unlock';

/** `passphrase:unlock` payload: the passphrase, nothing else. */
export const UnlockRequestSchema = z.object({ passphrase: z.string().min(1, { error: 'is required' }).max(1024, { error: 'is too long' }) }).strict();

export const AGENT_CHANNEL_PREFIX = 'agent:';

export function channelFor(name: EndpointName): string {
  return `${AGENT_CHANNEL_PREFIX}${name}`;
}

function fail(code: string, message: string, status: number, fields?: AgentErrorBody['fields']): IpcResult {
  return { ok: false, error: { code, message, status, ...(fields ? { fields } : {}) } };
}

/** True when the frame shows a page of `origin` (exact origin match, not a prefix trick like app://console.evil). */
export function isTrustedSender(event: InvokeEventLike, trusted: ReadonlySet<number>, origin: string): boolean {
  if (!trusted.has(event.sender.id)) return false;
  const url = event.senderFrame?.url;
  if (!url) return false;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === origin;
  } catch {
    return false;
  }
}

/** Handles one invoke: sender check → schema → agent → response schema. Exported for tests. */
export async function handleAgentCall(opts: IpcBridgeOptions, name: unknown, event: InvokeEventLike, payload: unknown): Promise<IpcResult> {
  if (!isTrustedSender(event, opts.trustedSenders(), opts.origin)) return fail('FORBIDDEN', 'this window may not talk to the agent', 403);
  if (!isEndpointName(name)) return fail('NOT_FOUND', 'no such agent call', 404);
  const ep = endpoints[name];
  const parsed = ep.request.safeParse(payload ?? {});
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(root)', message: i.message }));
    return fail('BAD_INPUT', `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, 400, fields);
  }
  const agent = opts.agent();
  if (!agent) return fail('UNREACHABLE', 'the agent is not running', 0);
  const parts = toHttp(ep, parsed.data as Parameters<typeof toHttp>[1]);
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(`${agent.url}${parts.url}`, {
      method: parts.method,
      headers: { authorization: `Bearer ${agent.token}`, accept: 'application/json', ...(parts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: parts.body === undefined ? undefined : JSON.stringify(parts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
  } catch (err) {
    return fail('UNREACHABLE', `the agent cannot be reached: ${(err as Error).name === 'TimeoutError' ? 'timed out' : 'connection failed'}`, 0);
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | null)?.error;
    const fields = Array.isArray(e?.fields) ? (e.fields as AgentErrorBody['fields']) : undefined;
    return fail(typeof e?.code === 'string' ? e.code : 'INTERNAL', typeof e?.message === 'string' ? e.message.replaceAll(agent.token, '[token]') : `the agent answered ${res.status}`, res.status, fields);
  }
  const out = ep.response.safeParse(body);
  if (!out.success) return fail('BAD_RESPONSE', `the agent's answer to ${name} does not match the contract`, 502);
  return { ok: true, data: out.data };
}

/** `events:watch`: sender check, then the event bridge (which parses the payload). Exported for tests. */
export function handleWatch(opts: IpcBridgeOptions, event: InvokeEventLike, payload: unknown): IpcResult {
  if (!isTrustedSender(event, opts.trustedSenders(), opts.origin)) return fail('FORBIDDEN', 'this window may not talk to the agent', 403);
  if (!opts.events) return fail('NOT_FOUND', 'live events are not available', 404);
  const sender = event.sender;
  const r = opts.events.watch(sender.id, payload, (subscription, message) => sender.send?.(WATCH_CHANNEL, { subscription, message }));
  return r.ok ? { ok: true, data: null } : r;
}

export function handleUnwatch(opts: IpcBridgeOptions, event: InvokeEventLike, payload: unknown): IpcResult {
  if (!isTrustedSender(event, opts.trustedSenders(), opts.origin)) return fail('FORBIDDEN', 'this window may not talk to the agent', 403);
  if (!opts.events) return fail('NOT_FOUND', 'live events are not available', 404);
  const r = opts.events.unwatch(event.sender.id, payload);
  return r.ok ? { ok: true, data: null } : r;
}

/** `passphrase:unlock`: sender check, payload parsed (the passphrase never appears in an error), then the main process's unlock. */
export async function handleUnlock(opts: IpcBridgeOptions, event: InvokeEventLike, payload: unknown): Promise<IpcResult> {
  if (!isTrustedSender(event, opts.trustedSenders(), opts.origin)) return fail('FORBIDDEN', 'this window may not talk to the agent', 403);
  if (!opts.unlock) return fail('NOT_FOUND', 'unlocking is not available', 404);
  const parsed = UnlockRequestSchema.safeParse(payload ?? {});
  if (!parsed.success) return fail('BAD_INPUT', `invalid request: passphrase: ${parsed.error.issues[0]?.message ?? 'is required'}`, 400, [{ field: 'passphrase', message: parsed.error.issues[0]?.message ?? 'is required' }]);
  try {
    return await opts.unlock(parsed.data.passphrase);
  } catch (err) {
    return fail('INTERNAL', (err as Error).message.split(parsed.data.passphrase).join('[passphrase]'), 500);
  }
}

/** Registers one handler per endpoint, plus the event and unlock channels; returns a function that removes them all. */
export function registerIpcBridge(opts: IpcBridgeOptions): () => void {
  const names = Object.keys(endpoints) as EndpointName[];
  for (const name of names) {
    opts.ipcMain.handle(channelFor(name), (event, payload) => handleAgentCall(opts, name, event, payload));
  }
  opts.ipcMain.handle(WATCH_INVOKE, (event, payload) => handleWatch(opts, event, payload));
  opts.ipcMain.handle(UNWATCH_INVOKE, (event, payload) => handleUnwatch(opts, event, payload));
  opts.ipcMain.handle(UNLOCK_INVOKE, (event, payload) => handleUnlock(opts, event, payload));
  return () => {
    for (const name of names) opts.ipcMain.removeHandler(channelFor(name));
    for (const c of [WATCH_INVOKE, UNWATCH_INVOKE, UNLOCK_INVOKE]) opts.ipcMain.removeHandler(c);
  };
}
