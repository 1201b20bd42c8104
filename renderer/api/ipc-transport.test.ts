import { describe, expect, it } from 'vitest';
import { AgentError, createAgentClient } from './client.js';
import { createIpcTransport, type WedsyncBridge } from './ipc-transport.js';

describe('IPC transport (renderer side of the Electron bridge)', () => {
  it('answers are values: data passes, errors come back as AgentError with code and fields', async () => {
    const calls: [string, unknown][] = [];
    const bridge: WedsyncBridge = {
      async invoke(name, request) {
        calls.push([name, request]);
        if (name === 'listSnapshots') return { ok: true, data: { snapshots: [] } };
        return { ok: false, error: { code: 'NOT_FOUND', message: 'snapshot x not found', status: 404 } };
      },
      onEvent: () => () => undefined,
      watch: () => () => undefined,
      unlock: async () => ({ ok: true, data: null }),
    };
    const client = createAgentClient(createIpcTransport(bridge));
    expect(client.transport).toBe('ipc');
    expect(await client.call('listSnapshots', { query: { limit: 3 } })).toEqual({ snapshots: [] });
    const err = await client.call('getSnapshot', { params: { id: '11111111-1111-4111-8111-111111111111' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(calls.map((c) => c[0])).toEqual(['listSnapshots', 'getSnapshot']);
  });
});
