import { describe, expect, it } from 'vitest';
import { endpoints } from '../renderer/api/endpoints.js';
import { EventBridge } from './event-bridge.js';
import { UNLOCK_INVOKE, UNWATCH_INVOKE, WATCH_CHANNEL, WATCH_INVOKE, channelFor, registerIpcBridge, type InvokeEventLike, type IpcBridgeOptions, type IpcMainLike } from './ipc-main.js';

/** A stand-in for Electron's ipcMain: records handlers so tests can invoke them like the renderer would. */
class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(channel: string, event: InvokeEventLike, payload: unknown): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    return Promise.resolve(h(event, payload));
  }
}

const TOKEN = 'secret-token-that-must-never-reach-the-renderer';
const SNAPSHOT = '11111111-1111-4111-8111-111111111111';
const console = (id = 7, url = 'app://console/index.html#/snapshots'): InvokeEventLike => ({ sender: { id }, senderFrame: { url } });

function setup(answer: (url: string, init: RequestInit) => Response | Promise<Response> = () => Response.json({ snapshots: [] })) {
  const ipc = new FakeIpcMain();
  const calls: { url: string; init: RequestInit }[] = [];
  const opts: IpcBridgeOptions = {
    ipcMain: ipc,
    agent: () => ({ url: 'http://127.0.0.1:4321', token: TOKEN }),
    trustedSenders: () => new Set([7]),
    origin: 'app://console',
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), init: init ?? {} });
      return answer(String(input), init ?? {});
    }) as typeof fetch,
  };
  const dispose = registerIpcBridge(opts);
  return { ipc, calls, dispose, opts };
}

