import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';
import { openRepository } from '../../repository/repository.js';
import { runCli, type CliRun as Run } from '../../../test-support/cli.js';

/** verify, check and validate-data as users run them: the compiled CLI, exit codes, output. */

describe('wedsync-backup verify / check / validate-data', () => {
  let world: BackupWorld;
  let snapshotId: string;
  let env: Record<string, string>;

  const cli = (args: string[]): Promise<Run> => runCli(args, env);

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    env = cliEnv(world);
  });
  afterAll(async () => world?.close());

  it('verifies a clean snapshot: exit 0, and records the result', async () => {
    const latest = await cli(['verify', 'latest']);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain(`snapshot ${snapshotId}: VALID (structure`);
    const all = await cli(['verify', 'all', '--read-data', '--json']);
    expect(all.code).toBe(0);
    const json = JSON.parse(all.stdout);
    expect(json).toMatchObject({ ok: true, status: 'valid', level: 'read-data', recorded: { [snapshotId]: 'recorded' } });
    expect(json.snapshots[0].checked.packsRead).toBe(json.snapshots[0].checked.packs);
    expect((await world.catalog.getSnapshot(snapshotId))?.validationStatus).toBe('valid');
    const check = await cli(['check', '--read-data', '--json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, status: 'valid', findings: [] });
  });

  it('bad input is exit 2 with one line naming it', async () => {
    for (const args of [['verify', 'yesterday'], ['verify', '00000000-0000-4000-8000-000000000000'], ['verify', 'latest', '--read-data-subset', '0%'], ['validate-data', '--wedding', 'nope'], ['validate-data', '--wedding', '00000000-0000-4000-8000-000000000000']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('validate-data: exit 0 on the seeded data, 1 with the wedding named once broken', async () => {
    const ok = await cli(['validate-data', '--json', '--time-zone', 'UTC']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, weddings: 4, errors: 0 });
    const { rows } = await world.client.query<{ id: string }>('SELECT id::text FROM weddings ORDER BY id LIMIT 1');
    await world.client.query(`UPDATE weddings SET couple_names = '' WHERE id = $1`, [rows[0]!.id]);
    const bad = await cli(['validate-data', '--time-zone', 'UTC']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`wedding ${rows[0]!.id}`);
    expect(bad.stdout).toContain('missing-couple-names');
    const one = await cli(['validate-data', '--wedding', rows[0]!.id, '--json', '--time-zone', 'UTC']);
    expect(JSON.parse(one.stdout)).toMatchObject({ ok: false, weddings: 1 });
  });

  it('a deleted pack is exit 1, printed with the snapshot, wedding and data type it hurts', async () => {
    const repo = await openRepository(world.repoStore, world.passphrase);
    const manifest = await repo.loadManifest(snapshotId);
    await repo.loadIndex();
    const wedding = manifest.weddings[0]!;
    const entry = repo.blobEntry(wedding.tables['public.timeline_events']![0]!.id)!;
    await world.repoStore.delete(`packs/${entry.packId.slice(0, 2)}/${entry.packId}`);
    const r = await cli(['verify', snapshotId]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`snapshot ${snapshotId}: INCOMPLETE`);
    expect(r.stdout).toMatch(new RegExp(`pack-missing \\[wedding ${wedding.weddingId} timeline`));
    const json = JSON.parse((await cli(['verify', 'all', '--json'])).stdout);
    expect(json.ok).toBe(false);
    expect(json.snapshots[0].affectedWeddings).toContain(wedding.weddingId);
    expect((await world.catalog.getSnapshot(snapshotId))?.validationStatus).toBe('incomplete');
    const check = await cli(['check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('index-pack-missing');
  });
});
