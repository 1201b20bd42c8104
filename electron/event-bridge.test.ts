import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchMessage } from '../renderer/api/ipc-transport.js';
import { EventBridge, SseParser } from './event-bridge.js';

const OP = '22222222-2222-4222-8222-222222222222';
const TOKEN = 'main-process-token-never-in-the-renderer';

const op = (status: string) => ({
  id: OP, operationType: 'selective-restore', recoveryScope: 'selective', backupSnapshotId: null, preRecoverySnapshot: null, initiatedBy: null, initiatedByLabel: null,
  authorizedBy: null, affectedWeddings: [], dataTypes: null, dataRestored: null, estimatedDurationMs: null, actualDurationMs: null, status, errorDetails: null,
  successMetrics: null, targetDatabase: null, startedAt: null, completedAt: null, createdAt: '2026-11-28T12:00:00Z',
});

describe('SSE parser (electron/event-bridge.ts)', () => {
  it('splits messages across chunk boundaries, joins data lines, skips comments, accepts CRLF', () => {
    const p = new SseParser();
    expect(p.push(': ping\n\nevent: a\nda')).toEqual([]);
    expect(p.push('ta: {"x":1}\r\n\r\nevent: b\ndata: one\ndata: two\n')).toEqual([{ event: 'a', data: '{"x":1}' }]);
    expect(p.push('\ndata:no-space\n\n')).toEqual([
      { event: 'b', data: 'one\ntwo' },
      { event: 'message', data: 'no-space' },
    ]);
  });
});

