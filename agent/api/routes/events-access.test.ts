import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';
import { issueToken } from '../../catalog/tokens.js';
import { resolveConfig } from '../../cli/config.js';
import { AgentEventSchema } from '../../contract/events.js';
import { silentLogger } from '../../logger.js';
import { startAgent, type RunningAgent } from '../../main.js';

/** Event streams with per-user tokens against the real agent: who may watch is who may read (two organizations). */
describe('event streams: authorisation of user tokens', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let snapshotId: string;
  let operationId: string;
  const token: Record<string, string> = {};

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4, seed: { organizations: 2 } });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const orgs = (await world.client.query<{ id: string }>('SELECT id::text FROM organizations ORDER BY created_at, id')).rows.map((r) => r.id);
    for (const [k, o] of [['A', orgs[0]!], ['B', orgs[1]!]] as const) {
      const viewer = (await world.client.query<{ email: string }>(`SELECT email FROM user_profiles WHERE organization_id = $1 AND role = 'viewer' LIMIT 1`, [o])).rows[0]!;
      token[k] = (await issueToken(world.client, { email: viewer.email, issuedBy: 'test' })).token;
    }
    const config = resolveConfig({ databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') }, { WEDSYNC_PASSPHRASE: world.passphrase });
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: false });
    // A restore of one wedding of organization A, by the agent's token.
    const weddingA = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings WHERE organization_id = $1 ORDER BY id LIMIT 1', [orgs[0]])).rows[0]!.id;
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [weddingA]);
    const plan = { backupId: snapshotId, recoveryScope: 'selective', weddingIds: [weddingA], dataTypes: ['guests'] };
    const post = async (path: string, body: unknown) =>
      (await fetch(`${agent.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<unknown>;
    const preview = (await post('/api/backup/restore/preview', plan)) as { confirmationToken: string };
    operationId = ((await post('/api/backup/emergency-restore', { ...plan, confirmationToken: preview.confirmationToken })) as { operation: { id: string } }).operation.id;
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  const ticket = (who: string, stream: string, id: string) =>
    fetch(`${agent.url}/api/events/tickets`, { method: 'POST', headers: { authorization: `Bearer ${token[who]}`, 'content-type': 'application/json' }, body: JSON.stringify({ stream, id }) });

  it("a viewer watches their organization's restore; another organization's is 404 as if absent", async () => {
    const ok = await ticket('A', 'recovery-operation', operationId);
    expect(ok.status).toBe(201);
    const { ticket: t, path } = (await ok.json()) as { ticket: string; path: string };
    const text = await (await fetch(`${agent.url}${path}?ticket=${t}`)).text();
    const events = text.split('\n\n').flatMap((b) => b.split('\n').filter((l) => l.startsWith('data: '))).map((l) => AgentEventSchema.parse(JSON.parse(l.slice(6))));
    expect(events.at(-1)?.type).toBe('end');
    expect(events.some((e) => e.type === 'recovery-operation' && e.operation.id === operationId)).toBe(true);

    const other = await ticket('B', 'recovery-operation', operationId);
    expect(other.status).toBe(404);
    // Nor with its own (valid) token on the stream itself.
    const direct = await fetch(`${agent.url}/api/events/recovery-operations/${operationId}`, { headers: { authorization: `Bearer ${token.B}` } });
    expect(direct.status).toBe(404);
  });

  it('a validation stream follows the snapshot rules (RLS visibility)', async () => {
    // The full snapshot holds both organizations' weddings: each viewer may read it.
    expect((await ticket('A', 'validation', snapshotId)).status).toBe(201);
    expect((await ticket('B', 'validation', snapshotId)).status).toBe(201);
    expect((await ticket('A', 'validation', '00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
