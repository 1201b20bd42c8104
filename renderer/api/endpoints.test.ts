import { describe, expect, it } from 'vitest';
import { AgentError, createAgentClient, type Transport } from './client.js';
import { endpoints, toHttp } from './endpoints.js';

describe('console endpoint map and client', () => {
  it('fills path parameters URI-encoded and appends the query', () => {
    expect(toHttp(endpoints.getSnapshot, { params: { id: 'a/../b' } }).url).toBe('/api/backup/snapshots/a%2F..%2Fb');
    expect(toHttp(endpoints.listSnapshots, { query: { limit: 5, weddingId: undefined } }).url).toBe('/api/backup/snapshots?limit=5');
  });

  it('checks requests with the contract schema before sending, naming the field', async () => {
    const sent: unknown[] = [];
    const transport: Transport = { kind: 'http', send: async (_n, r) => (sent.push(r), { snapshots: [] }) };
    const client = createAgentClient(transport);
    const err = await client.call('emergencyBackup', { body: { weddingId: 'nope' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).fields[0]!.field).toBe('body.weddingId');
    expect(sent).toEqual([]);
    expect(await client.call('listSnapshots', {})).toEqual({ snapshots: [] });
  });

  it('an answer that breaks the contract is an error, not data', async () => {
    const client = createAgentClient({ kind: 'ipc', send: async () => ({ snapshots: 'x' }) });
    await expect(client.call('listSnapshots', {})).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });
});