describe('event bridge: the agent stream forwarded to one window (a real HTTP server as the agent)', () => {
  let server: Server;
  let url: string;
  const seen: { auth: string | undefined; path: string }[] = [];
  /** What the fake agent streams per request, by path. */
  let script: (res: ServerResponse) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ auth: req.headers.authorization, path: req.url ?? '' });
      script(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const collect = () => {
    const got: WatchMessage[] = [];
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolveDone = r));
    const deliver = (_sub: string, m: WatchMessage) => {
      got.push(m);
      if (m.type === 'drop' || (m.event as { type?: string }).type === 'end') resolveDone();
    };
    return { got, done, deliver };
  };

  it('opens the stream with the bearer header and forwards each event until end', async () => {
    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: recovery-operation\ndata: ${JSON.stringify({ type: 'recovery-operation', operation: op('running') })}\n\n`);
      res.write(': ping\n\n');
      res.write(`event: recovery-operation\ndata: ${JSON.stringify({ type: 'recovery-operation', operation: { ...op('completed') } })}\n\nevent: end\ndata: {"type":"end","reason":"finished"}\n\n`);
      res.end();
    };
    const bridge = new EventBridge({ agent: () => ({ url, token: TOKEN }) });
    const c = collect();
    expect(bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-00000001' }, c.deliver)).toEqual({ ok: true });
    await c.done;
    expect(seen.at(-1)).toEqual({ auth: `Bearer ${TOKEN}`, path: `/api/events/recovery-operations/${OP}` });
    expect(c.got.map((m) => (m.type === 'event' ? (m.event as { type: string }).type : 'drop'))).toEqual(['recovery-operation', 'recovery-operation', 'end']);
    expect(JSON.stringify(c.got)).not.toContain(TOKEN);
    await new Promise((r) => setTimeout(r, 20));
    expect(bridge.size).toBe(0);
  });

  it("forwards an emergency backup's stream (progress, then the result) from its own path", async () => {
    const WEDDING = '33333333-3333-4333-8333-333333333333';
    const run = (state: string, rows: number, result: unknown = null) => ({
      id: OP, weddingId: WEDDING, state, startedAt: '2026-11-28T12:00:00Z', finishedAt: result ? '2026-11-28T12:00:01Z' : null,
      progress: { phase: 'export', rows, rowsEstimate: 100, bytes: rows * 10, weddingsDone: 0, itemsDone: rows, itemsTotal: 100, photosDone: 0, photosTotal: 0 }, result, error: null,
    });
    const result = { snapshotId: OP, jobId: OP, type: 'emergency', weddingCount: 1, rowCount: 100, bytesNew: 1000, bytesTotal: 1000, durationMs: 5 };
    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const b of [run('running', 10), run('running', 60), run('completed', 100, result)]) res.write(`event: backup\ndata: ${JSON.stringify({ type: 'backup', backup: b })}\n\n`);
      res.end('event: end\ndata: {"type":"end","reason":"finished"}\n\n');
    };
    const bridge = new EventBridge({ agent: () => ({ url, token: TOKEN }) });
    const c = collect();
    expect(bridge.watch(7, { stream: 'backup', id: OP, subscription: 'sub-0000000e' }, c.deliver)).toEqual({ ok: true });
    await c.done;
    expect(seen.at(-1)).toEqual({ auth: `Bearer ${TOKEN}`, path: `/api/events/backups/${OP}` });
    const backups = c.got.flatMap((m) => (m.type === 'event' && (m.event as { type: string }).type === 'backup' ? [(m.event as { backup: { state: string; progress: { rows: number } } }).backup] : []));
    expect(backups.map((b) => [b.state, b.progress.rows])).toEqual([['running', 10], ['running', 60], ['completed', 100]]);
    expect(c.got.at(-1)).toEqual({ type: 'event', event: { type: 'end', reason: 'finished' } });
  });

  it('an event that does not match the contract, or a stream cut before end, is a drop', async () => {
    const bridge = new EventBridge({ agent: () => ({ url, token: TOKEN }) });
    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: recovery-operation\ndata: {"type":"recovery-operation","operation":{"id":1}}\n\n`);
    };
    const bad = collect();
    bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-00000002' }, bad.deliver);
    await bad.done;
    expect(bad.got).toEqual([{ type: 'drop', reason: 'an event did not match the contract' }]);

    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: recovery-operation\ndata: ${JSON.stringify({ type: 'recovery-operation', operation: op('running') })}\n\n`);
    };
    const cut = collect();
    bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-00000003' }, cut.deliver);
    await cut.done;
    expect(cut.got.at(-1)).toEqual({ type: 'drop', reason: 'the event stream broke off' });

    script = (res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `recovery operation ${OP} not found` } }));
    };
    const missing = collect();
    bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-00000004' }, missing.deliver);
    await missing.done;
    expect(missing.got).toEqual([{ type: 'drop', reason: `recovery operation ${OP} not found` }]);
  });

  it('bad payloads are refused naming the field; only the owner window stops a subscription; a closed window aborts its streams', async () => {
    const bridge = new EventBridge({ agent: () => ({ url, token: TOKEN }) });
    const r = bridge.watch(7, { stream: 'everything', id: '../x', subscription: 'x' }, () => undefined);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.fields?.map((f) => f.field).sort()).toEqual(['id', 'stream', 'subscription']);
    expect(new EventBridge({ agent: () => null }).watch(7, { stream: 'validation', id: OP, subscription: 'sub-00000005' }, () => undefined)).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });

    // A stream that stays open until stopped.
    script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: recovery-operation\ndata: ${JSON.stringify({ type: 'recovery-operation', operation: op('running') })}\n\n`);
    };
    const a = collect();
    bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-0000000a' }, a.deliver);
    expect(bridge.watch(7, { stream: 'recovery-operation', id: OP, subscription: 'sub-0000000a' }, () => undefined)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(bridge.unwatch(8, { subscription: 'sub-0000000a' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(bridge.size).toBe(1);
    expect(bridge.unwatch(7, { subscription: 'sub-0000000a' })).toEqual({ ok: true });
    expect(bridge.size).toBe(0);
    bridge.watch(9, { stream: 'recovery-operation', id: OP, subscription: 'sub-0000000b' }, () => undefined);
    bridge.watch(9, { stream: 'validation', id: OP, subscription: 'sub-0000000c' }, () => undefined);
    expect(bridge.size).toBe(2);
    bridge.closeOwner(9);
    expect(bridge.size).toBe(0);
  });
});