describe('electron IPC bridge (ipc-main.ts)', () => {
  it('registers exactly one channel per endpoint of the console map, and removes them all', () => {
    const { ipc, dispose } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual([...Object.keys(endpoints).map((n) => channelFor(n as keyof typeof endpoints)), WATCH_INVOKE, UNWATCH_INVOKE, UNLOCK_INVOKE].sort());
    dispose();
    expect(ipc.handlers.size).toBe(0);
  });

  it('forwards a valid call with the bearer token and returns the parsed answer', async () => {
    const { ipc, calls } = setup();
    const result = await ipc.invoke('agent:listSnapshots', console(), { query: { limit: 5, type: 'full' } });
    expect(result).toEqual({ ok: true, data: { snapshots: [] } });
    expect(calls).toHaveLength(1);
    const url = new URL(calls[0]!.url);
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:4321/api/backup/snapshots');
    expect(Object.fromEntries(url.searchParams)).toEqual({ limit: '5', type: 'full' });
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses a sender that is not a trusted console window, before parsing or forwarding', async () => {
    const { ipc, calls } = setup();
    const senders: InvokeEventLike[] = [
      console(8), // another webContents
      console(7, 'https://evil.example/'), // our window navigated away
      console(7, 'app://console.evil/index.html'), // origin prefix trick
      console(7, 'file:///etc/passwd'),
      { sender: { id: 7 }, senderFrame: null }, // frame gone
    ];
    for (const event of senders) {
      const r = (await ipc.invoke('agent:getSnapshot', event, { params: { id: SNAPSHOT } })) as { ok: boolean; error: { code: string } };
      expect(r).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', status: 403 } });
    }
    expect(calls).toHaveLength(0);
  });

  it('rejects payloads that fail the contract schema, naming the field, without calling the agent', async () => {
    const { ipc, calls } = setup();
    const bad: [string, unknown, string][] = [
      ['agent:getSnapshot', { params: { id: '../../etc/passwd' } }, 'params.id'],
      ['agent:getSnapshot', { params: { id: SNAPSHOT, extra: 1 } }, 'params'],
      ['agent:getSnapshot', { params: { id: SNAPSHOT }, body: { x: 1 } }, ''],
      ['agent:emergencyBackup', { body: { weddingId: SNAPSHOT, dataTypes: ['cake'] } }, 'body.dataTypes.0'],
      ['agent:putWeddingSettings', { params: { weddingId: SNAPSHOT }, body: { backupFrequencyMinutes: 5 } }, 'body.backupFrequencyMinutes'],
      ['agent:previewRestore', { body: { backupId: SNAPSHOT, recoveryScope: 'selective' } }, 'body.dataTypes'],
      ['agent:listSnapshots', 'not an object', '(root)'],
    ];
    for (const [channel, payload, field] of bad) {
      const r = (await ipc.invoke(channel, console(), payload)) as { ok: false; error: { code: string; fields: { field: string }[] } };
      expect(r.ok, channel).toBe(false);
      expect(r.error.code).toBe('BAD_INPUT');
      if (field) expect(r.error.fields.map((f) => f.field)).toContain(field);
    }
    expect(calls).toHaveLength(0);
  });

  it('URI-encodes path parameters, so a value cannot change the route', async () => {
    const { ipc, calls } = setup(() => Response.json({ weddingId: SNAPSHOT, stored: false, settings: { backupFrequencyMinutes: 60, retentionPolicy: 'standard', highPriorityStart: null, highPriorityEnd: null, offsiteBackupRequired: true, realtimeEnabled: true, notificationPreferences: { onFailure: true, onSuccess: false } } }));
    await ipc.invoke('agent:getWeddingSettings', console(), { params: { weddingId: SNAPSHOT } });
    expect(calls[0]!.url).toBe(`http://127.0.0.1:4321/api/backup/weddings/${SNAPSHOT}/settings`);
  });

  it('passes agent errors through with code and fields, and never the token', async () => {
    const { ipc } = setup(() => Response.json({ error: { code: 'BAD_INPUT', message: `invalid request body: weddingId: must be a UUID (token ${TOKEN})`, fields: [{ field: 'body.weddingId', message: 'must be a UUID' }] } }, { status: 400 }));
    const r = await ipc.invoke('agent:listSnapshots', console(), {});
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', status: 400, fields: [{ field: 'body.weddingId' }] } });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it('an answer that does not match the contract is an error, not data', async () => {
    const { ipc } = setup(() => Response.json({ snapshots: 'nope' }));
    expect(await ipc.invoke('agent:listSnapshots', console(), {})).toMatchObject({ ok: false, error: { code: 'BAD_RESPONSE' } });
  });

  it('agent down or unreachable → UNREACHABLE', async () => {
    const down = setup();
    down.opts.agent = () => null;
    expect(await down.ipc.invoke('agent:listSnapshots', console(), {})).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
    const refused = setup(() => {
      throw new TypeError('fetch failed');
    });
    expect(await refused.ipc.invoke('agent:listSnapshots', console(), {})).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
  });

  it('events:watch and events:unwatch: sender checked first, payload parsed, messages only to the asking window', async () => {
    const { ipc, opts } = setup(() => new Response('event: end\ndata: {"type":"end","reason":"idle"}\n\n', { headers: { 'content-type': 'text/event-stream' } }));
    const sent: unknown[][] = [];
    opts.events = new EventBridge({ agent: opts.agent, fetch: opts.fetch! });
    const event = (id = 7, url = 'app://console/index.html'): InvokeEventLike => ({ sender: { id, send: (...args: unknown[]) => sent.push(args) }, senderFrame: { url } });
    const sub = { stream: 'recovery-operation', id: SNAPSHOT, subscription: 'abcdefgh-1' };
    expect(await ipc.invoke(WATCH_INVOKE, event(8), sub)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ipc.invoke(WATCH_INVOKE, event(7, 'https://evil.example/'), sub)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ipc.invoke(WATCH_INVOKE, event(), { ...sub, id: '../../x' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', fields: [{ field: 'id' }] } });
    expect(await ipc.invoke(WATCH_INVOKE, event(), sub)).toEqual({ ok: true, data: null });
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toEqual([WATCH_CHANNEL, { subscription: 'abcdefgh-1', message: { type: 'event', event: { type: 'end', reason: 'idle' } } }]);
    expect(await ipc.invoke(UNWATCH_INVOKE, event(8), { subscription: 'abcdefgh-1' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Without an event bridge the renderer is told to poll.
    const plain = setup();
    expect(await plain.ipc.invoke(WATCH_INVOKE, event(), sub)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('passphrase:unlock: sender checked, payload parsed, the passphrase never echoed in an error', async () => {
    const { ipc, opts } = setup();
    const got: string[] = [];
    opts.unlock = async (p) => {
      got.push(p);
      if (p === 'wrong') throw new Error(`could not open the repository with ${p}`);
      return { ok: true, data: null };
    };
    expect(await ipc.invoke(UNLOCK_INVOKE, console(8), { passphrase: 'x' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ipc.invoke(UNLOCK_INVOKE, console(), { passphrase: '' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', fields: [{ field: 'passphrase' }] } });
    expect(await ipc.invoke(UNLOCK_INVOKE, console(), { passphrase: 'x', extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    expect(await ipc.invoke(UNLOCK_INVOKE, console(), { passphrase: 'correct horse' })).toEqual({ ok: true, data: null });
    const wrong = await ipc.invoke(UNLOCK_INVOKE, console(), { passphrase: 'wrong' });
    expect(wrong).toMatchObject({ ok: false });
    expect(JSON.stringify(wrong)).not.toContain('with wrong');
    expect(got).toEqual(['correct horse', 'wrong']);
  });
});
