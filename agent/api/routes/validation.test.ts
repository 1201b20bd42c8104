import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';
import { resolveConfig } from '../../cli/config.js';
import type { SnapshotValidationResponse, ValidationRun } from '../../contract/validation-report.js';
import { silentLogger } from '../../logger.js';
import { startAgent, type RunningAgent } from '../../main.js';
import { openRepository } from '../../repository/repository.js';

/** The validation routes through the real agent (startAgent wiring), against a real repository and catalog. */
describe('agent HTTP API: validation', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let snapshotId: string;
  const call = (path: string, init: RequestInit = {}, token: string | null = agent.token) =>
    fetch(`${agent.url}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });

  async function validate(body: unknown): Promise<SnapshotValidationResponse> {
    const r = await call(`/api/backup/snapshots/${snapshotId}/validate`, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status).toBe(202);
    const run = (await r.json()) as ValidationRun;
    expect(run).toMatchObject({ snapshotId, state: expect.stringMatching(/running|completed/), runId: expect.any(String) });
    // Poll as the console does, until the run has ended.
    for (;;) {
      const g = await call(`/api/backup/snapshots/${snapshotId}/validation`);
      expect(g.status).toBe(200);
      const status = (await g.json()) as SnapshotValidationResponse;
      expect(status.run?.runId).toBe(run.runId);
      if (status.run?.state !== 'running') return status;
      await sleep(20);
    }
  }

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0 });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  it('validates a snapshot in the background and records the result in the catalog', async () => {
    const structure = await validate({ level: 'structure' });
    expect(structure.run).toMatchObject({ state: 'completed', level: 'structure', report: { status: 'valid', findings: [] } });
    expect(structure.validationStatus).toBe('valid');
    const read = await validate({ level: 'read-data' });
    expect(read.run?.report).toMatchObject({ status: 'valid', level: 'read-data', checked: { weddings: 4 } });
    expect(read.run?.progress.phase).toBe('done');
    const row = await world.catalog.getSnapshot(snapshotId);
    expect(row).toMatchObject({ validationStatus: 'valid', validationCompletedAt: expect.any(String), validationDetails: expect.objectContaining({ level: 'read-data' }) });
  });

  it('reports damage with the wedding and data type, and a later structure check does not hide it', async () => {
    const repo = await openRepository(world.repoStore, world.passphrase);
    const manifest = await repo.loadManifest(snapshotId);
    await repo.loadIndex();
    const wedding = manifest.weddings[1]!;
    const entry = repo.blobEntry(wedding.tables['public.guests']![0]!.id)!;
    const name = `packs/${entry.packId.slice(0, 2)}/${entry.packId}`;
    const bytes = await world.repoStore.get(name);
    bytes[entry.offset + 20] = bytes[entry.offset + 20]! ^ 0xff;
    await world.repoStore.put(name, bytes);

    const read = await validate({ level: 'read-data', subset: 1 });
    expect(read.validationStatus).toBe('corrupted');
    expect(read.run?.report?.findings).toContainEqual(expect.objectContaining({ kind: 'blob-corrupt', weddingId: wedding.weddingId, dataType: 'guests' }));
    expect(read.details).toMatchObject({ status: 'corrupted', affectedWeddings: [wedding.weddingId] });

    const structure = await validate({ level: 'structure' });
    expect(structure.run?.report?.status).toBe('valid');
    expect(structure.validationStatus).toBe('corrupted');
  });

  it('rejects bad requests naming the field, and unknown snapshots with 404', async () => {
    const badLevel = await call(`/api/backup/snapshots/${snapshotId}/validate`, { method: 'POST', body: JSON.stringify({ level: 'deep' }) });
    expect(badLevel.status).toBe(400);
    expect((await badLevel.json()).error.fields.map((f: { field: string }) => f.field)).toContain('body.level');
    const badSubset = await call(`/api/backup/snapshots/${snapshotId}/validate`, { method: 'POST', body: JSON.stringify({ level: 'read-data', subset: 0 }) });
    expect(badSubset.status).toBe(400);
    expect((await badSubset.json()).error.fields.map((f: { field: string }) => f.field)).toContain('body.subset');
    const subsetWithStructure = await call(`/api/backup/snapshots/${snapshotId}/validate`, { method: 'POST', body: JSON.stringify({ level: 'structure', subset: 0.5 }) });
    expect(subsetWithStructure.status).toBe(400);
    const badId = await call('/api/backup/snapshots/not-a-uuid/validate', { method: 'POST', body: '{}' });
    expect(badId.status).toBe(400);
    const unknown = await call('/api/backup/snapshots/00000000-0000-4000-8000-000000000000/validate', { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    const unknownGet = await call('/api/backup/snapshots/00000000-0000-4000-8000-000000000000/validation');
    expect(unknownGet.status).toBe(404);
    const noToken = await call(`/api/backup/snapshots/${snapshotId}/validation`, {}, null);
    expect(noToken.status).toBe(401);
  });

  it("checks one wedding's live data on request", async () => {
    const { rows } = await world.client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY id LIMIT 1');
    const weddingId = rows[0]!.id;
    await world.client.query(`UPDATE weddings SET couple_names = '' WHERE id = $1`, [weddingId]);
    const r = await call(`/api/weddings/${weddingId}/validate`, { method: 'POST' });
    expect(r.status).toBe(200);
    const report = await r.json();
    expect(report).toMatchObject({ weddingId, status: 'errors', checked: { guests: 12, photoFiles: 2 } });
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'missing-couple-names', severity: 'error' }));
    expect((await call('/api/weddings/00000000-0000-4000-8000-000000000000/validate', { method: 'POST' })).status).toBe(404);
    const bad = await call('/api/weddings/nope/validate', { method: 'POST' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.fields[0].field).toBe('params.id');
  });
});
